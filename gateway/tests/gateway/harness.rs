//! A registry, an engine and a gateway in front of the test upstream.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use portcullis_gateway::{Gateway, GatewayConfig, GatewayHandle, IssuerConfig, UpstreamConfig};
use portcullis_identity::TokenKey;
use portcullis_policy::{Engine, EngineConfig};
use portcullis_registry::{
    Agent, AgentFields, Common, DynStore, Lifecycle, Nhi, Relation, RelationKind, SqliteStore,
    Tool, ToolFields,
};
use serde_json::{Value, json};

use crate::upstream::{self, Seen};

pub(crate) const SESSION_KEY: [u8; 32] = [3; 32];

pub(crate) struct World {
    pub(crate) url: String,
    pub(crate) replica_url: String,
    pub(crate) registry: prometheus::Registry,
    pub(crate) store: DynStore,
    sessions: parking_lot::Mutex<std::collections::HashMap<String, String>>,
    _replica: GatewayHandle,
    pub(crate) key: TokenKey,
    pub(crate) seen: Arc<Seen>,
    /// The second upstream (`crm`), the same kind of server.
    pub(crate) crm: Arc<Seen>,
    pub(crate) reader: String,
    pub(crate) benched: String,
    /// Another active agent of `acme`, granted `files_echo` only.
    pub(crate) writer: String,
    /// An active agent of `globex`.
    pub(crate) outsider: String,
    pub(crate) http: reqwest::Client,
    _gateway: GatewayHandle,
    engine: Arc<Engine>,
    /// The two replicas, to install a new registry snapshot into.
    gateways: [Gateway; 2],
    _dir: tempfile::TempDir,
    /// Declared last: stopped after everything that uses it.
    _redis: Option<portcullis_registry::testutil::RedisServer>,
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

/// Stores the secret `crm-api-key` of the NHI `owner` (version 1: [`CANARY`]) and a lease on
/// it for `holder`, valid ten minutes.
async fn add_secret(store: &DynStore, owner: &str, holder: &str) {
    use portcullis_registry::vault::{Lease, Secret, SecretVersion, VaultDoc, VaultKind};
    let now = time::OffsetDateTime::now_utc();
    let owner: uuid::Uuid = owner.parse().expect("uuid");
    let mut secret = Secret {
        id: uuid::Uuid::now_v7(),
        tenant_id: "acme".into(),
        nhi_id: owner,
        name: "crm-api-key".into(),
        secret_type: "api_key".into(),
        expires_at: None,
        rotation_interval_days: None,
        current_version: 1,
        created_at: now,
        updated_at: now,
        versions: Vec::new(),
    };
    let (nhi, id) = (owner.to_string(), secret.id.to_string());
    let sealed = master_keys()
        .seal(
            &portcullis_vault::Binding {
                tenant: "acme",
                nhi: &nhi,
                secret: &id,
                version: 1,
            },
            CANARY.as_bytes(),
        )
        .expect("seal");
    secret.versions.push(SecretVersion {
        version: 1,
        sealed,
        created_at: now,
        destroy_at: None,
    });
    let doc = VaultDoc::new("acme", VaultKind::Secret, &id, &secret).expect("doc");
    store.put_vault(doc, None).await.expect("secret");
    let lease = Lease {
        id: uuid::Uuid::now_v7(),
        tenant_id: "acme".into(),
        nhi_id: owner,
        secret_id: secret.id,
        consumer_nhi_id: holder.parse().expect("uuid"),
        issued_at: now,
        expires_at: now + std::time::Duration::from_secs(600),
        max_expires_at: now + std::time::Duration::from_secs(600),
        revoked_at: None,
        revoked_reason: None,
    };
    let doc = VaultDoc::new("acme", VaultKind::Lease, &lease.id.to_string(), &lease).expect("doc");
    store.put_vault(doc, None).await.expect("lease");
}

/// What a test world differs in.
#[derive(Default)]
pub(crate) struct Setup {
    /// External issuers the gateways accept tokens of.
    pub(crate) issuers: Vec<IssuerConfig>,
    /// A policy directory instead of the shipped one.
    pub(crate) policies: Option<std::path::PathBuf>,
    /// `crm` needs the vault secret `crm-api-key` (held by its `echo` tool, leased to
    /// `reader`, not to `writer`, who is granted `crm_echo` too), presented as `x-api-key`.
    pub(crate) vault: bool,
    /// Both replicas issue agent tokens (one key file) as [`PUBLIC_URL`].
    pub(crate) tokens: bool,
    /// How long a call held for approval waits for a decision (0: not at all).
    pub(crate) approval_hold_ms: u64,
    /// The registry on a private Redis server instead of SQLite.
    pub(crate) redis: bool,
    /// Rate limits of both replicas.
    pub(crate) rate_limits: portcullis_gateway::RateLimits,
}

/// The public URL of worlds that issue agent tokens.
pub(crate) const PUBLIC_URL: &str = "http://gateway.test";

/// The master key of worlds with a vault.
pub(crate) fn master_keys() -> portcullis_vault::MasterKeys {
    use base64::Engine as _;
    portcullis_vault::MasterKeys::from_base64(
        &base64::engine::general_purpose::STANDARD.encode([11u8; 32]),
    )
    .expect("key")
}

/// The value of `crm-api-key`: it must never show anywhere but in `x-api-key` upstream.
pub(crate) const CANARY: &str = "canary-5be1 crm-live-key";

impl World {
    pub(crate) async fn start() -> Self {
        Self::start_with(Setup::default()).await
    }

    /// A world with the shipped policies whose gateways also accept these issuers' tokens.
    pub(crate) async fn with_issuers(issuers: Vec<IssuerConfig>) -> Self {
        Self::start_with(Setup {
            issuers,
            ..Setup::default()
        })
        .await
    }

    pub(crate) async fn start_with(setup: Setup) -> Self {
        let Setup {
            issuers,
            policies,
            vault,
            tokens,
            approval_hold_ms,
            redis,
            rate_limits,
        } = setup;
        let (addr, seen) = upstream::start("files").await;
        let (crm_addr, crm) = upstream::start("crm").await;
        let dir = tempfile::tempdir().expect("tempdir");
        let redis_server = redis.then(portcullis_registry::testutil::RedisServer::start);
        let store: DynStore = match &redis_server {
            Some(server) => Arc::new(
                portcullis_registry::RedisStore::connect(&server.url, "gw")
                    .await
                    .expect("redis"),
            ),
            None => Arc::new(SqliteStore::open(&dir.path().join("r.db")).expect("open")),
        };
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
        let writer = add(
            &store,
            Nhi::Agent(Agent {
                common: Common::new("acme", "writer"),
                fields: AgentFields::default(),
            }),
        )
        .await;
        let outsider = add(
            &store,
            Nhi::Agent(Agent {
                common: Common::new("globex", "outsider"),
                fields: AgentFields::default(),
            }),
        )
        .await;
        let any = json!({"type": "object"});
        let echo = add(&store, tool("echo", "files", json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}))).await;
        let slow = add(&store, tool("slow", "files", any.clone())).await;
        let secret = add(&store, tool("secret", "files", any.clone())).await;
        let gone = add(&store, tool("gone", "down", any.clone())).await;
        // Registered and granted, but the upstream no longer offers it.
        let vanished = add(&store, tool("vanished", "files", any.clone())).await;
        // Asks the client something during the call (not in the upstream's tools/list).
        let ask = add(&store, tool("ask", "files", any.clone())).await;
        let crm_ask = add(&store, tool("ask", "crm", any.clone())).await;
        let crm_echo = add(&store, tool("echo", "crm", any.clone())).await;
        if vault {
            store
                .put_relation(Relation::new(
                    "acme",
                    RelationKind::ToolGrant,
                    &writer,
                    &crm_echo,
                ))
                .await
                .expect("grant");
            add_secret(&store, &crm_echo, &reader).await;
        }
        for (agent, t) in [
            (&writer, &echo),
            (&reader, &crm_ask),
            (&reader, &crm_echo),
            (&reader, &echo),
            (&reader, &slow),
            (&reader, &gone),
            (&benched, &echo),
            (&reader, &vanished),
            (&reader, &ask),
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
            public_url: tokens.then(|| PUBLIC_URL.to_owned()),
            body_limit: BODY_LIMIT,
            session_key_file: None,
            allowed_origins: Vec::new(),
            a2a_upstreams: Vec::new(),
            tool_refresh_ms: 100,
            drain_ms: 2000,
            // Two replicas per test, many tests at once: one data-plane thread each.
            threads: Some(1),
            rate_limits,
            a2a: portcullis_gateway::A2aConfig::default(),
            audit_log: portcullis_gateway::AuditSink::File(dir.path().join("audit.jsonl")),
            upstreams: vec![
                UpstreamConfig {
                    name: "files".into(),
                    url: format!("http://{addr}/mcp"),
                    prefix: None,
                    connect_timeout_ms: 1000,
                    request_timeout_ms: 1500,
                    credential: None,
                },
                UpstreamConfig {
                    name: "crm".into(),
                    url: format!("http://{crm_addr}/mcp"),
                    prefix: None,
                    connect_timeout_ms: 1000,
                    request_timeout_ms: 1500,
                    credential: vault.then(|| portcullis_gateway::CredentialConfig {
                        secret: "crm-api-key".into(),
                        header: "x-api-key".into(),
                        format: "key {secret}".into(),
                    }),
                },
                UpstreamConfig {
                    name: "down".into(),
                    url: format!("http://{closed}/mcp"),
                    prefix: None,
                    connect_timeout_ms: 500,
                    request_timeout_ms: 1000,
                    credential: None,
                },
            ],
            issuers,
            approvals: portcullis_registry::approval::ApprovalConfig {
                hold_ms: approval_hold_ms,
                ..Default::default()
            },
        };
        let policies =
            policies.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies"));
        let engine =
            Arc::new(Engine::from_dir(&policies, EngineConfig::default()).expect("policies"));
        let key = TokenKey::new(vec![9; 32], "portcullis", "portcullis");
        let registry = prometheus::Registry::new();
        let gateway = Gateway::new(
            config.clone(),
            engine.clone(),
            key.clone(),
            &SESSION_KEY,
            &registry,
            Some(store.clone()),
        )
        .expect("gateway");
        // A second replica with the same session key, to prove sessions move between them.
        let replica = Gateway::new(
            config,
            engine.clone(),
            key.clone(),
            &SESSION_KEY,
            &prometheus::Registry::new(),
            Some(store.clone()),
        )
        .expect("replica");
        if vault {
            let keys = Arc::new(master_keys());
            gateway.use_vault(keys.clone());
            replica.use_vault(keys);
        }
        if tokens {
            gateway.issue_agent_tokens(dir.path().join("agent-token.keys"));
            replica.issue_agent_tokens(dir.path().join("agent-token.keys"));
        }
        let snapshot = store.snapshot().await.expect("snapshot");
        engine.set_directory(Arc::new(snapshot.to_directory().expect("directory")));
        gateway.install(&snapshot);
        replica.install(&snapshot);
        let handle = gateway.start().expect("start");
        let replica_gateway = replica;
        let replica = replica_gateway.start().expect("start replica");
        Self {
            url: format!("http://{}/mcp", handle.addr),
            replica_url: format!("http://{}/mcp", replica.addr),
            registry,
            store: store.clone(),
            sessions: parking_lot::Mutex::new(std::collections::HashMap::new()),
            _replica: replica,
            key,
            seen,
            crm,
            reader,
            benched,
            writer,
            outsider,
            http: reqwest::Client::new(),
            _gateway: handle,
            engine,
            gateways: [gateway, replica_gateway],
            _dir: dir,
            _redis: redis_server,
        }
    }

    /// The first replica itself (for its in-process entry points).
    pub(crate) fn gateway(&self) -> &Gateway {
        &self.gateways[0]
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
        self.post_to(&self.url, token, None, &[], body).await
    }

    /// POSTs to `url` with an optional session and extra headers.
    pub(crate) async fn post_to(
        &self,
        url: &str,
        token: Option<&str>,
        session: Option<&str>,
        extra: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(s) = session {
            req = req.header("mcp-session-id", s);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
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

    /// Initializes a session for `token`; returns its id.
    pub(crate) async fn initialize(&self, url: &str, token: &str) -> String {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
        let (status, headers, body) = self
            .post_to(url, Some(token), None, &[], init.to_string().into_bytes())
            .await;
        assert_eq!(status, 200, "{body}");
        headers
            .get("mcp-session-id")
            .expect("session id")
            .to_str()
            .expect("ascii")
            .to_owned()
    }

    /// One request in a session of `token` (initialized on first use).
    pub(crate) async fn rpc(&self, token: &str, method: &str, params: Value) -> (u16, Value) {
        let existing = self.sessions.lock().get(token).cloned();
        let session = match existing {
            Some(s) => s,
            None => {
                let s = self.initialize(&self.url, token).await;
                self.sessions.lock().insert(token.to_owned(), s.clone());
                s
            }
        };
        self.rpc_in(&self.url, token, &session, method, params)
            .await
    }

    pub(crate) async fn rpc_in(
        &self,
        url: &str,
        token: &str,
        session: &str,
        method: &str,
        params: Value,
    ) -> (u16, Value) {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (status, _, json) = self
            .post_to(
                url,
                Some(token),
                Some(session),
                &[],
                body.to_string().into_bytes(),
            )
            .await;
        (status, json)
    }
}

impl World {
    /// Takes a new registry snapshot into the engine and both replicas (a follower would).
    /// The policy engine both replicas decide with.
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) async fn reinstall(&self) {
        let snapshot = self.store.snapshot().await.expect("snapshot");
        self.engine
            .set_directory(Arc::new(snapshot.to_directory().expect("directory")));
        for g in &self.gateways {
            g.install(&snapshot);
        }
    }

    /// Every audit event written so far (the writer is asynchronous: waits for `n`).
    pub(crate) async fn audit(&self, n: usize) -> Vec<portcullis_gateway::AuditEvent> {
        for _ in 0..100 {
            let text =
                std::fs::read_to_string(self._dir.path().join("audit.jsonl")).unwrap_or_default();
            let complete = text.rfind('\n').map_or("", |end| &text[..end]);
            let events: Vec<portcullis_gateway::AuditEvent> = complete
                .lines()
                .map(|l| serde_json::from_str(l).expect("an audit line is an event"))
                .collect();
            if events.len() >= n {
                return events;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("fewer than {n} audit events");
    }

    pub(crate) fn audit_text(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("audit.jsonl")).unwrap_or_default()
    }

    /// The metrics text, as `/metrics` would serve it.
    pub(crate) fn metrics(&self) -> String {
        prometheus::TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .expect("encode")
    }
}
