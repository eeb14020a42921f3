//! Gateway metrics, registered in the Prometheus registry the admin API serves at `/metrics`.

use std::sync::Arc;

use portcullis_policy::Engine;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
};

#[derive(Clone, Debug)]
pub(crate) struct Metrics {
    /// Calls by JSON-RPC method, tool and decision.
    pub(crate) requests: IntCounterVec,
    pub(crate) decision_seconds: Histogram,
    pub(crate) upstream_seconds: HistogramVec,
    pub(crate) upstream_errors: IntCounterVec,
    pub(crate) sessions_opened: IntCounter,
    pub(crate) sessions_closed: IntCounter,
    pub(crate) audit_dropped: IntCounter,
    pub(crate) last_use_dropped: IntCounter,
    /// Approvals requested and consumed by this instance.
    pub(crate) approvals: IntCounterVec,
    /// Calls refused by a rate limit, by limit (`tenant`, `agent`, `tool`).
    pub(crate) rate_limited: IntCounterVec,
}

/// The methods that get their own label value; every other method is counted as `unknown`,
/// so a caller cannot mint label values.
const KNOWN_METHODS: [&str; 43] = [
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
    "response",
    "stream",
    "session/delete",
    "message/send",
    "message/stream",
    "tasks/get",
    "tasks/cancel",
    "tasks/resubscribe",
    "tasks/pushNotificationConfig/set",
    "tasks/pushNotificationConfig/get",
    "tasks/pushNotificationConfig/list",
    "tasks/pushNotificationConfig/delete",
    "agent/getAuthenticatedExtendedCard",
    "agent/card",
    "SendMessage",
    "SendStreamingMessage",
    "GetTask",
    "ListTasks",
    "CancelTask",
    "SubscribeToTask",
    "CreateTaskPushNotificationConfig",
    "GetTaskPushNotificationConfig",
    "ListTaskPushNotificationConfigs",
    "DeleteTaskPushNotificationConfig",
    "GetExtendedAgentCard",
];

/// The label value for a method: itself when known, else `unknown`.
pub(crate) fn method_label(method: &str) -> &'static str {
    KNOWN_METHODS
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("unknown")
}

impl Metrics {
    /// Counts one upstream failure.
    pub(crate) fn upstream_failed(&self, upstream: &str, e: &crate::upstream::UpstreamError) {
        let kind = match e {
            crate::upstream::UpstreamError::Connect(_) => "connect",
            crate::upstream::UpstreamError::Timeout => "timeout",
            crate::upstream::UpstreamError::Protocol(_) => "protocol",
            crate::upstream::UpstreamError::Status(_) => "status",
        };
        self.upstream_errors
            .with_label_values(&[upstream, kind])
            .inc();
    }

    pub(crate) fn new(
        registry: &Registry,
        engine: Arc<Engine>,
        ended: crate::session::Ended,
    ) -> Result<Self, prometheus::Error> {
        let fast = vec![
            0.000_001, 0.000_005, 0.000_02, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.02,
        ];
        let m = Self {
            requests: IntCounterVec::new(
                Opts::new(
                    "portcullis_gateway_requests_total",
                    "MCP requests by method, tool and decision",
                ),
                &["method", "tool", "decision"],
            )?,
            decision_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "portcullis_gateway_decision_seconds",
                    "Time to decide a call (through the decision cache)",
                )
                .buckets(fast),
            )?,
            upstream_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "portcullis_gateway_upstream_seconds",
                    "Upstream time to response header",
                ),
                &["upstream"],
            )?,
            upstream_errors: IntCounterVec::new(
                Opts::new(
                    "portcullis_gateway_upstream_errors_total",
                    "Upstream failures by kind",
                ),
                &["upstream", "kind"],
            )?,
            sessions_opened: IntCounter::new(
                "portcullis_gateway_sessions_opened_total",
                "MCP sessions opened (initialize)",
            )?,
            sessions_closed: IntCounter::new(
                "portcullis_gateway_sessions_closed_total",
                "MCP sessions ended (DELETE)",
            )?,
            audit_dropped: IntCounter::new(
                "portcullis_gateway_audit_dropped_total",
                "Audit events lost to a full queue",
            )?,
            last_use_dropped: IntCounter::new(
                "portcullis_gateway_last_use_dropped_total",
                "Last-use times lost to a full queue",
            )?,
            approvals: IntCounterVec::new(
                Opts::new(
                    "portcullis_gateway_approvals_total",
                    "Approvals requested for held calls, and consumed by the calls they allowed",
                ),
                &["event"],
            )?,
            rate_limited: IntCounterVec::new(
                Opts::new(
                    "portcullis_gateway_rate_limited_total",
                    "Calls refused by a rate limit, by limit (tenant, agent, tool)",
                ),
                &["limit"],
            )?,
        };
        registry.register(Box::new(m.approvals.clone()))?;
        registry.register(Box::new(m.rate_limited.clone()))?;
        registry.register(Box::new(m.audit_dropped.clone()))?;
        registry.register(Box::new(m.last_use_dropped.clone()))?;
        registry.register(Box::new(m.requests.clone()))?;
        registry.register(Box::new(m.decision_seconds.clone()))?;
        registry.register(Box::new(m.upstream_seconds.clone()))?;
        registry.register(Box::new(m.upstream_errors.clone()))?;
        registry.register(Box::new(m.sessions_opened.clone()))?;
        registry.register(Box::new(m.sessions_closed.clone()))?;
        registry.register(Box::new(CacheCollector::new(engine, ended)?))?;
        Ok(m)
    }
}

/// The decision cache's counters and the policy reloads, read from the engine at scrape time.
struct CacheCollector {
    engine: Arc<Engine>,
    ended: crate::session::Ended,
    /// Decisions kept in the cache now.
    entries: prometheus::IntGauge,
    /// Ended session ids kept now.
    ended_kept: prometheus::IntGauge,
    hits: IntCounter,
    misses: IntCounter,
    reload_failures: IntCounter,
    /// 1 while the latest reload failed (the previous set is serving).
    reload_failing: prometheus::IntGauge,
}

impl CacheCollector {
    fn new(engine: Arc<Engine>, ended: crate::session::Ended) -> Result<Self, prometheus::Error> {
        Ok(Self {
            engine,
            ended,
            entries: prometheus::IntGauge::new(
                "portcullis_decision_cache_entries",
                "Decisions kept in the cache (at most policy.cache_capacity)",
            )?,
            ended_kept: prometheus::IntGauge::new(
                "portcullis_gateway_ended_sessions",
                "Ended MCP session ids kept so that no gateway serves them again (24 h, at most a million)",
            )?,
            hits: IntCounter::new(
                "portcullis_decision_cache_hits_total",
                "Decisions answered from the cache",
            )?,
            misses: IntCounter::new(
                "portcullis_decision_cache_misses_total",
                "Decisions evaluated by Cedar",
            )?,
            reload_failures: IntCounter::new(
                "portcullis_policy_reload_failures_total",
                "Policy reloads refused (the previous set kept serving)",
            )?,
            reload_failing: prometheus::IntGauge::new(
                "portcullis_policy_reload_failing",
                "1 while the latest policy reload failed and the previous set is serving",
            )?,
        })
    }
}

impl Collector for CacheCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.hits
            .desc()
            .into_iter()
            .chain(self.misses.desc())
            .chain(self.reload_failures.desc())
            .chain(self.reload_failing.desc())
            .chain(self.entries.desc())
            .chain(self.ended_kept.desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let stats = self.engine.cache_stats();
        // Counters only move forward: catch up to the engine's totals.
        self.hits.inc_by(stats.hits.saturating_sub(self.hits.get()));
        self.misses
            .inc_by(stats.misses.saturating_sub(self.misses.get()));
        let reloads = self.engine.reload_status();
        self.reload_failures
            .inc_by(reloads.failures.saturating_sub(self.reload_failures.get()));
        self.reload_failing
            .set(i64::from(reloads.last_error.is_some()));
        self.entries
            .set(i64::try_from(stats.entries).unwrap_or(i64::MAX));
        self.ended_kept
            .set(i64::try_from(self.ended.len()).unwrap_or(i64::MAX));
        self.hits
            .collect()
            .into_iter()
            .chain(self.misses.collect())
            .chain(self.reload_failures.collect())
            .chain(self.reload_failing.collect())
            .chain(self.entries.collect())
            .chain(self.ended_kept.collect())
            .collect()
    }
}
