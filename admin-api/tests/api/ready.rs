//! `/readyz` holds the registry view to its bound; `/metrics` shows the view's state.

use std::sync::Arc;
use std::time::Duration;

use portcullis_admin_api::Readiness;
use portcullis_registry::RegistryView;
use reqwest::{Method, StatusCode};

use crate::harness::{Api, sqlite};

async fn metric(api: &Api, name: &str) -> f64 {
    let text = api
        .http
        .get(format!("{}/metrics", api.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no `{name}` in\n{text}"))
        .parse()
        .expect("a number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_registry_view() {
    let (store, _dir) = sqlite();
    let view = Arc::new(RegistryView::new());
    let api = Api::start_with(
        store,
        Some(Readiness {
            view: view.clone(),
            max_staleness: Duration::from_millis(300),
        }),
    )
    .await;

    // Never installed: not ready, whatever the bound, and the cause is named.
    view.record_revision(4);
    view.record_failure("cannot read a registry snapshot: redis: connection refused".into());
    let (st, body) = api.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["ready"], false);
    let reason = body["reason"].as_str().expect("a reason");
    assert!(
        reason.contains("never installed") && reason.contains("connection refused"),
        "{reason}"
    );
    assert_eq!(
        metric(&api, "portcullis_registry_snapshot_failures_total").await,
        1.0
    );

    // Installed and current: ready.
    view.record_installed(4, 2);
    let (st, body) = api.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["ready"], true);
    assert_eq!(
        metric(&api, "portcullis_registry_installed_revision").await,
        4.0
    );
    assert_eq!(
        metric(&api, "portcullis_registry_skipped_records").await,
        2.0
    );
    assert_eq!(
        metric(&api, "portcullis_registry_staleness_seconds").await,
        0.0
    );

    // Behind, within the bound: still ready.
    view.record_revision(7);
    view.record_failure("revision 7 does not install: boom".into());
    let (st, body) = api.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(st, StatusCode::OK, "{body}");

    // Behind for longer than the bound: 503, naming the lag, both revisions and the cause.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (st, body) = api.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let reason = body["reason"].as_str().expect("a reason");
    assert!(
        reason.contains("behind revision 7 (installed 4)") && reason.contains("boom"),
        "{reason}"
    );
    assert!(metric(&api, "portcullis_registry_staleness_seconds").await >= 0.4);
    assert_eq!(
        metric(&api, "portcullis_registry_latest_revision").await,
        7.0
    );
    assert_eq!(
        metric(&api, "portcullis_registry_snapshot_failures_total").await,
        2.0
    );

    // Caught up: ready again.
    view.record_installed(7, 0);
    let (st, body) = api.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        metric(&api, "portcullis_registry_staleness_seconds").await,
        0.0
    );
}
