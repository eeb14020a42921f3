//! `/approvals`: approvers are people with the admin role or a manage/admin permission on the
//! NHI; never an agent, the principal that asked, its chain or the user it acts for.

use portcullis_registry::DynStore;
use portcullis_registry::approval::{Approval, ApprovalSubject};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::harness::{Api, sqlite};

/// Opens a pending approval as the gateway would.
async fn hold(
    store: &DynStore,
    principal: &str,
    tool: &str,
    amount: i64,
    chain: &[&str],
) -> String {
    let now = OffsetDateTime::now_utc();
    let subject = ApprovalSubject {
        tenant_id: "acme".into(),
        principal_id: principal.into(),
        chain: chain.iter().map(|s| (*s).to_owned()).collect(),
        on_behalf_of: Some("alice".into()),
        action: "call_tool".into(),
        target_id: tool.into(),
        arguments_sha256: format!("{amount:064x}"),
    };
    let a = Approval::pending(
        subject,
        "files_pay".into(),
        json!({"amount": amount, "pin": "4321"}),
        vec!["tool-requires-approval".into()],
        now,
        now + Duration::hours(1),
    );
    store.open_approval(a, 100).await.unwrap().0.id.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvers_decide_once_and_only_people_may() {
    let (store, _dir) = sqlite();
    let api = Api::start(store.clone()).await;
    let root = api.token("root", "acme", true);
    let created = |path: &'static str, body: Value| {
        let api = &api;
        let root = root.clone();
        async move {
            let (status, v) = api.call(Method::POST, path, Some(&root), Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{v}");
            v["id"].as_str().unwrap().to_owned()
        }
    };
    let payer = created("/nhi/agents", json!({"name": "payer"})).await;
    let tool = created(
        "/nhi/tools",
        json!({"name": "pay", "requires_approval": true, "input_schema": {"type": "object",
            "properties": {"amount": {"type": "integer"}, "pin": {"type": "string", "writeOnly": true}}}}),
    )
    .await;
    let first = hold(&store, &payer, &tool, 25_000, &[]).await;
    let second = hold(&store, &payer, &tool, 30_000, &["planner-1"]).await;

    // Listed newest first, without arguments; filters; a bad filter is 400.
    let (status, page) = api.call(Method::GET, "/approvals", Some(&root), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][0]["id"], second.as_str());
    assert!(page["items"][0].get("arguments").is_none());
    for (query, total) in [
        ("?status=pending", 2),
        ("?status=approved", 0),
        ("?tool=files_pay", 2),
        (&*format!("?tool={tool}"), 2),
        (&*format!("?agent={payer}"), 2),
        ("?agent=someone-else", 0),
        ("?limit=1", 2),
    ] {
        let (status, page) = api
            .call(
                Method::GET,
                &format!("/approvals{query}"),
                Some(&root),
                None,
            )
            .await;
        assert_eq!(
            (status, page["total"].as_u64()),
            (StatusCode::OK, Some(total)),
            "{query}"
        );
    }
    let (status, _) = api
        .call(Method::GET, "/approvals?status=maybe", Some(&root), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // One approval, with the schema's writeOnly field masked.
    let (status, one) = api
        .call(
            Method::GET,
            &format!("/approvals/{first}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["arguments"], json!({"amount": 25_000, "pin": "***"}));
    assert!(!one.to_string().contains("4321"));
    assert_eq!(
        (one["status"].as_str(), one["on_behalf_of"].as_str()),
        (Some("pending"), Some("alice"))
    );

    // Another tenant sees nothing.
    let other = api.token("root", "globex", true);
    let (status, _) = api
        .call(
            Method::GET,
            &format!("/approvals/{first}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, page) = api
        .call(Method::GET, "/approvals", Some(&other), None)
        .await;
    assert_eq!(page["total"], 0);
    let approve = |token: String, id: String, comment: &'static str| {
        let api = &api;
        async move {
            api.call(
                Method::POST,
                &format!("/approvals/{id}/approve"),
                Some(&token),
                Some(json!({"comment": comment})),
            )
            .await
        }
    };
    let (status, _) = approve(other, first.clone(), "x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Parties to the call never decide it, whatever their roles.
    for (sub, why) in [
        (payer.as_str(), "agent or service account never approves"),
        ("alice", "the user a call is made for"),
    ] {
        let (status, body) = approve(api.token(sub, "acme", true), first.clone(), "mine").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{sub}: {body}");
        assert!(body["message"].as_str().unwrap().contains(why), "{body}");
    }
    let (status, _) = approve(api.token("planner-1", "acme", true), second.clone(), "mine").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an actor of the chain");

    // A user needs manage or admin on the NHI: `use` is not enough (the approval stays hidden).
    let bob = api.token("bob", "acme", false);
    let (status, _) = approve(bob.clone(), first.clone(), "ok").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let grant = |level: &'static str| {
        let (api, root, payer) = (&api, root.clone(), payer.clone());
        async move {
            let (status, body) = api
                .call(
                    Method::POST,
                    &format!("/nhi/{payer}/users/bob/grant"),
                    Some(&root),
                    Some(json!({"permission_level": level})),
                )
                .await;
            assert!(status.is_success(), "{body}");
        }
    };
    grant("use").await;
    let (status, _) = approve(bob.clone(), first.clone(), "ok").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    grant("manage").await;
    let (status, _) = api.call(Method::GET, "/approvals", Some(&bob), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, decided) = approve(bob.clone(), first.clone(), "  fine by me  ").await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["status"], "approved");
    assert_eq!(decided["decided_by"], "bob");
    assert_eq!(decided["comment"], "fine by me");
    let expires: OffsetDateTime = OffsetDateTime::parse(
        decided["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let window = expires - OffsetDateTime::now_utc();
    assert!(
        window > Duration::minutes(14) && window <= Duration::minutes(15),
        "{window}"
    );

    // Decided once: approving or denying again is 409.
    let (status, body) = approve(root.clone(), first.clone(), "again").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("is approved"));
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/approvals/{first}/deny"),
            Some(&root),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/approvals/{second}/deny"),
            Some(&root),
            Some(json!({"comment": "x".repeat(3000)})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, denied) = api
        .call(
            Method::POST,
            &format!("/approvals/{second}/deny"),
            Some(&root),
            Some(json!({"comment": "not this month"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{denied}");
    assert_eq!(denied["status"], "denied");

    // Every decision is audited with its approver.
    let events: Vec<Value> = store
        .audit("acme", 10)
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(r.event.get()).unwrap())
        .collect();
    let approved = events
        .iter()
        .find(|e| e["event"] == "approval.approved")
        .expect("an approval event");
    assert_eq!(approved["approver"], "bob");
    assert_eq!(approved["approval"], first.as_str());
    assert_eq!(approved["comment"], "fine by me");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "approval.denied" && e["approver"] == "root")
    );

    // The pending gauge.
    let third = hold(&store, &payer, &tool, 1, &[]).await;
    let _ = third;
    let resp = reqwest::get(format!("{}/metrics", api.base)).await.unwrap();
    let text = resp.text().await.unwrap();
    assert!(
        text.lines().any(|l| l == "portcullis_approvals_pending 1"),
        "{text}"
    );
}
