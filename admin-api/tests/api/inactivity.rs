//! `POST /nhi/inactivity/detect`: idle NHIs reported, a dry run by default, suspended past the
//! grace period when asked.

use portcullis_registry::{
    Agent, AgentFields, Common, DynStore, LastUse, Lifecycle, Nhi, ServiceAccount,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::harness::{Api, sqlite};

/// An agent created `age_days` ago, last used `used_days_ago` ago (never when `None`).
async fn agent(store: &DynStore, name: &str, age_days: i64, used_days_ago: Option<i64>) -> String {
    let mut common = Common::new("acme", name);
    common.created_at = OffsetDateTime::now_utc() - Duration::days(age_days);
    let id = common.id;
    store
        .insert_nhi(Nhi::Agent(Agent {
            common,
            fields: AgentFields::default(),
        }))
        .await
        .unwrap();
    if let Some(days) = used_days_ago {
        let at = OffsetDateTime::now_utc() - Duration::days(days);
        store
            .touch_last_used(vec![LastUse {
                tenant_id: "acme".into(),
                id,
                at_ms: i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap(),
            }])
            .await
            .unwrap();
    }
    id.to_string()
}

fn actions(report: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = report["inactive"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_owned(),
                i["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_nhis_are_reported_and_suspended_only_when_asked() {
    let (store, _dir) = sqlite();
    let api = Api::start(store.clone()).await;
    let root = api.token("root", "acme", true);
    let busy = agent(&store, "busy", 400, Some(1)).await;
    let idle = agent(&store, "idle", 400, Some(33)).await;
    let gone = agent(&store, "gone", 400, Some(90)).await;
    let never = agent(&store, "never", 60, None).await;
    let fresh = agent(&store, "fresh", 2, None).await;
    store
        .insert_nhi(Nhi::ServiceAccount(ServiceAccount {
            common: Common::new("globex", "elsewhere"),
            purpose: String::new(),
        }))
        .await
        .unwrap();

    let (status, dry) = api
        .call(
            Method::POST,
            "/nhi/inactivity/detect",
            Some(&root),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        actions(&dry),
        vec![
            ("gone".to_owned(), "would_suspend".to_owned()),
            ("idle".to_owned(), "reported".to_owned()),
            ("never".to_owned(), "would_suspend".to_owned()),
        ]
    );
    let idle_item = dry["inactive"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "idle")
        .unwrap();
    assert_eq!(idle_item["idle_days"], 33);
    assert!(idle_item["suspend_after"].is_string());
    let lifecycle = |id: String| {
        let store = store.clone();
        async move {
            store
                .get_nhi("acme", id.parse().unwrap())
                .await
                .unwrap()
                .unwrap()
                .common()
                .lifecycle_state
        }
    };
    assert_eq!(
        lifecycle(gone.clone()).await,
        Lifecycle::Active,
        "a dry run changes nothing"
    );

    let (status, done) = api
        .call(
            Method::POST,
            "/nhi/inactivity/detect",
            Some(&root),
            Some(json!({"dry_run": false, "threshold_days": 30, "grace_days": 7})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["suspended"], 2);
    assert_eq!(lifecycle(gone).await, Lifecycle::Suspended);
    assert_eq!(lifecycle(never).await, Lifecycle::Suspended);
    assert_eq!(
        lifecycle(idle).await,
        Lifecycle::Active,
        "still in its grace period"
    );
    assert_eq!(lifecycle(busy).await, Lifecycle::Active);
    assert_eq!(lifecycle(fresh).await, Lifecycle::Active);
    let audited = store.audit("acme", 50).await.unwrap();
    assert_eq!(
        audited
            .iter()
            .filter(|r| r.event.get().contains("inactivity.suspended"))
            .count(),
        2
    );
    // Suspended ones are not reported again.
    let (_, again) = api
        .call(
            Method::POST,
            "/nhi/inactivity/detect",
            Some(&root),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        actions(&again),
        vec![("idle".to_owned(), "reported".to_owned())]
    );

    for bad in [
        json!({"threshold_days": 0}),
        json!({"nhi_types": ["robot"]}),
        json!({"x": 1}),
    ] {
        let (status, _) = api
            .call(
                Method::POST,
                "/nhi/inactivity/detect",
                Some(&root),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let member = api.token("member", "acme", false);
    let (status, _) = api
        .call(
            Method::POST,
            "/nhi/inactivity/detect",
            Some(&member),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
