//! What every call reads: configuration, the registry catalog, the engine, upstreams, and
//! the bounded maps that tie client sessions to upstream sessions and requests.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use pingora::connectors::http::v1::Connector;
use portcullis_policy::Engine;
use serde_json::Value;

use crate::config::GatewayConfig;
use crate::lookup::Catalog;
use crate::metrics::Metrics;
use crate::session::{SessionKey, SessionKeys};
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
    pub(crate) in_flight: InFlightCalls,
    /// (client session, or tenant and principal outside one; resource URI) → the upstream
    /// whose list it came from (`resources`).
    pub(crate) routes: moka::sync::Cache<(String, String), Arc<str>>,
    /// (client session, upstream) → an upstream session opened after the sealed one was lost.
    pub(crate) overrides: moka::sync::Cache<(SessionKey, String), String>,
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

/// The calls forwarded in sessions and not answered yet, by (client session, client request
/// id): what a client's `notifications/cancelled` needs to reach the upstream. An entry lives
/// exactly as long as its call (a [`Flying`] guard removes it, also when the client goes
/// away); at most [`InFlightCalls::MAX`] are tracked, and a call beyond that runs as usual
/// but cannot be cancelled. Sharded mutexes over std maps (keyed SipHash: the ids are the
/// caller's): an insert and a remove per call, far cheaper than a cache with eviction.
pub(crate) struct InFlightCalls {
    shards: [Shard; InFlightCalls::SHARDS],
    count: std::sync::atomic::AtomicUsize,
    hasher: std::hash::RandomState,
}

impl std::fmt::Debug for InFlightCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlightCalls")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl Default for InFlightCalls {
    fn default() -> Self {
        Self {
            shards: std::array::from_fn(|_| parking_lot::Mutex::default()),
            count: std::sync::atomic::AtomicUsize::new(0),
            hasher: std::hash::RandomState::new(),
        }
    }
}

impl InFlightCalls {
    /// The most calls tracked at once.
    pub(crate) const MAX: usize = 100_000;
    const SHARDS: usize = 16;

    fn shard(&self, key: &CallKey) -> &Shard {
        use std::hash::BuildHasher;
        let at = usize::try_from(self.hasher.hash_one(key) % Self::SHARDS as u64).unwrap_or(0);
        let [first, ..] = &self.shards;
        self.shards.get(at).unwrap_or(first)
    }

    /// Tracks a call until the returned guard drops; `None` when too many are tracked (or
    /// the same client id is already in flight in this session: the newer one is not
    /// tracked, and the older keeps its entry).
    pub(crate) fn track(&self, key: CallKey, call: InFlight) -> Option<Flying<'_>> {
        use std::sync::atomic::Ordering;
        if self.count.fetch_add(1, Ordering::AcqRel) >= Self::MAX {
            self.count.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let mut shard = self.shard(&key).lock();
        if shard.contains_key(&key) {
            drop(shard);
            self.count.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        shard.insert(key.clone(), Arc::new(call));
        Some(Flying { calls: self, key })
    }

    /// The call `key` names, while it runs.
    pub(crate) fn get(&self, key: &CallKey) -> Option<Arc<InFlight>> {
        self.shard(key).lock().get(key).cloned()
    }

    /// How many calls are tracked now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::Acquire)
    }
}

type Shard = parking_lot::Mutex<HashMap<CallKey, Arc<InFlight>>>;

/// A call in flight: its client session and the client's id for it.
pub(crate) type CallKey = (SessionKey, String);

/// A tracked call: removed from [`InFlightCalls`] when dropped.
#[derive(Debug)]
pub(crate) struct Flying<'a> {
    calls: &'a InFlightCalls,
    key: CallKey,
}

impl Drop for Flying<'_> {
    fn drop(&mut self) {
        if self
            .calls
            .shard(&self.key)
            .lock()
            .remove(&self.key)
            .is_some()
        {
            self.calls
                .count
                .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::{InFlight, InFlightCalls};

    fn call(upstream: &str) -> InFlight {
        InFlight {
            upstream: upstream.into(),
            id: serde_json::json!("pc-1"),
        }
    }

    fn key(session: &str, id: &str) -> super::CallKey {
        (crate::session::session_key(session), id.into())
    }

    #[test]
    fn a_call_is_found_while_it_runs_and_gone_after() {
        let calls = InFlightCalls::default();
        let flying = calls.track(key("s1", "1"), call("a"));
        assert!(flying.is_some());
        assert_eq!(calls.get(&key("s1", "1")).unwrap().upstream, "a");
        // Another session's call with the same client id is another call.
        assert!(calls.get(&key("s2", "1")).is_none());
        assert_eq!(calls.len(), 1);
        drop(flying);
        assert!(calls.get(&key("s1", "1")).is_none());
        assert_eq!(calls.len(), 0);
    }

    #[test]
    fn a_reused_client_id_keeps_the_first_call() {
        let calls = InFlightCalls::default();
        let first = calls.track(key("s1", "7"), call("a"));
        let second = calls.track(key("s1", "7"), call("b"));
        assert!(first.is_some() && second.is_none());
        drop(second);
        assert_eq!(calls.get(&key("s1", "7")).unwrap().upstream, "a");
        drop(first);
        assert_eq!(calls.len(), 0);
    }

    #[test]
    fn tracking_stops_at_the_bound_and_resumes_below_it() {
        let calls = InFlightCalls::default();
        let held: Vec<_> = (0..InFlightCalls::MAX)
            .map(|i| calls.track(key("s", &i.to_string()), call("a")).unwrap())
            .collect();
        assert!(calls.track(key("s", "one more"), call("a")).is_none());
        assert_eq!(calls.len(), InFlightCalls::MAX);
        drop(held);
        assert_eq!(calls.len(), 0);
        assert!(calls.track(key("s", "one more"), call("a")).is_some());
    }
}
