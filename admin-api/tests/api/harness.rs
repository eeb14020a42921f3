//! Starts the admin API on a loopback port over a given store.

use std::net::SocketAddr;
use std::sync::Arc;

use portcullis_admin_api::{AdminConfig, AppState, Metrics, Readiness};
use portcullis_identity::TokenKey;
use portcullis_registry::DynStore;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub(crate) struct Api {
    pub(crate) base: String,
    pub(crate) key: TokenKey,
    pub(crate) http: reqwest::Client,
    _server: tokio::task::JoinHandle<()>,
}

pub(crate) const BODY_LIMIT: usize = 64 * 1024;

impl Api {
    pub(crate) async fn start(store: DynStore) -> Self {
        Self::start_with(store, None).await
    }

    /// Started with a registry view for `/readyz` (and its metrics).
    pub(crate) async fn start_with(store: DynStore, readiness: Option<Readiness>) -> Self {
        Self::start_full(store, readiness, vault()).await
    }

    /// Started with this vault (its master keys, or none).
    pub(crate) async fn start_full(
        store: DynStore,
        readiness: Option<Readiness>,
        vault: portcullis_admin_api::Vault,
    ) -> Self {
        let key = TokenKey::new(vec![42; 32], "portcullis", "portcullis");
        let metrics = Metrics::new(prometheus::Registry::new()).expect("metrics");
        if let Some(r) = &readiness {
            metrics
                .watch_registry_view(r.view.clone())
                .expect("view metrics");
        }
        let risk = portcullis_admin_api::governance::RiskQueue::start(store.clone());
        let state = AppState {
            store,
            tokens: key.clone(),
            metrics,
            readiness,
            vault,
            approvals: Default::default(),
            discovery: None,
            risk: Some(risk),
        };
        let config = AdminConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            body_limit: BODY_LIMIT,
        };
        let app = portcullis_admin_api::router(state, &config);
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Self {
            base: format!("http://{addr}"),
            key,
            http: reqwest::Client::new(),
            _server: server,
        }
    }

    pub(crate) fn token(&self, sub: &str, tenant: &str, admin: bool) -> String {
        let roles = if admin {
            vec!["admin".to_owned()]
        } else {
            vec![]
        };
        self.key.issue(sub, tenant, &roles, 600).expect("token")
    }

    /// Sends a request; returns status and the JSON body (Null when empty or not JSON).
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sends raw bytes with a content type (for malformed bodies).
    pub(crate) async fn raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// A vault with one master key; superseded versions kept 2 s, leases at most 10 minutes.
pub(crate) fn vault() -> portcullis_admin_api::Vault {
    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    portcullis_admin_api::Vault::new(
        portcullis_vault::MasterKeys::from_base64(&key).map(std::sync::Arc::new),
        portcullis_admin_api::VaultConfig {
            master_key_file: None,
            keep_versions_secs: 2,
            max_lease_ttl_secs: 600,
        },
    )
}

/// A SQLite store on a temporary file.
pub(crate) fn sqlite() -> (DynStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = portcullis_registry::SqliteStore::open(&dir.path().join("r.db")).expect("open");
    (Arc::new(store), dir)
}
