//! Computed risk on each NHI's GET (recomputed after writes, without moving its version), and
//! `GET /nhi/risk-summary` on a seeded registry.

use std::time::{Duration, Instant};

use portcullis_registry::{Agent, AgentFields, Common, Nhi};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Api, sqlite};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_is_computed_shown_and_summarised() {
    let (store, _dir) = sqlite();
    let api = Api::start(store.clone()).await;
    let root = api.token("root", "acme", true);
    let post = |path: String, body: Value| {
        let (api, root) = (&api, root.clone());
        async move { api.call(Method::POST, &path, Some(&root), Some(body)).await }
    };
    let (_, orphan) = post("/nhi/agents".into(), json!({"name": "orphan"})).await;
    let orphan = orphan["id"].as_str().unwrap().to_owned();
    let (_, owned) = post(
        "/nhi/agents".into(),
        json!({"name": "owned", "owner_id": "olivia", "risk_level": "high"}),
    )
    .await;
    let owned = owned["id"].as_str().unwrap().to_owned();
    let (_, pay) = post(
        "/nhi/tools".into(),
        json!({"name": "pay", "category": "payments", "owner_id": "olivia",
            "input_schema": {"type": "object"}}),
    )
    .await;
    let pay = pay["id"].as_str().unwrap().to_owned();
    let (status, _) = post(format!("/nhi/agents/{owned}/tools/{pay}/grant"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    // Idle for 40 days, never used: inserted as the gateway's history would leave it.
    let mut idle = Common::new("acme", "idle");
    idle.owner_id = Some("olivia".into());
    idle.created_at = time::OffsetDateTime::now_utc() - time::Duration::days(40);
    store
        .insert_nhi(Nhi::Agent(Agent {
            common: idle,
            fields: AgentFields::default(),
        }))
        .await
        .unwrap();

    // Writes queue a recomputation; the record shows the breakdown once it has run.
    let get = |id: String| {
        let (api, root) = (&api, root.clone());
        async move {
            api.call(Method::GET, &format!("/nhi/agents/{id}"), Some(&root), None)
                .await
                .1
        }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let owned_risk = loop {
        let record = get(owned.clone()).await;
        if record["risk"]["factors"]
            .as_array()
            .is_some_and(|f| f.len() == 2)
        {
            break record;
        }
        assert!(Instant::now() < deadline, "no risk yet: {record}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let factors: Vec<&str> = owned_risk["risk"]["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["factor"].as_str().unwrap())
        .collect();
    assert_eq!(
        factors,
        ["sensitive_grants", "unguarded_risky_tools"],
        "{owned_risk}"
    );
    assert_eq!(owned_risk["risk"]["score"], 20);
    assert_eq!(owned_risk["risk"]["level"], "low");
    // Derived data: the version an admin read still updates.
    let version = owned_risk["version"].as_u64().unwrap();
    let (status, body) = api
        .call(
            Method::PATCH,
            &format!("/nhi/agents/{owned}"),
            Some(&root),
            Some(json!({"description": "pays invoices", "version": version})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let orphan_risk = get(orphan.clone()).await;
    assert_eq!(
        orphan_risk["risk"]["factors"][0]["factor"], "no_owner",
        "{orphan_risk}"
    );

    let (status, recomputed) = post("/nhi/risk/recompute".into(), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{recomputed}");
    let (status, summary) = api
        .call(Method::GET, "/nhi/risk-summary", Some(&root), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["total_count"], 4, "{summary}");
    assert_eq!(
        summary["by_type"],
        json!({"ai_agent": 3, "service_account": 0, "tool": 1})
    );
    // `owned` was rated high by an admin: the higher of the two levels counts.
    assert_eq!(
        summary["by_risk_level"],
        json!({"critical": 0, "high": 1, "low": 3, "medium": 0}),
        "{summary}"
    );
    assert_eq!(summary["inactive_30_days"], 1);
    // The lists name them, with since when (the counts stay complete).
    assert_eq!(
        (
            summary["inactive"].as_array().map(Vec::len),
            &summary["inactive"][0]["name"],
            &summary["inactive"][0]["nhi_type"]
        ),
        (Some(1), &json!("idle"), &json!("ai_agent")),
        "{summary}"
    );
    assert!(summary["inactive"][0]["at"].is_string(), "{summary}");
    assert_eq!(summary["expiring"], json!([]));
    // Today's picture is kept for the trend, with the same counts.
    let (status, trend) = api
        .call(Method::GET, "/nhi/risk-trend", Some(&root), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{trend}");
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert_eq!(
        (
            &trend["total"],
            &trend["items"][0]["date"],
            &trend["items"][0]["total"]
        ),
        (&json!(1), &json!(today), &json!(4)),
        "{trend}"
    );
    assert_eq!(trend["items"][0]["by_risk_level"], summary["by_risk_level"]);
    // Another tenant's admin sees a history of its own (none), and none of these lists.
    let globex = api.token("root", "globex", true);
    let (_, theirs) = api
        .call(Method::GET, "/nhi/risk-trend", Some(&globex), None)
        .await;
    assert_eq!(theirs["total"], 0, "{theirs}");
    let (_, theirs) = api
        .call(Method::GET, "/nhi/risk-summary", Some(&globex), None)
        .await;
    assert_eq!(
        (
            &theirs["inactive"],
            &theirs["expiring"],
            &theirs["total_count"]
        ),
        (&json!([]), &json!([]), &json!(0)),
        "{theirs}"
    );
    assert_eq!(summary["pending_certification"], 0);
    assert_eq!(summary["expiring_7_days"], 0);
    let idle_agents: Vec<Value> = api
        .call(Method::GET, "/nhi/agents?search=idle", Some(&root), None)
        .await
        .1["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(idle_agents[0]["risk"]["factors"][0]["factor"], "never_used");

    // A campaign with an open item counts as pending certification.
    let (_, campaign) = post(
        "/nhi/certifications".into(),
        json!({"name": "q", "nhi_types": ["tool"], "due_date": "2099-01-01"}),
    )
    .await;
    post(
        format!(
            "/nhi/certifications/{}/launch",
            campaign["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    let (_, summary) = api
        .call(Method::GET, "/nhi/risk-summary", Some(&root), None)
        .await;
    assert_eq!(summary["pending_certification"], 1);

    // A secret expiring within a week puts its NHI on the expiring list, once, at the
    // soonest expiry; one expiring later does not count.
    let rfc3339 = |days: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::days(days))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    for (name, days) in [("soon", 3), ("sooner", 2), ("later", 20)] {
        let (status, body) = post(
            format!("/nhi/{pay}/vault/secrets"),
            json!({"name": name, "secret_value": "x", "expires_at": rfc3339(days)}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, summary) = api
        .call(Method::GET, "/nhi/risk-summary", Some(&root), None)
        .await;
    assert_eq!(summary["expiring_7_days"], 1, "{summary}");
    let listed = &summary["expiring"];
    assert_eq!(
        (
            listed.as_array().map(Vec::len),
            &listed[0]["name"],
            &listed[0]["nhi_type"]
        ),
        (Some(1), &json!("pay"), &json!("tool")),
        "{summary}"
    );
    let at = time::OffsetDateTime::parse(
        listed[0]["at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let hours = (at - time::OffsetDateTime::now_utc()).whole_hours();
    assert!((45..=48).contains(&hours), "the soonest: in {hours} hours");
    let member = api.token("member", "acme", false);
    for path in ["/nhi/risk-summary", "/nhi/risk-trend"] {
        let (status, _) = api.call(Method::GET, path, Some(&member), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
}
