//! What every call reads: configuration, the registry catalog, the engine, upstreams, and
//! the bounded maps that tie client sessions to upstream sessions and requests.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use pingora::connectors::http::Connector;
use portcullis_policy::Engine;
use serde_json::Value;

use crate::config::GatewayConfig;
use crate::lookup::Catalog;
use crate::metrics::Metrics;
use crate::session::SessionKeys;
use crate::upstream::{RequestIds, Upstream};
use crate::validate::Validators;

pub(crate) struct State {
    pub(crate) config: GatewayConfig,
    pub(crate) catalog: ArcSwap<Catalog>,
    /// The vault's master keys, to open upstream credentials (none: none are presented).
    pub(crate) vault: arc_swap::ArcSwapOption<portcullis_vault::MasterKeys>,
    /// The keys of the access tokens the token endpoint issues (none: it issues none).
    pub(crate) agent_tokens: arc_swap::ArcSwapOption<portcullis_identity::AgentTokens>,
    /// Where those keys are kept, loaded when the gateway starts.
    pub(crate) agent_key_file: parking_lot::Mutex<Option<std::path::PathBuf>>,
    /// The gateway's base URL as clients reach it: the issuer of its tokens.
    pub(crate) public_url: ArcSwap<String>,
    /// (client, `jti`) of client assertions already used (replays are refused).
    pub(crate) assertions: moka::sync::Cache<(String, String), ()>,
    /// Client-secret (Argon2id) checks that may run at once.
    pub(crate) secret_checks: Arc<tokio::sync::Semaphore>,
    pub(crate) engine: Arc<Engine>,
    pub(crate) validators: Validators,
    pub(crate) tokens: crate::authn::VerifiedTokens,
    /// External token issuers and their current keys.
    pub(crate) issuers: crate::jwks::Issuers,
    pub(crate) upstreams: HashMap<String, Arc<Upstream>>,
    /// The A2A agent servers, by name.
    pub(crate) a2a: HashMap<String, Arc<crate::a2a::A2aUpstream>>,
    /// A2A upstream name → its agent card as fetched (5 minutes).
    pub(crate) cards: moka::future::Cache<String, Arc<Value>>,
    pub(crate) connector: Arc<Connector>,
    /// Ids for every request the gateway sends upstream.
    pub(crate) ids: RequestIds,
    pub(crate) sessions: SessionKeys,
    pub(crate) metrics: Metrics,
    pub(crate) audit: crate::audit::Auditor,
    /// The store's audit log and last-use times (none without a store).
    pub(crate) store_sink: Option<crate::audit::StoreSink>,
    /// The registry's store, read only for calls held for approval (none: nothing can be
    /// approved).
    pub(crate) store: Option<portcullis_registry::DynStore>,
    /// Calls that may be held open for an approver at once.
    pub(crate) holds: tokio::sync::Semaphore,
    /// Ended sessions to share through the store once it answers again (it did not at the
    /// `DELETE`); `None` without a store.
    pub(crate) end_later: Option<crate::session::EndLater>,
    /// Requests being handled now.
    pub(crate) requests_in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// The process's own rate-limit buckets.
    pub(crate) buckets: crate::ratelimit::Buckets,
    /// The hash of each upstream tool's current definition (`pinning`).
    pub(crate) definitions: crate::pinning::Definitions,
    /// (upstream, family) → its list as the gateway's own session sees it (`discovery`, 30 s).
    pub(crate) offered: moka::sync::Cache<(String, crate::discovery::Family), Arc<Vec<Value>>>,
    /// Sessions ended with DELETE on this instance (sealed ids cannot be recalled otherwise).
    pub(crate) ended: crate::session::Ended,
    /// (client session, gateway id) → a server-to-client request awaiting the client's
    /// answer.
    pub(crate) pending: moka::sync::Cache<(String, String), Arc<Pending>>,
    /// (client session, client request id) → the call in flight upstream, for the client's
    /// `notifications/cancelled`.
    pub(crate) in_flight: moka::sync::Cache<(String, String), Arc<InFlight>>,
    /// (client session, or tenant and principal outside one; resource URI) → the upstream
    /// whose list it came from (`resources`).
    pub(crate) routes: moka::sync::Cache<(String, String), Arc<str>>,
    /// (client session, upstream) → an upstream session opened after the sealed one was lost.
    pub(crate) overrides: moka::sync::Cache<(String, String), String>,
    /// (tenant, principal, upstream) → the upstream session for that principal's calls
    /// outside an MCP session (2026-07-28 and REST). Never shared between principals;
    /// bounded, and an evicted session is closed upstream.
    pub(crate) principal_sessions: moka::future::Cache<(String, String, String), Option<String>>,
}

/// A request an upstream sent the client, renamed with a gateway id on the way.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) upstream: String,
    /// The upstream's own id for it.
    pub(crate) id: Value,
    /// The upstream session it came from.
    pub(crate) session: Option<String>,
}

/// A client's call while it runs upstream.
#[derive(Debug)]
pub(crate) struct InFlight {
    pub(crate) upstream: String,
    /// The gateway id the upstream knows the call by.
    pub(crate) id: Value,
}

/// A map key for a JSON-RPC id: its JSON text, so `1` and `"1"` stay distinct.
pub(crate) fn id_key(id: &Value) -> String {
    id.to_string()
}

/// What the `logging` hook records about one request.
#[derive(Debug, Default)]
pub(crate) struct CallLog {
    /// The client's JSON-RPC id, for the reply to a refusal.
    pub(crate) id: Option<Value>,
    pub(crate) tenant: Option<String>,
    pub(crate) principal: Option<String>,
    pub(crate) chain: Vec<String>,
    /// The method as the client named it (at most `jsonrpc::MAX_METHOD` bytes).
    pub(crate) method: Option<String>,
    /// The tool as the client named it (at most `jsonrpc::MAX_NAME` bytes).
    pub(crate) tool: Option<String>,
    /// Whether `tool` is registered in the caller's tenant (only those become metric labels).
    pub(crate) tool_registered: bool,
    /// The resource URI or prompt name a request is about, as the client named it (bounded).
    pub(crate) target: Option<String>,
    pub(crate) arguments_sha256: Option<String>,
    pub(crate) decision: Option<&'static str>,
    pub(crate) reasons: Vec<String>,
    pub(crate) upstream: Option<String>,
    pub(crate) upstream_status: Option<u16>,
    pub(crate) upstream_latency: Option<Duration>,
    /// The approval a held call asked for or consumed.
    pub(crate) approval: Option<String>,
    /// The A2A task a request is about (bounded).
    pub(crate) task: Option<String>,
}
