//! `/nhi/certifications`: campaign transitions (illegal ones are 409), scope, reviewers,
//! remediation of a revoke, the due-date rule, usage facts and the audit trail.

use portcullis_registry::{AuditRecord, DynStore, Lifecycle, RelationKind};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Api, sqlite};

struct World {
    api: Api,
    store: DynStore,
    root: String,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> Self {
        let (store, dir) = sqlite();
        let api = Api::start(store.clone()).await;
        let root = api.token("root", "acme", true);
        Self {
            api,
            store,
            root,
            _dir: dir,
        }
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.api
            .call(Method::POST, path, Some(&self.root), Some(body))
            .await
    }

    async fn created(&self, path: &str, body: Value) -> String {
        let (status, v) = self.post(path, body).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    async fn campaign(&self, body: Value) -> String {
        self.created("/nhi/certifications", body).await
    }

    async fn act(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.api
            .call(
                Method::POST,
                path,
                Some(token),
                Some(json!({"comment": "reviewed"})),
            )
            .await
    }

    async fn lifecycle(&self, id: &str) -> Lifecycle {
        let nhi = self
            .store
            .get_nhi("acme", id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        nhi.common().lifecycle_state
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_goes_draft_active_completed_and_a_revoke_remediates() {
    let w = World::new().await;
    let keeper = w
        .created(
            "/nhi/agents",
            json!({"name": "keeper", "owner_id": "olivia"}),
        )
        .await;
    let leaver = w
        .created(
            "/nhi/agents",
            json!({"name": "leaver", "owner_id": "olivia"}),
        )
        .await;
    let tool = w
        .created(
            "/nhi/tools",
            json!({"name": "read_file", "input_schema": {"type": "object"}}),
        )
        .await;
    for agent in [&keeper, &leaver] {
        let (status, _) = w
            .post(
                &format!("/nhi/agents/{agent}/tools/{tool}/grant"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = w
        .post(
            &format!("/nhi/{leaver}/call/{keeper}/grant"),
            json!({"permission_type": "calling"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // A secret leased to the leaver.
    let (_, secret) = w
        .post(
            &format!("/nhi/{tool}/vault/secrets"),
            json!({"name": "k", "secret_value": "s3cr3t-value"}),
        )
        .await;
    let (status, lease) = w
        .post(
            &format!("/nhi/{tool}/vault/leases"),
            json!({"secret_id": secret["id"], "ttl_seconds": 300, "consumer_nhi_id": leaver}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{lease}");
    // The keeper's grant was used this month (as the gateway records it); the leaver's not.
    let used = json!({"principal": keeper, "tool": "files_read_file", "decision": "allow"});
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    w.store
        .append_audit(vec![AuditRecord::new("acme", now_ms, &used).unwrap()])
        .await
        .unwrap();

    let id = w
        .campaign(json!({"name": "Q3 agents", "nhi_types": ["ai_agent"], "due_date": "2099-09-30"}))
        .await;
    let base = format!("/nhi/certifications/{id}");
    let (_, draft) = w.api.call(Method::GET, &base, Some(&w.root), None).await;
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["nhi_types"], json!(["ai_agent"]));
    // Nothing is decided on a draft.
    let (status, _) = w.act(&w.root, &format!("{base}/certify/{keeper}")).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, active) = w.post(&format!("{base}/launch"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{active}");
    assert_eq!(active["status"], "active");
    let items = active["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "agents only: {active}");
    let item = |id: &str| {
        items
            .iter()
            .find(|i| i["nhi_id"] == id)
            .unwrap_or_else(|| panic!("no item for {id}"))
            .clone()
    };
    assert_eq!(
        item(&keeper)["reviewer_id"],
        "olivia",
        "the owner reviews by default"
    );
    assert_eq!(item(&keeper)["nhi_type"], "ai_agent");
    assert_eq!(item(&keeper)["grants"][0]["id"], tool.as_str());
    assert_eq!(item(&keeper)["grants"][0]["used_30_days"], true);
    assert_eq!(item(&keeper)["unused_grants"], json!([]));
    assert_eq!(item(&leaver)["unused_grants"], json!([tool]));
    let (status, _) = w.post(&format!("{base}/launch"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "launched once");

    // The owner reviews; someone else may not; nor may a non-admin launch or cancel.
    let olivia = w.api.token("olivia", "acme", false);
    let mallory = w.api.token("mallory", "acme", false);
    let (status, _) = w.act(&mallory, &format!("{base}/certify/{keeper}")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "not a reviewer: no campaign to see"
    );
    let (status, _) = w.act(&olivia, &format!("{base}/cancel")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, certified) = w.act(&olivia, &format!("{base}/certify/{keeper}")).await;
    assert_eq!(status, StatusCode::OK, "{certified}");
    let (status, _) = w.act(&olivia, &format!("{base}/revoke/{keeper}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "decided once");
    let (status, _) = w.act(&olivia, &format!("{base}/revoke/{tool}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not in the campaign");

    // Revoke: deprecated, grants and edges gone, lease revoked.
    let (status, done) = w.act(&olivia, &format!("{base}/revoke/{leaver}")).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["remediation"]["grants_removed"], 1);
    assert_eq!(done["remediation"]["edges_removed"], 1);
    assert_eq!(done["remediation"]["leases_revoked"], 1);
    assert_eq!(w.lifecycle(&leaver).await, Lifecycle::Deprecated);
    assert_eq!(w.lifecycle(&keeper).await, Lifecycle::Active);
    let grants = w
        .store
        .relations("acme", RelationKind::ToolGrant, Some(&leaver), None)
        .await
        .unwrap();
    assert!(grants.is_empty());
    let (_, leases) = w
        .api
        .call(
            Method::GET,
            &format!("/nhi/{tool}/vault/leases"),
            Some(&w.root),
            None,
        )
        .await;
    assert!(
        leases.to_string().contains("revoked"),
        "the lease is revoked: {leases}"
    );
    assert!(!leases.to_string().contains("s3cr3t-value"));
    // A completed campaign takes no decisions and cannot be cancelled.
    let (status, _) = w.act(&w.root, &format!("{base}/certify/{leaver}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = w.post(&format!("{base}/cancel"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Audited with the actor.
    let events = w.store.audit("acme", 100).await.unwrap();
    let events: Vec<Value> = events
        .iter()
        .map(|r| serde_json::from_str(r.event.get()).unwrap())
        .collect();
    assert!(events.iter().any(|e| e["event"] == "certification.revoked"
        && e["actor"] == "olivia"
        && e["nhi"] == leaver.as_str()));
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "certification.certified")
    );
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "certification.launched")
    );

    // Listed, without items; another tenant sees nothing.
    let (_, list) = w
        .api
        .call(Method::GET, "/nhi/certifications", Some(&w.root), None)
        .await;
    assert_eq!(list["items"][0]["status"], "completed");
    assert_eq!(list["items"][0]["items"], 2);
    let other = w.api.token("root", "globex", true);
    let (_, theirs) = w
        .api
        .call(Method::GET, "/nhi/certifications", Some(&other), None)
        .await;
    assert_eq!(theirs["items"], json!([]));
    assert_eq!(theirs["total"], 0);
    let (status, _) = w.api.call(Method::GET, &base, Some(&other), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_cancel_and_bad_input() {
    let w = World::new().await;
    let risky = w
        .created(
            "/nhi/agents",
            json!({"name": "risky", "risk_level": "high"}),
        )
        .await;
    w.created("/nhi/agents", json!({"name": "calm", "risk_level": "low"}))
        .await;
    w.created(
        "/nhi/service-accounts",
        json!({"name": "batch", "risk_level": "critical"}),
    )
    .await;
    let id = w
        .campaign(
            json!({"name": "risky ones", "due_date": "2099-01-01T00:00:00Z", "risk_min": "high",
            "reviewer_id": "sec-team"}),
        )
        .await;
    let (_, c) = w
        .post(&format!("/nhi/certifications/{id}/launch"), json!({}))
        .await;
    let names: Vec<&str> = c["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{c}");
    assert!(names.contains(&"risky") && names.contains(&"batch"));
    assert!(
        c["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["reviewer_id"] == "sec-team")
    );
    // Cancelled: its decisions stand, no more are taken.
    let (status, cancelled) = w
        .post(&format!("/nhi/certifications/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cancelled["status"], "cancelled");
    let (status, _) = w
        .act(&w.root, &format!("/nhi/certifications/{id}/revoke/{risky}"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = w
        .post(&format!("/nhi/certifications/{id}/launch"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Inactive for 30 days: nobody here (all just created).
    let idle = w
        .campaign(json!({"name": "idle", "due_date": "2099-01-01", "inactive_days": 30}))
        .await;
    let (_, c) = w
        .post(&format!("/nhi/certifications/{idle}/launch"), json!({}))
        .await;
    assert_eq!(c["status"], "completed", "nothing in scope: {c}");

    for bad in [
        json!({"name": "x", "due_date": "someday"}),
        json!({"name": "x", "due_date": "2099-01-01", "nhi_types": ["robot"]}),
        json!({"name": "x", "due_date": "2099-01-01", "risk_min": "extreme"}),
        json!({"name": "x", "due_date": "2099-01-01", "surprise": 1}),
    ] {
        let (status, body) = w.post("/nhi/certifications", bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let member = w.api.token("member", "acme", false);
    let (status, _) = w
        .api
        .call(
            Method::POST,
            "/nhi/certifications",
            Some(&member),
            Some(json!({"name": "x", "due_date": "2099-01-01"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_open_at_the_due_date_are_decided_by_the_rule() {
    let w = World::new().await;
    let forgotten = w.created("/nhi/agents", json!({"name": "forgotten"})).await;
    let kept = w
        .created("/nhi/service-accounts", json!({"name": "kept"}))
        .await;
    // Already past due: launched, then swept.
    let revoking = w
        .campaign(
            json!({"name": "late", "nhi_types": ["ai_agent"], "due_date": "2020-01-01T00:00:00Z"}),
        )
        .await;
    let certifying = w
        .campaign(json!({"name": "lenient", "nhi_types": ["service_account"],
            "due_date": "2020-01-01T00:00:00Z", "due_rule": "certify"}))
        .await;
    let future = w
        .campaign(
            json!({"name": "later", "nhi_types": ["service_account"], "due_date": "2099-01-01"}),
        )
        .await;
    for id in [&revoking, &certifying, &future] {
        let (status, _) = w
            .post(&format!("/nhi/certifications/{id}/launch"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let decided = portcullis_admin_api::governance::sweep_campaigns(&w.store)
        .await
        .unwrap();
    assert_eq!(decided, 2);
    let get = |id: String| {
        let w = &w;
        async move {
            w.api
                .call(
                    Method::GET,
                    &format!("/nhi/certifications/{id}"),
                    Some(&w.root),
                    None,
                )
                .await
                .1
        }
    };
    let late = get(revoking.clone()).await;
    assert_eq!(late["status"], "completed");
    assert_eq!(late["items"][0]["decision"], "revoked");
    assert_eq!(late["items"][0]["by_rule"], true);
    assert_eq!(late["items"][0]["decided_by"], "due-date rule");
    assert_eq!(w.lifecycle(&forgotten).await, Lifecycle::Deprecated);
    let lenient = get(certifying).await;
    assert_eq!(lenient["items"][0]["decision"], "certified");
    assert_eq!(w.lifecycle(&kept).await, Lifecycle::Active);
    assert_eq!(get(future).await["status"], "active", "not due yet");
    assert_eq!(
        portcullis_admin_api::governance::sweep_campaigns(&w.store)
            .await
            .unwrap(),
        0,
        "nothing left to decide"
    );
}
