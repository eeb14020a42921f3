//! Calls held for a human approval: one approval per call binding, in the store; an approved
//! one lets exactly one identical call through, then it is spent.

use portcullis_registry::approval::{Approval, ApprovalStatus};
use portcullis_registry::{Common, Nhi, Relation, RelationKind, Tool, ToolFields};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::harness::{Setup, World};

/// A world with `files_pay` (needs approval), granted to `reader`.
async fn world(setup: Setup) -> World {
    let w = World::start_with(setup).await;
    let pay = w
        .store
        .insert_nhi(Nhi::Tool(Tool {
            common: Common::new("acme", "pay"),
            fields: ToolFields {
                upstream: Some("files".into()),
                requires_approval: true,
                input_schema: json!({"type": "object", "properties": {
                    "amount": {"type": "integer"}, "to": {"type": "string"}},
                    "required": ["amount", "to"]}),
                ..ToolFields::default()
            },
        }))
        .await
        .expect("tool")
        .id()
        .to_string();
    w.store
        .put_relation(Relation::new(
            "acme",
            RelationKind::ToolGrant,
            &w.reader,
            &pay,
        ))
        .await
        .expect("grant");
    w.reinstall().await;
    w
}

fn pay(amount: i64) -> Value {
    json!({"name": "files_pay", "arguments": {"amount": amount, "to": "acme-supplier"}})
}

fn paid(w: &World) -> usize {
    w.seen.calls.lock().get("pay").copied().unwrap_or(0)
}

/// The approval a -32010 answer names.
fn held(reply: &Value) -> uuid::Uuid {
    assert_eq!(reply["error"]["code"], -32010, "{reply}");
    reply["error"]["data"]["approval_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no approval id: {reply}"))
}

async fn load(w: &World, id: uuid::Uuid) -> Approval {
    w.store
        .approval("acme", id)
        .await
        .expect("read")
        .expect("the approval is stored")
}

/// What an approver does, straight in the store.
async fn decide(w: &World, id: uuid::Uuid, to: ApprovalStatus, expires_in: Duration) {
    let a = load(w, id).await;
    let version = a.version;
    let mut d = a;
    d.status = to;
    d.decided_by = Some("boss".into());
    d.decided_at = Some(OffsetDateTime::now_utc());
    d.expires_at = OffsetDateTime::now_utc() + expires_in;
    w.store.update_approval(d, version).await.expect("decide");
}

async fn call(w: &World, token: &str, params: Value) -> Value {
    let (status, reply) = w.rpc(token, "tools/call", params).await;
    assert_eq!(status, 200, "{reply}");
    reply
}

fn ok(reply: &Value) {
    assert_eq!(reply["result"]["isError"], false, "{reply}");
}

async fn one_call_per_approval(w: &World) {
    let reader = w.token(&w.reader, "acme");
    // Held: nothing reaches the upstream; the answer names the approval and where to watch.
    let reply = call(w, &reader, pay(5)).await;
    let first = held(&reply);
    let data = &reply["error"]["data"];
    assert_eq!(data["status"], "pending", "{reply}");
    assert_eq!(data["retry_after_secs"], 5);
    assert!(
        data["status_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/approvals/{first}"))
    );
    assert!(
        data["policies"]
            .as_array()
            .unwrap()
            .contains(&json!("tool-requires-approval"))
    );
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("approval {first} is pending")),
        "{message}"
    );
    assert_eq!(paid(w), 0);
    // Asking again finds the same approval.
    assert_eq!(held(&call(w, &reader, pay(5)).await), first);
    let stored = load(w, first).await;
    assert_eq!(stored.subject.principal_id, w.reader);
    assert_eq!(
        stored.arguments,
        json!({"amount": 5, "to": "acme-supplier"})
    );

    // Approved: one identical call goes through, and the approval is spent.
    decide(w, first, ApprovalStatus::Approved, Duration::minutes(15)).await;
    ok(&call(w, &reader, pay(5)).await);
    assert_eq!(paid(w), 1);
    assert_eq!(load(w, first).await.status, ApprovalStatus::Consumed);
    // The same call again needs a new approval.
    let second = held(&call(w, &reader, pay(5)).await);
    assert_ne!(second, first);
    // Changed arguments are another call: another approval.
    let changed = held(&call(w, &reader, pay(6)).await);
    assert_ne!(changed, second);
    assert_eq!(paid(w), 1);

    // Two identical calls racing for one approval: exactly one reaches the upstream.
    decide(w, second, ApprovalStatus::Approved, Duration::minutes(15)).await;
    let (a, b, c) = tokio::join!(
        call(w, &reader, pay(5)),
        call(w, &reader, pay(5)),
        call(w, &reader, pay(5))
    );
    let through = [&a, &b, &c]
        .iter()
        .filter(|r| r["result"]["isError"] == false)
        .count();
    assert_eq!(through, 1, "{a}\n{b}\n{c}");
    for r in [&a, &b, &c] {
        if r.get("error").is_some() {
            assert_ne!(held(r), second, "the spent approval is never offered again");
        }
    }
    assert_eq!(paid(w), 2, "counted at the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_lets_exactly_one_identical_call_through() {
    let w = world(Setup::default()).await;
    one_call_per_approval(&w).await;
    // The audit says which approval a call asked for and which one it consumed (a call's
    // record is written just after its answer: wait for both approved ones).
    let mut events = w.audit(8).await;
    for _ in 0..100 {
        let approved = events
            .iter()
            .filter(|e| e.decision.as_deref() == Some("approved"))
            .count();
        if approved >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        events = w.audit(8).await;
    }
    let approved: Vec<_> = events
        .iter()
        .filter(|e| e.decision.as_deref() == Some("approved"))
        .collect();
    assert_eq!(approved.len(), 2);
    assert!(
        approved
            .iter()
            .all(|e| e.approval.is_some() && e.upstream_status == Some(200))
    );
    assert!(
        events
            .iter()
            .filter(|e| e.decision.as_deref() == Some("approval_required"))
            .all(|e| e.approval.is_some())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_lets_exactly_one_identical_call_through_on_redis() {
    let w = world(Setup {
        redis: true,
        ..Setup::default()
    })
    .await;
    one_call_per_approval(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_expired_and_invalid_calls_never_go_through() {
    let w = world(Setup::default()).await;
    let reader = w.token(&w.reader, "acme");
    // Denied: the same call is refused, saying so, until the request expires.
    let denied = held(&call(&w, &reader, pay(7)).await);
    decide(&w, denied, ApprovalStatus::Denied, Duration::minutes(30)).await;
    let reply = call(&w, &reader, pay(7)).await;
    assert_eq!(held(&reply), denied);
    assert_eq!(reply["error"]["data"]["status"], "denied");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("was denied")
    );
    // Approved but expired before use: a new request, and no call.
    let late = held(&call(&w, &reader, pay(8)).await);
    decide(&w, late, ApprovalStatus::Approved, Duration::seconds(-1)).await;
    let reply = call(&w, &reader, pay(8)).await;
    assert_ne!(held(&reply), late);
    assert_eq!(reply["error"]["data"]["status"], "pending");
    assert_eq!(
        load(&w, late).await.status,
        ApprovalStatus::Approved,
        "not consumed"
    );
    assert_eq!(paid(&w), 0);
    // Arguments the schema refuses are reported, and no approver is asked.
    let before = w.store.approvals("acme").await.unwrap().len();
    let reply = call(
        &w,
        &reader,
        json!({"name": "files_pay", "arguments": {"amount": 5, "to": 42}}),
    )
    .await;
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    assert_eq!(w.store.approvals("acme").await.unwrap().len(), before);

    // The REST face: 403 approval_required with the same fields.
    let resp = w
        .http
        .post(format!("{}/tools/files_pay/call", w.url))
        .bearer_auth(&reader)
        .json(&json!({"amount": 9, "to": "acme-supplier"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "approval_required", "{body}");
    let id: uuid::Uuid = body["approval_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(body["status"], "pending");

    // Its status, for the caller only; another principal or tenant sees nothing.
    let status_url = |id: uuid::Uuid| format!("{}/approvals/{id}", w.url.trim_end_matches("/mcp"));
    let get = |token: String, url: String| {
        let http = w.http.clone();
        async move {
            let resp = http.get(url).bearer_auth(token).send().await.unwrap();
            (
                resp.status().as_u16(),
                resp.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, body) = get(reader.clone(), status_url(id)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["status"].as_str(), body["tool"].as_str()),
        (Some("pending"), Some("files_pay"))
    );
    let (status, body) = get(reader.clone(), status_url(denied)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("denied")));
    for token in [w.token(&w.writer, "acme"), w.token(&w.outsider, "globex")] {
        let (status, _) = get(token, status_url(id)).await;
        assert_eq!(status, 404);
    }
    let (status, _) = get(
        reader,
        format!("{}/approvals/not-a-uuid", w.url.trim_end_matches("/mcp")),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_call_completes_when_approved_in_time() {
    let w = world(Setup {
        approval_hold_ms: 3000,
        ..Setup::default()
    })
    .await;
    let reader = w.token(&w.reader, "acme");
    let started = std::time::Instant::now();
    let approver = async {
        // Approve the request as soon as it shows up.
        loop {
            let pending = w.store.approvals("acme").await.unwrap();
            if let Some(a) = pending.first() {
                decide(&w, a.id, ApprovalStatus::Approved, Duration::minutes(5)).await;
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let (reply, ()) = tokio::join!(call(&w, &reader, pay(11)), approver);
    ok(&reply);
    assert_eq!(paid(&w), 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    // Nobody decides: after the hold, approval required.
    let started = std::time::Instant::now();
    let reply = call(&w, &reader, pay(12)).await;
    held(&reply);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(paid(&w), 1);
}

/// The shipped policies plus `extra` (file name, text), in a new directory.
fn policies_with(extra: (&str, &str)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut pending = vec![(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies"),
        dir.path().to_owned(),
    )];
    while let Some((from, to)) = pending.pop() {
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                if entry.file_name() != "tests" {
                    pending.push((entry.path(), to.join(entry.file_name())));
                }
            } else {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }
    std::fs::write(dir.path().join(extra.0), extra.1).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_held_for_approval_is_read_once_per_approval() {
    let policies = policies_with((
        "hold.cedar",
        r#"@id("docs-need-approval")
@obligation("human_approval")
forbid (principal, action == Portcullis::Action::"read_resource", resource)
when { context.target has uri && context.target.uri like "file:///docs/*" && !context.approval.approved };
"#,
    ));
    let w = world(Setup {
        policies: Some(policies.path().to_owned()),
        ..Setup::default()
    })
    .await;
    let reader = w.token(&w.reader, "acme");
    let read = json!({"uri": "file:///docs/plan.md"});
    let (_, reply) = w.rpc(&reader, "resources/read", read.clone()).await;
    let id = held(&reply);
    assert!(
        reply["error"]["data"]["policies"]
            .as_array()
            .unwrap()
            .contains(&json!("docs-need-approval"))
    );
    let stored = load(&w, id).await;
    assert_eq!(stored.subject.action, "read_resource");
    assert_eq!(stored.target_name, "file:///docs/plan.md");
    decide(&w, id, ApprovalStatus::Approved, Duration::minutes(5)).await;
    let (_, reply) = w.rpc(&reader, "resources/read", read.clone()).await;
    assert_eq!(
        reply["result"]["contents"][0]["text"], "files has file:///docs/plan.md",
        "{reply}"
    );
    let (_, reply) = w.rpc(&reader, "resources/read", read).await;
    assert_ne!(held(&reply), id, "one approval, one read");
    // Not held: read at once.
    let (_, reply) = w
        .rpc(
            &reader,
            "resources/read",
            json!({"uri": "file:///logs/monday"}),
        )
        .await;
    assert!(reply.get("result").is_some(), "{reply}");
}
