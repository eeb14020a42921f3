//! tools/call and tools/list through the gateway: allowed, refused, invalid, and failures.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{BODY_LIMIT, World};

fn text_of(result: &Value) -> Value {
    serde_json::from_str(
        result["result"]["content"][0]["text"]
            .as_str()
            .expect("text content"),
    )
    .expect("json text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_call_is_forwarded_once_without_the_callers_token() {
    let w = World::start().await;
    let token = w.token(&w.reader, "acme");
    let (status, body) = w
        .rpc(
            &token,
            "tools/call",
            json!({"name": "files_echo", "arguments": {"text": "hi"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["isError"], false, "{body}");
    let seen = text_of(&body);
    assert_eq!(
        seen["tool"], "echo",
        "the upstream sees its own name for the tool"
    );
    assert_eq!(seen["arguments"], json!({"text": "hi"}));
    assert_eq!(w.seen.calls("echo"), 1, "executed exactly once");
    assert!(
        w.seen.authorization.lock().is_empty(),
        "the caller's token never goes upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_and_unknown_tools_look_the_same() {
    let w = World::start().await;
    let token = w.token(&w.reader, "acme");
    let (_, denied) = w
        .rpc(
            &token,
            "tools/call",
            json!({"name": "files_secret", "arguments": {}}),
        )
        .await;
    let (_, unknown) = w
        .rpc(
            &token,
            "tools/call",
            json!({"name": "files_nothing", "arguments": {}}),
        )
        .await;
    assert_eq!(denied["error"]["code"], -32602, "{denied}");
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    let shape = |v: &Value| {
        v["error"]["message"]
            .as_str()
            .unwrap()
            .replace("files_secret", "X")
            .replace("files_nothing", "X")
    };
    assert_eq!(shape(&denied), shape(&unknown));
    assert_eq!(w.seen.calls("secret"), 0);

    let (_, list) = w.rpc(&token, "tools/list", json!({})).await;
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["crm_echo", "down_gone", "files_echo", "files_slow"],
        "only what the caller may call"
    );
    assert_eq!(
        list["result"]["tools"][2]["inputSchema"]["required"],
        json!(["text"]),
        "files_echo carries its pinned schema"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_arguments_are_an_error_result_naming_the_field() {
    let w = World::start().await;
    let token = w.token(&w.reader, "acme");
    let (status, body) = w
        .rpc(
            &token,
            "tools/call",
            json!({"name": "files_echo", "arguments": {"text": 42}}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["isError"], true, "{body}");
    let text = body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("argument `text`"), "{text}");
    assert_eq!(
        w.seen.calls("echo"),
        0,
        "invalid input never reaches the tool"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_agents_and_other_tenants_are_refused() {
    let w = World::start().await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "files_echo", "arguments": {"text": "x"}}})
        .to_string()
        .into_bytes();
    // Refused in code before any policy runs, with the reason.
    let suspended = w.token(&w.benched, "acme");
    let (status, _, body) = w.post(Some(&suspended), call.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("is suspended"),
        "{body}"
    );
    // A token naming a tenant the principal is not registered in.
    let elsewhere = w.token(&w.reader, "globex");
    let (status, _, body) = w.post(Some(&elsewhere), call).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not a registered agent or service account of tenant `globex`"),
        "{body}"
    );
    assert_eq!(w.seen.calls("echo"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_checked() {
    let w = World::start().await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        .to_string()
        .into_bytes();
    let (status, headers, _) = w.post(None, call.clone()).await;
    assert_eq!(status, 401);
    let challenge = headers.get("www-authenticate").unwrap().to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer resource_metadata=\"http://")
            && challenge.contains("/.well-known/oauth-protected-resource"),
        "{challenge}"
    );
    let forged = portcullis_identity::TokenKey::new(vec![1; 32], "portcullis", "portcullis")
        .issue(&w.reader, "acme", &[], 60)
        .unwrap();
    let (status, _, body) = w.post(Some(&forged), call.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let wrong_audience = portcullis_identity::TokenKey::new(vec![9; 32], "portcullis", "elsewhere")
        .issue(&w.reader, "acme", &[], 60)
        .unwrap();
    let (status, _, body) = w.post(Some(&wrong_audience), call.clone()).await;
    assert!(
        status == 401 && body["message"].as_str().unwrap().contains("audience"),
        "{body}"
    );
    let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
    let claims = serde_json::to_vec(&json!({"sub": w.reader, "tenant": "acme", "iss": "portcullis", "aud": "portcullis", "iat": 1, "exp": 99_999_999_999_u64})).unwrap();
    let none = format!("{header}.{}.", base64url(&claims));
    let (status, _, _) = w.post(Some(&none), call.clone()).await;
    assert_eq!(status, 401, "alg none is refused");
    let mut claims = w.key.verify(&w.token(&w.reader, "acme")).unwrap();
    // The gateway's own tokens get no leeway: two seconds past `exp` is expired.
    for ago in [600, 2, 0] {
        claims.exp = claims.iat - ago;
        let expired = w.key.sign(&claims).unwrap();
        let (status, _, body) = w.post(Some(&expired), call.clone()).await;
        assert!(
            status == 401 && body["message"].as_str().unwrap().contains("expired"),
            "{ago} s ago: {body}"
        );
    }
    let stranger = w.token("someone-unregistered", "acme");
    let (status, _, _) = w.post(Some(&stranger), call).await;
    assert_eq!(status, 403);
}

fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_requests() {
    let w = World::start().await;
    let token = w.token(&w.reader, "acme");
    let (status, _, body) = w.post(Some(&token), b"{not json".to_vec()).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32700))
    );
    let (status, _, body) = w
        .post(Some(&token), br#"{"jsonrpc":"2.0","id":1}"#.to_vec())
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32600))
    );
    let batch = json!([{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]);
    let (status, _, body) = w.post(Some(&token), batch.to_string().into_bytes()).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32600)),
        "{body}"
    );
    let huge = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "files_echo", "arguments": {"text": "x".repeat(BODY_LIMIT)}}});
    let (status, _, body) = w.post(Some(&token), huge.to_string().into_bytes()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("payload_too_large"))
    );
    let (status, body) = w.rpc(&token, "sampling/createMessage", json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (200, Some(-32601))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_64_kib_arrives_intact() {
    let w = World::start().await;
    let token = w.token(&w.reader, "acme");
    let text = "abcdefgh".repeat(20_000); // 160 KB
    let (status, body) = w
        .rpc(
            &token,
            "tools/call",
            json!({"name": "files_echo", "arguments": {"text": text}}),
        )
        .await;
    assert_eq!(status, 200);
    let seen = text_of(&body);
    assert_eq!(
        seen["arguments"]["text"].as_str().map(str::len),
        Some(160_000),
        "the upstream got every byte"
    );
    assert_eq!(
        seen["argument_bytes"],
        json!({"text": text}).to_string().len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_down_or_slow_is_a_json_rpc_error_not_a_hang() {
    let w = World::start().await;
    let token = w.token(&w.reader, "acme");
    let start = Instant::now();
    let (status, body) = w
        .rpc(
            &token,
            "tools/call",
            json!({"name": "down_gone", "arguments": {}}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (200, Some(-32011)),
        "{body}"
    );
    assert!(
        body["error"]["message"].as_str().unwrap().contains("down"),
        "{body}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));

    let start = Instant::now();
    let (status, body) = w
        .rpc(
            &token,
            "tools/call",
            json!({"name": "files_slow", "arguments": {}}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (200, Some(-32011)),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("in time"),
        "{body}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "the request timeout (1.5 s) applies"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        w.seen.calls("slow"),
        1,
        "a timed-out call is not sent again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initialize_ping_and_notifications() {
    let w = World::start().await;
    let token = w.token(&w.reader, "acme");
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let (status, headers, body) = w.post(Some(&token), init.to_string().into_bytes()).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["protocolVersion"], "2025-06-18");
    assert!(body["result"]["capabilities"]["tools"].is_object());
    assert!(headers.get("mcp-session-id").is_some());
    let session = headers
        .get("mcp-session-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
        .to_string()
        .into_bytes();
    let (status, _, _) = w
        .post_to(&w.url, Some(&token), Some(&session), &[], note.clone())
        .await;
    assert_eq!(status, 202);
    let (status, _, _) = w.post(Some(&token), note).await;
    assert_eq!(
        status, 400,
        "after initialize, every message carries the session"
    );
    let (_, pong) = w.rpc(&token, "ping", json!({})).await;
    assert_eq!(pong["result"], json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_decisions_and_upstream_failures() {
    let w = World::start().await;
    let token = w.token(&w.reader, "acme");
    w.rpc(
        &token,
        "tools/call",
        json!({"name": "files_echo", "arguments": {"text": "a"}}),
    )
    .await;
    w.rpc(
        &token,
        "tools/call",
        json!({"name": "files_echo", "arguments": {"text": "b"}}),
    )
    .await;
    w.rpc(
        &token,
        "tools/call",
        json!({"name": "files_secret", "arguments": {}}),
    )
    .await;
    w.rpc(
        &token,
        "tools/call",
        json!({"name": "down_gone", "arguments": {}}),
    )
    .await;
    let m = w.metrics();
    assert!(m.contains(r#"portcullis_gateway_requests_total{decision="allow",method="tools/call",tool="files_echo"} 2"#), "{m}");
    assert!(m.contains(r#"portcullis_gateway_requests_total{decision="deny",method="tools/call",tool="files_secret"} 1"#), "{m}");
    assert!(
        m.contains(r#"portcullis_gateway_upstream_errors_total{kind="connect",upstream="down"} 1"#),
        "{m}"
    );
    assert!(
        m.contains("portcullis_gateway_sessions_opened_total 1"),
        "{m}"
    );
    assert!(m.contains("portcullis_decision_cache_misses_total"), "{m}");
    assert!(m.contains("portcullis_decision_cache_entries "), "{m}");
    assert!(
        m.contains("portcullis_gateway_upstream_seconds_count{upstream=\"files\"} 2"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_is_audited_without_argument_values_or_tokens() {
    let w = World::start().await;
    let token = w.token(&w.reader, "acme");
    let args = json!({"text": "very-secret-value"});
    w.rpc(
        &token,
        "tools/call",
        json!({"name": "files_echo", "arguments": args}),
    )
    .await;
    w.rpc(
        &token,
        "tools/call",
        json!({"name": "files_secret", "arguments": {}}),
    )
    .await;
    // initialize + two calls
    let events = w.audit(3).await;
    let call = events
        .iter()
        .find(|e| e.tool.as_deref() == Some("files_echo"))
        .expect("the allowed call");
    assert_eq!(call.decision.as_deref(), Some("allow"));
    assert_eq!(call.policies, vec!["tool-grant".to_owned()]);
    assert_eq!(
        (call.tenant.as_deref(), call.principal.as_deref()),
        (Some("acme"), Some(w.reader.as_str()))
    );
    assert_eq!(
        (call.status, call.upstream.as_deref(), call.upstream_status),
        (200, Some("files"), Some(200))
    );
    use sha2::Digest;
    let expected: String = sha2::Sha256::digest(br#"{"text":"very-secret-value"}"#)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(call.arguments_sha256.as_deref(), Some(expected.as_str()));
    let denied = events
        .iter()
        .find(|e| e.tool.as_deref() == Some("files_secret"))
        .expect("the denied call");
    assert_eq!(denied.decision.as_deref(), Some("deny"));
    let text = w.audit_text();
    assert!(
        !text.contains("very-secret-value"),
        "argument values are never audited"
    );
    assert!(!text.contains(&token), "tokens are never audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rest_face_enforces_the_same_rules() {
    let w = World::start().await;
    let token = w.token(&w.reader, "acme");
    let base = w.url.clone();
    let list: serde_json::Value = w
        .http
        .get(format!("{base}/tools"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["crm_echo", "down_gone", "files_echo", "files_slow"]
    );
    let call = |tool: &str, body: serde_json::Value| {
        w.http
            .post(format!("{base}/tools/{tool}/call"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let ok = call("files_echo", json!({"text": "rest"})).await.unwrap();
    assert_eq!(ok.status(), 200);
    let result: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(result["isError"], false, "{result}");
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("rest")
    );
    assert_eq!(
        call("files_secret", json!({})).await.unwrap().status(),
        404,
        "denied looks unknown"
    );
    assert_eq!(
        call("files_nothing", json!({})).await.unwrap().status(),
        404
    );
    let invalid = call("files_echo", json!({"text": 1})).await.unwrap();
    assert_eq!(invalid.status(), 422);
    assert!(invalid.text().await.unwrap().contains("argument `text`"));
    assert_eq!(call("files_echo", json!([1])).await.unwrap().status(), 400);
    assert_eq!(call("down_gone", json!({})).await.unwrap().status(), 502);
    let anonymous = w.http.get(format!("{base}/tools")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(w.seen.calls("echo"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_browser_origins_are_refused() {
    let w = World::start().await;
    let token = w.token(&w.reader, "acme");
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})
        .to_string()
        .into_bytes();
    let (status, _, body) = w
        .post_to(
            &w.url,
            Some(&token),
            None,
            &[("origin", "http://evil.example")],
            list.clone(),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("evil.example"));
    let (status, _, _) = w
        .post_to(
            &w.url,
            Some(&token),
            None,
            &[("origin", "http://localhost:3000")],
            list.clone(),
        )
        .await;
    assert_ne!(status, 403, "a loopback origin passes");
    let (status, _, _) = w
        .post_to(
            &w.url,
            Some(&token),
            None,
            &[("origin", "http://localhost.evil.example")],
            list,
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_reach_the_store_audit_log_and_last_used() {
    let w = World::start().await;
    let token = w.token(&w.reader, "acme");
    w.rpc(
        &token,
        "tools/call",
        json!({"name": "files_echo", "arguments": {"text": "kept"}}),
    )
    .await;
    let id = uuid::Uuid::parse_str(&w.reader).unwrap();
    let mut found = None;
    for _ in 0..100 {
        let records = w.store.audit("acme", 10).await.unwrap();
        let used = w
            .store
            .get_nhi("acme", id)
            .await
            .unwrap()
            .unwrap()
            .common()
            .last_used_at;
        if let (Some(r), Some(used)) = (
            records.iter().find(|r| r.event()["tool"] == "files_echo"),
            used,
        ) {
            found = Some((r.clone(), used));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (record, used) = found.expect("an audit record and a last-used time within 5 s");
    assert_eq!(record.event()["decision"], "allow");
    assert_eq!(record.event()["principal"], json!(w.reader));
    assert!(
        !record.event.get().contains("kept"),
        "no argument values in the store either"
    );
    assert!(
        (time::OffsetDateTime::now_utc() - used)
            .whole_seconds()
            .abs()
            < 60
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_policy_reload_shows_in_the_metrics_and_the_old_set_serves() {
    let w = World::start().await;
    let token = w.token(&w.reader, "acme");
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join("p.cedar"), "permit (principal,").unwrap();
    assert!(w.engine().reload(broken.path()).is_err());
    let metrics = w.metrics();
    assert!(
        metrics.contains("portcullis_policy_reload_failures_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("portcullis_policy_reload_failing 1"),
        "{metrics}"
    );
    let (_, body) = w
        .rpc(
            &token,
            "tools/call",
            json!({"name": "files_echo", "arguments": {"text": "still"}}),
        )
        .await;
    assert!(
        body.get("result").is_some(),
        "the previous set still decides: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_garbage_resets_and_endless_streams_are_errors_in_time() {
    let w = World::start().await;
    let token = w.token(&w.reader, "acme");
    // The REST face reads the whole answer; MCP relays a stream event by event. The request
    // timeout is 1.5 s: every fault is answered within it (and a margin), and never re-sent.
    for (fault, status, expect) in [
        ("garbage", 502, "answered badly"),
        ("reset", 502, "upstream `files`"),
        ("endless", 504, "in time"),
    ] {
        let before = w.seen.calls("slow");
        let start = Instant::now();
        let resp = w
            .http
            .post(format!("{}/tools/files_slow/call", w.url))
            .bearer_auth(&token)
            .timeout(Duration::from_secs(10))
            .json(&json!({"fault": fault}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status, "{fault}");
        let body: Value = resp.json().await.unwrap();
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(expect), "{fault}: {message}");
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "{fault}: {:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(w.seen.calls("slow"), before + 1, "{fault}: never re-sent");
    }
    // On MCP the endless stream is relayed until the timeout, then ends with an error.
    let start = Instant::now();
    let call = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "files_slow", "arguments": {"fault": "endless"}}});
    let text = w
        .http
        .post(&w.url)
        .bearer_auth(&token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "files_slow")
        .timeout(Duration::from_secs(10))
        .json(&call)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(events.len() > 3, "progress relayed as it came: {text}");
    let last = events.last().unwrap();
    assert_eq!(last["id"], 9);
    assert_eq!(last["error"]["code"], -32011, "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("in time")
    );
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
}

/// The data plane runs on its own runtime: with the caller's only thread blocked, the
/// gateway still answers (here a call without a token, which needs no upstream).
#[tokio::test(flavor = "current_thread")]
async fn the_data_plane_answers_while_the_callers_runtime_is_blocked() {
    use std::io::{Read as _, Write as _};
    let w = World::start().await;
    let addr = w
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    // Joined from this runtime's only thread: nothing else runs on it meanwhile.
    let status = std::thread::spawn(move || {
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        conn.write_all(
            b"POST /mcp HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n\
              Content-Length: 2\r\nConnection: close\r\n\r\n{}",
        )
        .unwrap();
        let mut head = [0u8; 12];
        conn.read_exact(&mut head).unwrap();
        String::from_utf8_lossy(&head).into_owned()
    })
    .join()
    .unwrap();
    assert_eq!(status, "HTTP/1.1 401", "{status}");
}
