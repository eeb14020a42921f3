//! A registry, an engine and a gateway in front of the test upstream.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use portcullis_gateway::{Gateway, GatewayConfig, GatewayHandle, UpstreamConfig};
use portcullis_policy::{Engine, EngineConfig};
use portcullis_registry::tokens::TokenKey;
use portcullis_registry::{
    Agent, AgentFields, Common, DynStore, Lifecycle, Nhi, Relation, RelationKind, SqliteStore,
    Tool, ToolFields,
};
use serde_json::{Value, json};

use crate::upstream::{self, Seen};

pub(crate) struct World {
    pub(crate) url: String,
    pub(crate) key: TokenKey,
    pub(crate) seen: Arc<Seen>,
    pub(crate) reader: String,
    pub(crate) benched: String,
    pub(crate) http: reqwest::Client,
    _gateway: GatewayHandle,
    _dir: tempfile::TempDir,
}

pub(crate) const BODY_LIMIT: usize = 256 * 1024;

async fn add(store: &DynStore, nhi: Nhi) -> String {
    store
        .insert_nhi(nhi)
        .await
        .expect("insert")
        .id()
        .to_string()
}

fn tool(name: &str, upstream: &str, schema: Value) -> Nhi {
    Nhi::Tool(Tool {
        common: Common::new("acme", name),
        fields: ToolFields {
            upstream: Some(upstream.into()),
            input_schema: schema,
            ..ToolFields::default()
        },
    })
}

impl World {
    pub(crate) async fn start() -> Self {
        let (addr, seen) = upstream::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let store: DynStore = Arc::new(SqliteStore::open(&dir.path().join("r.db")).expect("open"));
        let reader = add(
            &store,
            Nhi::Agent(Agent {
                common: Common::new("acme", "reader"),
                fields: AgentFields::default(),
            }),
        )
        .await;
        let mut benched = Common::new("acme", "benched");
        benched.lifecycle_state = Lifecycle::Suspended;
        let benched = add(
            &store,
            Nhi::Agent(Agent {
                common: benched,
                fields: AgentFields::default(),
            }),
        )
        .await;
        let any = json!({"type": "object"});
        let echo = add(&store, tool("echo", "files", json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}))).await;
        let slow = add(&store, tool("slow", "files", any.clone())).await;
        let secret = add(&store, tool("secret", "files", any.clone())).await;
        let gone = add(&store, tool("gone", "down", any.clone())).await;
        for (agent, t) in [
            (&reader, &echo),
            (&reader, &slow),
            (&reader, &gone),
            (&benched, &echo),
        ] {
            store
                .put_relation(Relation::new("acme", RelationKind::ToolGrant, agent, t))
                .await
                .expect("grant");
        }
        let _ = secret;

        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr");
        let config = GatewayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            body_limit: BODY_LIMIT,
            upstreams: vec![
                UpstreamConfig {
                    name: "files".into(),
                    url: format!("http://{addr}/mcp"),
                    prefix: None,
                    connect_timeout_ms: 1000,
                    request_timeout_ms: 1500,
                },
                UpstreamConfig {
                    name: "down".into(),
                    url: format!("http://{closed}/mcp"),
                    prefix: None,
                    connect_timeout_ms: 500,
                    request_timeout_ms: 1000,
                },
            ],
        };
        let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
        let engine =
            Arc::new(Engine::from_dir(&policies, EngineConfig::default()).expect("policies"));
        let key = TokenKey::new(vec![9; 32], "portcullis", "portcullis");
        let gateway = Gateway::new(config, engine.clone(), key.clone()).expect("gateway");
        let snapshot = store.snapshot().await.expect("snapshot");
        engine.set_directory(Arc::new(snapshot.to_directory().expect("directory")));
        gateway.install(&snapshot);
        let handle = gateway.start().expect("start");
        Self {
            url: format!("http://{}/mcp", handle.addr),
            key,
            seen,
            reader,
            benched,
            http: reqwest::Client::new(),
            _gateway: handle,
            _dir: dir,
        }
    }

    pub(crate) fn token(&self, sub: &str, tenant: &str) -> String {
        self.key.issue(sub, tenant, &[], 300).expect("token")
    }

    /// POSTs a body; returns status, headers and the JSON body (Null if not JSON).
    pub(crate) async fn post(
        &self,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("text");
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    pub(crate) async fn rpc(&self, token: &str, method: &str, params: Value) -> (u16, Value) {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (status, _, json) = self.post(Some(token), body.to_string().into_bytes()).await;
        (status, json)
    }
}
