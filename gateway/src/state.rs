//! What every call reads: configuration, the registry catalog, the engine, upstreams.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use pingora::connectors::http::Connector;
use portcullis_policy::Engine;

use crate::config::GatewayConfig;
use crate::lookup::Catalog;
use crate::metrics::Metrics;
use crate::session::SessionKeys;
use crate::upstream::Upstream;
use crate::validate::Validators;

pub(crate) struct State {
    pub(crate) config: GatewayConfig,
    pub(crate) catalog: ArcSwap<Catalog>,
    pub(crate) engine: Arc<Engine>,
    pub(crate) validators: Validators,
    pub(crate) tokens: crate::authn::VerifiedTokens,
    /// External token issuers and their current keys.
    pub(crate) issuers: crate::jwks::Issuers,
    pub(crate) upstreams: HashMap<String, Upstream>,
    pub(crate) connector: Connector,
    pub(crate) sessions: SessionKeys,
    pub(crate) metrics: Metrics,
    pub(crate) audit: crate::audit::Auditor,
    /// The store's audit log and last-use times (none without a store).
    pub(crate) store_sink: Option<crate::audit::StoreSink>,
    /// Upstream name → its own tool definitions, fetched by tools/list fan-out (30 s).
    pub(crate) upstream_tools: moka::sync::Cache<String, Arc<HashMap<String, serde_json::Value>>>,
    /// Sessions ended with DELETE on this instance (sealed ids cannot be recalled otherwise).
    pub(crate) ended: moka::sync::Cache<String, ()>,
    /// (session id, request id) → the upstream that sent that server-to-client request.
    pub(crate) pending: moka::sync::Cache<(String, String), String>,
    /// (session id, upstream) → an upstream session opened after the sealed one was lost.
    pub(crate) overrides: moka::sync::Cache<(String, String), String>,
}

/// What the `logging` hook records about one request.
#[derive(Debug, Default)]
pub(crate) struct CallLog {
    pub(crate) tenant: Option<String>,
    pub(crate) principal: Option<String>,
    pub(crate) chain: Vec<String>,
    pub(crate) method: Option<String>,
    pub(crate) tool: Option<String>,
    pub(crate) arguments_sha256: Option<String>,
    pub(crate) decision: Option<&'static str>,
    pub(crate) reasons: Vec<String>,
    pub(crate) upstream: Option<String>,
    pub(crate) upstream_status: Option<u16>,
    pub(crate) upstream_latency: Option<Duration>,
}
