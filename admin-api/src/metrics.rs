//! Prometheus metrics of the admin API, served at `/metrics`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

use crate::state::AppState;

/// The registry other components (the gateway) add their metrics to, and ours.
#[derive(Clone, Debug)]
pub struct Metrics {
    pub registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
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
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
        })
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
