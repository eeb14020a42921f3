//! SIGTERM: the gateway stops taking connections, lets the calls it is handling finish, and
//! writes every audit record they queued before the process exits.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::shipped;
use crate::interop::{Admin, free_port, issue_token, serve, start_sample};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_calls_and_flushes_the_audit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_sample, sample_port) = start_sample(dir.path()).await;
    let (admin_port, gateway_port) = (free_port(), free_port());
    let config = dir.path().join("portcullis.toml");
    let audit = dir.path().join("audit.jsonl");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\n\
             [admin]\nlisten = \"127.0.0.1:{admin_port}\"\n\
             [gateway]\nlisten = \"127.0.0.1:{gateway_port}\"\naudit_log = {{ file = {audit:?} }}\n\
             [[gateway.upstreams]]\nname = \"sample\"\nurl = \"http://127.0.0.1:{sample_port}/mcp\"\n\
             [policy]\ndir = {policies:?}\nwatch = false\n\
             [approvals]\nhold_ms = 1500\n",
            data = dir.path().join("data"),
            policies = shipped(),
        ),
    )
    .expect("config");
    let mut portcullis = serve(&config, dir.path(), admin_port, gateway_port).await;
    let http = reqwest::Client::new();
    let admin = Admin {
        http: http.clone(),
        base: format!("http://127.0.0.1:{admin_port}"),
        token: issue_token(&config, "root", "acme", true),
    };
    let agent = admin.create("/nhi/agents", json!({"name": "payer"})).await;
    for (name, schema) in [
        (
            "echo",
            json!({"type": "object", "properties": {"message": {"type": "string"}}}),
        ),
        (
            "transfer_funds",
            json!({"type": "object", "properties": {"to": {"type": "string"},
                "amount": {"type": "integer"}}, "required": ["to", "amount"]}),
        ),
    ] {
        let tool = admin
            .create(
                "/nhi/tools",
                json!({"name": name, "upstream": "sample", "category": "payments", "input_schema": schema}),
            )
            .await;
        admin
            .post(
                &format!("/nhi/agents/{agent}/tools/{tool}/grant"),
                Some(json!({})),
            )
            .await;
    }
    let token = issue_token(&config, &agent, "acme", false);
    let base = format!("http://127.0.0.1:{gateway_port}/mcp/tools");
    let call = |tool: &'static str, args: Value| {
        let (http, token, url) = (http.clone(), token.clone(), format!("{base}/{tool}/call"));
        async move {
            http.post(url)
                .bearer_auth(token)
                .json(&args)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    };
    // Wait for the grants to reach the gateway.
    let deadline = Instant::now() + Duration::from_secs(10);
    while call("sample_echo", json!({"message": "ready?"})).await.ok() != Some(200) {
        assert!(
            Instant::now() < deadline,
            "the grant never reached the gateway"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = std::fs::read_to_string(&audit)
        .unwrap_or_default()
        .lines()
        .count();

    // A payment held for an approver (1.5 s), and a burst of quick calls; then SIGTERM.
    let held = tokio::spawn(call(
        "sample_transfer_funds",
        json!({"to": "acme-supplier", "amount": 25_000}),
    ));
    let burst: Vec<_> = (0..40)
        .map(|i| tokio::spawn(call("sample_echo", json!({"message": format!("n{i}")}))))
        .collect();
    let mut answered = 0;
    for b in burst {
        if b.await.unwrap().ok() == Some(200) {
            answered += 1;
        }
    }
    assert_eq!(answered, 40);
    tokio::time::sleep(Duration::from_millis(200)).await;
    portcullis.terminate();
    // The held call is answered (approval required), not cut off.
    assert_eq!(held.await.unwrap().expect("an answer, not a reset"), 403);
    let deadline = Instant::now() + Duration::from_secs(15);
    while portcullis.exited().is_none() {
        assert!(
            Instant::now() < deadline,
            "serve did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // New connections are refused once it has gone.
    assert!(
        call("sample_echo", json!({"message": "late"}))
            .await
            .is_err()
    );
    // Every call it answered has its audit line.
    let lines: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .skip(before)
        .map(|l| serde_json::from_str(l).expect("a whole line"))
        .collect();
    let recorded: std::collections::HashSet<&str> = lines
        .iter()
        .filter(|e| e["tool"] == "sample_echo" && e["decision"] == "allow")
        .filter_map(|e| e["arguments_sha256"].as_str())
        .collect();
    let missing = (0..40)
        .map(|i| {
            portcullis_registry::discovery::canonical_sha256(&json!({"message": format!("n{i}")}))
        })
        .filter(|h| !recorded.contains(h.as_str()))
        .count();
    assert_eq!(missing, 0, "calls answered without an audit line");
    assert!(
        lines
            .iter()
            .any(|e| e["tool"] == "sample_transfer_funds" && e["decision"] == "approval_required"),
        "the held call's record was flushed"
    );
}
