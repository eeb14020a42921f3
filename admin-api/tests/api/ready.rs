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
            policy: None,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_policy_reload_is_in_the_readiness_details() {
    // A copy of the shipped policies the test can break.
    let policies = tempfile::tempdir().unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    copy_dir(&shipped, policies.path());
    let engine =
        Arc::new(portcullis_policy::Engine::from_dir(policies.path(), Default::default()).unwrap());
    let view = Arc::new(RegistryView::new());
    view.record_revision(1);
    view.record_installed(1, 0);
    let (store, _dir) = sqlite();
    let api = Api::start_with(
        store,
        Some(Readiness {
            view,
            max_staleness: Duration::from_secs(5),
            policy: Some(engine.clone()),
        }),
    )
    .await;
    let (_, body) = api.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(body["policy"]["failing"], false, "{body}");
    // The loaded set, policy by policy, for the operators (`super_admin`) only: it is shared
    // by every tenant.
    let admin = api.token("alice", "acme", true);
    let (st, body) = api.call(Method::GET, "/policies", Some(&admin), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    let root = api
        .key
        .issue("root", "acme", &["super_admin".to_owned()], 600)
        .unwrap();
    let (st, listed) = api
        .call(Method::GET, "/policies?limit=500", Some(&root), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{listed}");
    let loaded = engine.with_bundle(portcullis_policy::PolicyBundle::len);
    assert_eq!(listed["total"], loaded, "{listed}");
    let approval = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "large-payment-approval")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(
        (&approval["effect"], &approval["obligation"]),
        (
            &serde_json::json!("forbid"),
            &serde_json::json!("human_approval")
        )
    );
    let (file, line) = (
        approval["file"].as_str().unwrap(),
        approval["line"].as_u64().unwrap(),
    );
    assert!(file.ends_with("arguments.cedar"), "{approval}");
    let text = std::fs::read_to_string(file).unwrap();
    let from_line: Vec<&str> = text
        .lines()
        .skip(usize::try_from(line).unwrap() - 1)
        .take(3)
        .collect();
    assert!(
        from_line.join("\n").contains("large-payment-approval"),
        "{file}:{line} does not start the policy: {from_line:?}"
    );
    std::fs::write(policies.path().join("broken.cedar"), "permit (principal,").unwrap();
    assert!(engine.reload(policies.path()).is_err());
    // Still ready (the previous set serves). Anyone sees that the reload failed; why (files
    // and lines of the deployment's policies) only an operator's token, not a tenant admin's.
    let (st, body) = api.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["policy"]["failures"], &body["policy"]["failing"]),
        (&serde_json::json!(1), &serde_json::json!(true))
    );
    for token in [None, Some(admin.as_str())] {
        let (_, body) = api.call(Method::GET, "/readyz", token, None).await;
        assert!(body["policy"].get("last_error").is_none(), "{body}");
        assert!(!body.to_string().contains("broken.cedar"), "{body}");
    }
    let (_, body) = api.call(Method::GET, "/readyz", Some(&root), None).await;
    assert!(
        body["policy"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("broken.cedar")),
        "{body}"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
