//! Portcullis data plane: the MCP and A2A gateway, a pingora service.
//!
//! One `tools/call` flows through one module per step, in order: `accept` (method, path,
//! content type, body cap), `authn` (bearer token, delegation chain, tenant and lifecycle;
//! `jwks` for external issuers), `jsonrpc` (one message, read strictly), `mcp` (the method
//! and the session), `lookup` (tool and principal in the registry catalog), `validate`
//! (arguments against the pinned input schema), `decide` (Cedar through the decision
//! cache), `tools` (the call's plan), `forward` (the upstream, once, under a gateway id),
//! then `audit` and `metrics` from the `logging` hook of `proxy`. `relay` carries what is
//! not a call (notifications, answers to server requests); `error` and `respond` are the
//! one mapping from a refusal to what the client sees. `a2a` carries A2A tasks between
//! agents (cards, the JSON-RPC proxy, task ownership, push URLs, its REST face) through the
//! same `authn` and `decide`.

mod a2a;
mod accept;
mod approvals;
mod audit;
mod authn;
mod completion;
mod config;
mod credentials;
mod decide;
mod discovery;
mod error;
mod exchange;
mod federate;
mod forward;
#[cfg(test)]
mod fuzz;
mod inprocess;
mod jsonrpc;
mod jwks;
mod lookup;
mod mcp;
mod metrics;
mod oauth;
mod pinning;
mod prompts;
mod proxy;
mod ratelimit;
mod relay;
mod resources;
mod respond;
mod rest;
mod sample;
mod sample_a2a;
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
use pingora::connectors::http::v1::Connector;
use pingora::server::configuration::ServerConf;
use pingora::services::Service as _;
use portcullis_identity::TokenKey;
use portcullis_policy::Engine;
use portcullis_registry::{DynStore, Snapshot};

pub use audit::{AuditEvent, AuditSink};
pub use config::{
    A2aConfig, A2aUpstreamConfig, CredentialConfig, GatewayConfig, IssuerConfig, UpstreamConfig,
};
pub use error::Error;
pub use ratelimit::RateLimits;
pub use sample::{sample_tools, serve_sample, serve_sample_requiring};
pub use sample_a2a::serve_sample_agent;
pub use upstream::UpstreamError;

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
    /// The data plane's own runtime; shut down (without blocking) when the handle goes.
    _runtime: DataPlane,
}

/// Owns the data plane's runtime. A runtime may not be dropped inside another runtime's
/// context (where a handle is usually dropped), so it is let go in the background.
struct DataPlane(Option<tokio::runtime::Runtime>);

impl Drop for DataPlane {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for GatewayHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl GatewayHandle {
    /// Stops accepting connections, lets the requests being handled finish and writes the
    /// audit records they queued — each within `gateway.drain_ms` — then returns.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let deadline = tokio::time::Instant::now()
            + std::time::Duration::from_millis(self.state.config.drain_ms);
        let in_flight = || {
            self.state
                .requests_in_flight
                .load(std::sync::atomic::Ordering::Acquire)
        };
        while in_flight() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        if in_flight() > 0 {
            tracing::warn!(
                requests = in_flight(),
                "shutting down with requests still running"
            );
        }
        if let Some(sink) = &self.state.store_sink {
            sink.drain(deadline).await;
        }
        self.state.audit.drain(deadline).await;
    }
}

/// Most upstream sessions kept for principals calling outside an MCP session.
const PRINCIPAL_SESSIONS: u64 = 10_000;
/// How long such a session stays open unused.
const PRINCIPAL_SESSION_IDLE: std::time::Duration = std::time::Duration::from_secs(600);

/// The bounded cache of per-principal upstream sessions; an evicted session is closed
/// upstream (when a tokio runtime is there to do it).
fn principal_sessions(
    upstreams: &HashMap<String, Arc<upstream::Upstream>>,
    connector: &Arc<Connector>,
) -> moka::future::Cache<(String, String, String), Option<String>> {
    let runtime = tokio::runtime::Handle::try_current().ok();
    let (upstreams, connector) = (upstreams.clone(), connector.clone());
    moka::future::Cache::builder()
        .max_capacity(PRINCIPAL_SESSIONS)
        .time_to_idle(PRINCIPAL_SESSION_IDLE)
        .eviction_listener(
            move |key: Arc<(String, String, String)>, sid: Option<String>, _cause| {
                let (Some(runtime), Some(sid)) = (&runtime, sid) else {
                    return;
                };
                let Some(up) = upstreams.get(&key.2).cloned() else {
                    return;
                };
                let connector = connector.clone();
                runtime.spawn(async move { up.close_session(&connector, &sid, None).await });
            },
        )
        .build()
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
    ) -> Result<Self, Error> {
        let ended = session::Ended::default();
        let metrics = metrics::Metrics::new(registry, engine.clone(), ended.clone())
            .map_err(|e| Error::Config(format!("metrics: {e}")))?;
        config.check()?;
        let audit_drops = audit::Drops::new("audit", metrics.audit_dropped.clone());
        let auditor = audit::Auditor::start(&config.audit_log, audit_drops.clone())?;
        let upstreams = config
            .upstreams
            .iter()
            .map(|u| upstream::Upstream::new(u).map(|up| (u.name.clone(), Arc::new(up))))
            .collect::<Result<HashMap<_, _>, _>>()?;
        let a2a = config
            .a2a_upstreams
            .iter()
            .map(|u| a2a::A2aUpstream::new(u).map(|up| (u.name.clone(), Arc::new(up))))
            .collect::<Result<HashMap<_, _>, _>>()?;
        let issuers = jwks::Issuers::new(&config.issuers)?;
        let connector = Arc::new(Connector::new(None));
        let principal_sessions = principal_sessions(&upstreams, &connector);
        Ok(Self {
            state: Arc::new(state::State {
                config,
                catalog: ArcSwap::from_pointee(lookup::Catalog::default()),
                vault: arc_swap::ArcSwapOption::empty(),
                agent_tokens: arc_swap::ArcSwapOption::empty(),
                agent_key_file: parking_lot::Mutex::new(None),
                public_url: ArcSwap::from_pointee(String::new()),
                assertions: moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(std::time::Duration::from_secs(900))
                    .build(),
                secret_checks: Arc::new(tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(2, usize::from),
                )),
                engine,
                validators: validate::Validators::default(),
                tokens: authn::VerifiedTokens::new(tokens),
                issuers,
                upstreams,
                a2a,
                cards: moka::future::Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(std::time::Duration::from_secs(300))
                    .build(),
                connector,
                ids: upstream::RequestIds::default(),
                sessions: session::SessionKeys::new(session_key)?,
                audit: auditor,
                store: store.clone(),
                holds: tokio::sync::Semaphore::new(256),
                end_later: store.clone().map(session::spawn_end_sharer),
                store_sink: store.map(|s| {
                    let uses = audit::Drops::new("last-use", metrics.last_use_dropped.clone());
                    audit::StoreSink::spawn(s, audit_drops, uses)
                }),
                metrics,
                definitions: pinning::Definitions::default(),
                buckets: ratelimit::Buckets::default(),
                requests_in_flight: Arc::default(),
                offered: moka::sync::Cache::builder()
                    .time_to_live(discovery::KEEP)
                    .build(),
                ended,
                pending: moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(std::time::Duration::from_secs(600))
                    .build(),
                in_flight: state::InFlightCalls::default(),
                principal_sessions,
                routes: moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(std::time::Duration::from_secs(3600))
                    .build(),
                overrides: moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(std::time::Duration::from_secs(24 * 3600))
                    .build(),
            }),
        })
    }

    /// Serves calls from this registry snapshot on (the engine gets its own copy). The
    /// upstream credentials it holds are opened here, once.
    pub fn install(&self, snapshot: &Snapshot) {
        let keys = self.state.vault.load_full();
        let catalog = lookup::Catalog::build(snapshot, &self.state.config, keys.as_deref());
        self.state.catalog.store(Arc::new(catalog));
    }

    /// Issue access tokens at `POST /oauth/token`, signed with the keys in `key_file`
    /// (created when missing; every replica needs the same file). Loaded when the gateway
    /// starts, once its address is known.
    pub fn issue_agent_tokens(&self, key_file: std::path::PathBuf) {
        *self.state.agent_key_file.lock() = Some(key_file);
    }

    /// The vault's master keys: upstream credentials are opened with them from the next
    /// [`install`](Self::install) on.
    pub fn use_vault(&self, keys: Arc<portcullis_vault::MasterKeys>) {
        self.state.vault.store(Some(keys));
    }

    /// What each configured MCP upstream offers now, read fresh (through the gateway's own
    /// session with it, which presents no credential), for discovery and pinning.
    pub async fn read_upstream_tools(&self) -> Vec<portcullis_registry::discovery::UpstreamTools> {
        let state = &self.state;
        let mut out = Vec::with_capacity(state.config.upstreams.len());
        for u in &state.config.upstreams {
            state
                .offered
                .invalidate(&(u.name.clone(), discovery::Family::Tools));
            let started = std::time::Instant::now();
            let tools = match state.upstreams.get(&u.name) {
                Some(up) => tokio::time::timeout(
                    up.request_timeout,
                    up.list(&state.connector, &state.ids, discovery::Family::Tools),
                )
                .await
                .unwrap_or(Err(UpstreamError::Timeout))
                .map_err(|e| e.to_string()),
                None => Err("not configured".to_owned()),
            };
            if let Ok(tools) = &tools {
                state.definitions.record(&u.name, tools);
            }
            out.push(portcullis_registry::discovery::UpstreamTools {
                name: u.name.clone(),
                url: u.url.clone(),
                prefix: u.prefix(),
                tools,
                latency_ms: started.elapsed().as_secs_f64() * 1e3,
            });
        }
        out
    }

    /// Starts listening on the configured address (port 0 picks a free one). Requests are
    /// served on the data plane's own runtime (`gateway.threads` workers); the background
    /// work (the external issuers' key sets, pinned tool definitions, sessions ended
    /// elsewhere) runs on the current one.
    pub fn start(&self) -> std::io::Result<GatewayHandle> {
        use std::os::fd::IntoRawFd;
        let listener = std::net::TcpListener::bind(self.state.config.listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let public_url = self.state.config.public_url.clone().unwrap_or_else(|| {
            if addr.ip().is_unspecified() && self.state.agent_key_file.lock().is_some() {
                tracing::warn!(
                    "the gateway listens on {addr} and has no `public_url`: the tokens it \
                     issues name http://{addr} as their issuer, which clients cannot reach; \
                     set gateway.public_url"
                );
            }
            format!("http://{addr}")
        });
        let public_url = public_url.trim_end_matches('/').to_owned();
        self.state.public_url.store(Arc::new(public_url.clone()));
        if let Some(path) = self.state.agent_key_file.lock().clone() {
            let tokens = portcullis_identity::AgentTokens::load_or_create(
                &path,
                &public_url,
                &format!("{public_url}/mcp"),
            )
            .map_err(|e| std::io::Error::other(e.to_string()))?;
            self.state.agent_tokens.store(Some(Arc::new(tokens)));
        }
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
        pinning::spawn_refresh(self.state.clone(), watch.clone());
        session::spawn_ended_follower(self.state.clone(), watch.clone());
        let fds = Arc::new(parking_lot::Mutex::new(fds));
        let threads = self.state.config.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("portcullis-gateway")
            .enable_all()
            .build()?;
        let task = runtime.spawn(async move {
            service.start_service(Some(fds), watch, 1).await;
        });
        tracing::debug!(threads, "the data plane's runtime started");
        Ok(GatewayHandle {
            addr,
            state: self.state.clone(),
            stop,
            task,
            _runtime: DataPlane(Some(runtime)),
        })
    }
}

#[async_trait::async_trait]
impl portcullis_registry::discovery::Discover for Gateway {
    async fn upstream_tools(&self) -> Vec<portcullis_registry::discovery::UpstreamTools> {
        self.read_upstream_tools().await
    }

    fn upstream_names(&self) -> Option<Vec<String>> {
        Some(
            self.state
                .config
                .upstreams
                .iter()
                .map(|u| u.name.clone())
                .collect(),
        )
    }

    fn unroutable_tools(&self) -> Option<usize> {
        Some(self.state.catalog.load().unroutable_tools)
    }
}
