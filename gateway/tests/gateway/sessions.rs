//! MCP sessions: bound to the caller, portable across replicas, re-established upstream.

use serde_json::json;

use crate::harness::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_need_the_callers_own_live_session() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        .to_string()
        .into_bytes();
    let (status, _, body) = w
        .post_to(&w.url, Some(&reader), None, &[], list.clone())
        .await;
    assert_eq!(status, 400, "no session: {body}");
    assert!(body["message"].as_str().unwrap().contains("Mcp-Session-Id"));
    let (status, _, _) = w
        .post_to(&w.url, Some(&reader), Some("made-up"), &[], list.clone())
        .await;
    assert_eq!(status, 404, "unknown session");

    let session = w.initialize(&w.url, &reader).await;
    let (status, _, _) = w
        .post_to(&w.url, Some(&reader), Some(&session), &[], list.clone())
        .await;
    assert_eq!(status, 200);
    // The same session id with another principal's token is unknown to them.
    let other = w.token(&w.benched, "acme");
    let (status, _, _) = w
        .post_to(&w.url, Some(&other), Some(&session), &[], list)
        .await;
    assert_eq!(status, 404, "a session is bound to its principal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_moves_to_another_replica() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    let session = w.initialize(&w.url, &reader).await;
    let (status, body) = w
        .rpc_in(
            &w.replica_url,
            &reader,
            &session,
            "tools/call",
            json!({"name": "files_echo", "arguments": {"text": "hop"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["isError"], false, "{body}");
    assert_eq!(w.seen.calls("echo"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_upstream_session_is_reopened_and_the_call_runs_once() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    let (_, first) = w
        .rpc(
            &reader,
            "tools/call",
            json!({"name": "files_echo", "arguments": {"text": "one"}}),
        )
        .await;
    assert_eq!(first["result"]["isError"], false, "{first}");
    let opened = w.seen.sessions_opened();
    w.seen.forget_sessions();
    let (status, second) = w
        .rpc(
            &reader,
            "tools/call",
            json!({"name": "files_echo", "arguments": {"text": "two"}}),
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["result"]["isError"], false, "{second}");
    assert_eq!(
        w.seen.sessions_opened(),
        opened + 1,
        "one new upstream session"
    );
    assert_eq!(w.seen.calls("echo"), 2, "each call ran exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_ends_the_session_upstream_too() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    let session = w.initialize(&w.url, &reader).await;
    let resp = w
        .http
        .delete(&w.url)
        .bearer_auth(&reader)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(
        !w.seen.deleted.lock().is_empty(),
        "the upstream session was closed"
    );
    let resp = w
        .http
        .get(&w.url)
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "a stream needs a session");
    let resp = w
        .http
        .get(&w.url)
        .bearer_auth(&reader)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        404,
        "the ended session is gone upstream: no stream is offered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stateless_era_checks_headers_against_the_body() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    let call = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "files_echo", "arguments": {"text": "x"}, "_meta": {"protocolVersion": "2026-07-28"}}}).to_string().into_bytes();
    let era = ("mcp-protocol-version", "2026-07-28");
    let (status, _, body) = w
        .post_to(
            &w.url,
            Some(&reader),
            None,
            &[
                era,
                ("mcp-method", "tools/call"),
                ("mcp-name", "files_echo"),
            ],
            call.clone(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["isError"], false, "{body}");
    let (status, _, body) = w
        .post_to(
            &w.url,
            Some(&reader),
            None,
            &[
                era,
                ("mcp-method", "tools/call"),
                ("mcp-name", "files_secret"),
            ],
            call.clone(),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32020)),
        "a header naming another tool"
    );
    let (status, _, body) = w
        .post_to(
            &w.url,
            Some(&reader),
            None,
            &[era, ("mcp-method", "tools/list")],
            call.clone(),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32020))
    );
    let list = json!({"jsonrpc": "2.0", "id": 6, "method": "tools/list", "params": {"_meta": {"protocolVersion": "2026-07-28"}}}).to_string().into_bytes();
    let (status, _, body) = w
        .post_to(
            &w.url,
            Some(&reader),
            None,
            &[era, ("mcp-method", "tools/list")],
            list,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["result"]["cacheScope"].as_str(),
            body["result"]["ttlMs"].as_u64()
        ),
        (Some("private"), Some(30_000)),
        "a policy-filtered list is private"
    );
    let (status, _, body) = w
        .post_to(
            &w.url,
            Some(&reader),
            None,
            &[("mcp-protocol-version", "1999-01-01")],
            call,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32022))
    );
    assert!(
        body["error"]["data"]["supported"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-07-28"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_to_client_requests_and_client_messages_reach_the_right_upstream() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {"sampling": {}}, "clientInfo": {"name": "t", "version": "1"}}});
    let (_, headers, _) = w
        .post_to(
            &w.url,
            Some(&reader),
            None,
            &[],
            init.to_string().into_bytes(),
        )
        .await;
    let session = headers
        .get("mcp-session-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        w.seen
            .capabilities
            .lock()
            .iter()
            .any(|c| c.get("sampling").is_some()),
        "the client's capabilities reach the upstream"
    );

    let call = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "files_ask", "arguments": {}}});
    let resp = w
        .http
        .post(&w.url)
        .bearer_auth(&reader)
        .header("mcp-session-id", &session)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(call.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "text/event-stream"
    );
    let stream = resp.text().await.unwrap();
    assert!(
        stream.contains("sampling/createMessage") && stream.contains("asked"),
        "{stream}"
    );

    let answer = json!({"jsonrpc": "2.0", "id": "srv-1", "result": {"role": "assistant", "content": {"type": "text", "text": "hi"}, "model": "m"}});
    let (status, _, _) = w
        .post_to(
            &w.url,
            Some(&reader),
            Some(&session),
            &[],
            answer.to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 202);
    let answers = w.seen.answers.lock().clone();
    assert_eq!(
        answers.len(),
        1,
        "the answer went to the upstream that asked, once"
    );
    assert_eq!(answers[0].0, json!("srv-1"));
    assert!(
        answers[0].1.starts_with("s-"),
        "with this session's upstream session id"
    );

    let cancel =
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}});
    let (status, _, _) = w
        .post_to(
            &w.url,
            Some(&reader),
            Some(&session),
            &[],
            cancel.to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 202);
    assert!(
        w.seen
            .notifications
            .lock()
            .contains(&"notifications/cancelled".to_owned())
    );
    // An answer nobody asked for goes nowhere.
    let stray = json!({"jsonrpc": "2.0", "id": "never-asked", "result": {}});
    let (status, _, _) = w
        .post_to(
            &w.url,
            Some(&reader),
            Some(&session),
            &[],
            stray.to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(w.seen.answers.lock().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_get_stream_merges_upstream_streams_and_routes_answers_back() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    let session = w.initialize(&w.url, &reader).await;
    let resp = w
        .http
        .get(&w.url)
        .bearer_auth(&reader)
        .header("mcp-session-id", &session)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "text/event-stream"
    );
    let body = tokio::time::timeout(std::time::Duration::from_secs(10), resp.text())
        .await
        .expect("the stream ends with the upstream's")
        .unwrap();
    assert!(
        body.contains("hello from the upstream") && body.contains("srv-get-1"),
        "{body}"
    );
    let answer = json!({"jsonrpc": "2.0", "id": "srv-get-1", "result": {"roots": []}});
    let (status, _, _) = w
        .post_to(
            &w.url,
            Some(&reader),
            Some(&session),
            &[],
            answer.to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 202);
    assert!(
        w.seen
            .answers
            .lock()
            .iter()
            .any(|(id, _)| id == &json!("srv-get-1")),
        "the answer reached the upstream that asked"
    );
    let other = w.token(&w.benched, "acme");
    let resp = w
        .http
        .get(&w.url)
        .bearer_auth(&other)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404, "not their session");
}
