//! Prometheus metrics of the admin API, served at `/metrics`, and of the registry view.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portcullis_registry::RegistryView;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::state::AppState;

/// The registry other components (the gateway) add their metrics to, and ours.
#[derive(Clone, Debug)]
pub struct Metrics {
    pub registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// Approvals pending in the store (every tenant), read at each scrape.
    pending_approvals: IntGauge,
}

impl Metrics {
    pub fn new(registry: Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "portcullis_admin_requests_total",
                "Admin API requests by route and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "portcullis_admin_request_seconds",
                "Admin API request latency",
            ),
            &["method", "route"],
        )?;
        let pending_approvals = IntGauge::new(
            "portcullis_approvals_pending",
            "Calls held for a human approval, pending and unexpired (every tenant)",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pending_approvals.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pending_approvals,
        })
    }

    /// Adds the registry view's metrics (`portcullis_registry_*`), read at each scrape.
    pub fn watch_registry_view(&self, view: Arc<RegistryView>) -> Result<(), prometheus::Error> {
        self.registry.register(Box::new(ViewCollector::new(view)?))
    }
}

/// The registry view's status as metrics, read from the view at scrape time.
struct ViewCollector {
    view: Arc<RegistryView>,
    /// Held while the metrics catch up with one status (scrapes may overlap).
    update: Mutex<()>,
    failures: IntCounter,
    installed: IntGauge,
    latest: IntGauge,
    staleness: Gauge,
    skipped: IntGauge,
}

impl ViewCollector {
    fn new(view: Arc<RegistryView>) -> Result<Self, prometheus::Error> {
        Ok(Self {
            view,
            update: Mutex::new(()),
            failures: IntCounter::new(
                "portcullis_registry_snapshot_failures_total",
                "Registry snapshots that could not be read or installed",
            )?,
            installed: IntGauge::new(
                "portcullis_registry_installed_revision",
                "The registry revision the gateway serves from (0 before the first install)",
            )?,
            latest: IntGauge::new(
                "portcullis_registry_latest_revision",
                "The newest registry revision known to exist",
            )?,
            staleness: Gauge::new(
                "portcullis_registry_staleness_seconds",
                "How long the served registry view has been behind the store (0 when current)",
            )?,
            skipped: IntGauge::new(
                "portcullis_registry_skipped_records",
                "Registry records and relations left out of the served policy view",
            )?,
        })
    }

    fn gauges(&self) -> [&dyn Collector; 5] {
        [
            &self.failures,
            &self.installed,
            &self.latest,
            &self.staleness,
            &self.skipped,
        ]
    }
}

impl Collector for ViewCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.gauges().into_iter().flat_map(|c| c.desc()).collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let _update = self.update.lock().unwrap_or_else(PoisonError::into_inner);
        let status = self.view.status();
        let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        // A counter only moves forward: catch up to the view's total.
        self.failures
            .inc_by(status.failures.saturating_sub(self.failures.get()));
        self.installed.set(int(status.installed.unwrap_or(0)));
        self.latest.set(int(status.latest));
        self.staleness
            .set(status.staleness().map_or(0.0, |d| d.as_secs_f64()));
        self.skipped
            .set(int(u64::try_from(status.skipped).unwrap_or(u64::MAX)));
        self.gauges()
            .into_iter()
            .flat_map(|c| c.collect())
            .collect()
    }
}

/// Counts and times every request by its route template (never the raw path).
pub(crate) async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let response = next.run(req).await;
    let m = &state.metrics;
    m.latency
        .with_label_values(&[&method, &route])
        .observe(start.elapsed().as_secs_f64());
    m.requests
        .with_label_values(&[&method, &route, response.status().as_str()])
        .inc();
    response
}

pub(crate) async fn render(State(state): State<AppState>) -> Response {
    match state
        .store
        .pending_approvals(time::OffsetDateTime::now_utc())
        .await
    {
        Ok(n) => state
            .metrics
            .pending_approvals
            .set(i64::try_from(n).unwrap_or(i64::MAX)),
        Err(e) => tracing::warn!("pending approvals not counted: {e}"),
    }
    match TextEncoder::new().encode_to_string(&state.metrics.registry.gather()) {
        Ok(text) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4",
            )],
            text,
        )
            .into_response(),
        Err(e) => crate::error::ApiError::Internal(format!("metrics: {e}")).into_response(),
    }
}
