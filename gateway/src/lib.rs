//! Portcullis data plane: the MCP gateway, a pingora service.
//!
//! One `tools/call` flows through one module per step, in order: `accept` (method, path,
//! content type, body cap), `authn` (bearer token, delegation chain; `jwks` for external
//! issuers), `jsonrpc` (one message), `mcp` (the method and the session), `lookup` (tool and
//! principal in the registry catalog), `validate` (arguments against the pinned input
//! schema), `decide` (Cedar through the decision cache), `tools` (the call's plan),
//! `forward` (the upstream, once), then `audit` and `metrics` from the `logging` hook of
//! `proxy`.

mod accept;
mod audit;
mod authn;
mod config;
mod decide;
mod forward;
mod jsonrpc;
mod jwks;
mod lookup;
mod mcp;
mod metrics;
mod proxy;
mod respond;
mod rest;
mod sample;
mod session;
mod sse;
mod state;
mod tools;
mod upstream;
mod validate;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use pingora::connectors::http::Connector;
use pingora::server::configuration::ServerConf;
use pingora::services::Service as _;
use portcullis_policy::Engine;
use portcullis_registry::tokens::TokenKey;
use portcullis_registry::{DynStore, Snapshot};

pub use audit::{AuditEvent, AuditSink};
pub use config::{GatewayConfig, IssuerConfig, UpstreamConfig};
pub use sample::{sample_tools, serve_sample};

/// The gateway: build it, feed it registry snapshots, start it.
pub struct Gateway {
    state: Arc<state::State>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("listen", &self.state.config.listen)
            .finish_non_exhaustive()
    }
}

/// A running gateway; [`GatewayHandle::stop`] ends it.
pub struct GatewayHandle {
    pub addr: SocketAddr,
    state: Arc<state::State>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for GatewayHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl GatewayHandle {
    /// Stops accepting connections and waits for the service to wind down.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        if let Some(sink) = &self.state.store_sink {
            sink.flush().await;
        }
    }
}

impl Gateway {
    /// Checks the configuration (upstream names, prefixes, URLs, issuers) and builds the gateway.
    /// `session_key` (at least 32 bytes) seals session ids: every replica needs the same one.
    /// With a `store`, audit records and last-use times are also written there (this starts
    /// background tasks: call it inside a tokio runtime).
    pub fn new(
        config: GatewayConfig,
        engine: Arc<Engine>,
        tokens: TokenKey,
        session_key: &[u8],
        registry: &prometheus::Registry,
        store: Option<DynStore>,
    ) -> Result<Self, String> {
        let metrics =
            metrics::Metrics::new(registry, engine.clone()).map_err(|e| format!("metrics: {e}"))?;
        config.check()?;
        let auditor = audit::Auditor::start(&config.audit_log, metrics.audit_dropped.clone())?;
        let upstreams = config
            .upstreams
            .iter()
            .map(|u| upstream::Upstream::new(u).map(|up| (u.name.clone(), up)))
            .collect::<Result<HashMap<_, _>, _>>()?;
        let issuers = jwks::Issuers::new(&config.issuers)?;
        Ok(Self {
            state: Arc::new(state::State {
                config,
                catalog: ArcSwap::from_pointee(lookup::Catalog::default()),
                engine,
                validators: validate::Validators::default(),
                tokens: authn::VerifiedTokens::new(tokens),
                issuers,
                upstreams,
                connector: Connector::new(None),
                sessions: session::SessionKeys::new(session_key)?,
                audit: auditor,
                store_sink: store
                    .map(|s| audit::StoreSink::spawn(s, metrics.audit_dropped.clone())),
                metrics,
                upstream_tools: moka::sync::Cache::builder()
                    .time_to_live(std::time::Duration::from_secs(30))
                    .build(),
                ended: moka::sync::Cache::builder()
                    .max_capacity(1_000_000)
                    .time_to_live(std::time::Duration::from_secs(24 * 3600))
                    .build(),
                pending: moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(std::time::Duration::from_secs(600))
                    .build(),
                overrides: moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(std::time::Duration::from_secs(24 * 3600))
                    .build(),
            }),
        })
    }

    /// Serves calls from this registry snapshot on (the engine gets its own copy).
    pub fn install(&self, snapshot: &Snapshot) {
        let catalog = lookup::Catalog::build(snapshot, &self.state.config);
        self.state.catalog.store(Arc::new(catalog));
    }

    /// Starts listening on the configured address (port 0 picks a free one), on the
    /// current tokio runtime, and starts fetching the external issuers' key sets.
    pub fn start(&self) -> std::io::Result<GatewayHandle> {
        use std::os::fd::IntoRawFd;
        let listener = std::net::TcpListener::bind(self.state.config.listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let mut fds = pingora::server::Fds::new();
        fds.add(addr.to_string(), listener.into_raw_fd());
        let conf = Arc::new(ServerConf::default());
        let mut service = pingora::proxy::http_proxy_service(
            &conf,
            proxy::McpProxy {
                state: self.state.clone(),
            },
        );
        service.add_tcp(&addr.to_string());
        let (stop, watch) = tokio::sync::watch::channel(false);
        self.state.issuers.spawn_refresh(&watch);
        let fds = Arc::new(parking_lot::Mutex::new(fds));
        let task = tokio::spawn(async move {
            service.start_service(Some(fds), watch, 1).await;
        });
        Ok(GatewayHandle {
            addr,
            state: self.state.clone(),
            stop,
            task,
        })
    }
}
