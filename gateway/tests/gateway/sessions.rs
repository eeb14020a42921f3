//! MCP sessions: bound to the caller, portable across replicas, re-established upstream.

use serde_json::{Value, json};

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
    let other = w.token(&w.writer, "acme");
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
    let m = w.metrics();
    assert!(m.contains("portcullis_gateway_ended_sessions 1"), "{m}");
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
    // No stream and no session to end in this era.
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let resp = w
            .http
            .request(method.clone(), &w.url)
            .bearer_auth(&reader)
            .header(era.0, era.1)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405, "{method}");
        assert_eq!(resp.headers().get("allow").unwrap(), "POST");
    }
}

/// The JSON-RPC messages of an SSE body.
pub(crate) fn events(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).expect("each event is JSON"))
        .collect()
}

/// The ids of the requests for `method` in an SSE body.
fn requests_in(body: &str, method: &str) -> Vec<Value> {
    events(body)
        .into_iter()
        .filter(|m| m["method"] == method)
        .map(|m| m["id"].clone())
        .collect()
}

/// Calls `tool` in `session` with the client id `id`; returns the SSE body.
async fn call_streamed(w: &World, token: &str, session: &str, id: u64, tool: &str) -> String {
    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": {}}});
    let resp = w
        .http
        .post(&w.url)
        .bearer_auth(token)
        .header("mcp-session-id", session)
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
    resp.text().await.unwrap()
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

    // Both upstreams ask the client something during a call, each as `srv-1`.
    let files = call_streamed(&w, &reader, &session, 9, "files_ask").await;
    let crm = call_streamed(&w, &reader, &session, 10, "crm_ask").await;
    let (files_asks, crm_asks) = (
        requests_in(&files, "sampling/createMessage"),
        requests_in(&crm, "sampling/createMessage"),
    );
    assert_eq!((files_asks.len(), crm_asks.len()), (1, 1), "{files}\n{crm}");
    assert_ne!(files_asks[0], crm_asks[0], "gateway ids never collide");
    assert!(!files.contains("srv-1") && !crm.contains("srv-1"));
    // Each answer ends with the client's own id.
    let last = |body: &str| events(body).last().cloned().unwrap();
    assert_eq!(last(&files)["id"], 9, "{files}");
    assert_eq!(last(&crm)["id"], 10, "{crm}");

    let answer = |id: &Value, text: &str| {
        json!({"jsonrpc": "2.0", "id": id, "result": {"role": "assistant", "content": {"type": "text", "text": text}, "model": "m"}, "extra": "dropped"})
            .to_string()
            .into_bytes()
    };
    for (id, text) in [(&crm_asks[0], "to crm"), (&files_asks[0], "to files")] {
        let (status, _, body) = w
            .post_to(&w.url, Some(&reader), Some(&session), &[], answer(id, text))
            .await;
        assert_eq!(status, 202, "{body}");
    }
    for (seen, text) in [(&w.seen, "to files"), (&w.crm, "to crm")] {
        let answers: Vec<(String, Value)> = seen
            .messages
            .lock()
            .iter()
            .filter(|(_, m)| m.get("method").is_none() && m.get("result").is_some())
            .cloned()
            .collect();
        assert_eq!(answers.len(), 1, "one answer each: {answers:?}");
        let (upstream_session, message) = &answers[0];
        assert_eq!(
            message,
            &json!({"jsonrpc": "2.0", "id": "srv-1", "result": {"role": "assistant", "content": {"type": "text", "text": text}, "model": "m"}}),
            "re-serialized under the upstream's own id, unknown members dropped"
        );
        assert!(upstream_session.starts_with("s-"));
    }
    // An answer is relayed once: the same again, or one nobody asked for, is refused.
    for id in [&files_asks[0], &json!("never-asked"), &json!("srv-1")] {
        let (status, _, body) = w
            .post_to(&w.url, Some(&reader), Some(&session), &[], answer(id, "x"))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_i64()),
            (400, Some(-32600)),
            "{body}"
        );
    }
    // Another principal's session cannot answer this session's requests.
    let writer = w.token(&w.writer, "acme");
    let theirs = w.initialize(&w.url, &writer).await;
    let again = call_streamed(&w, &reader, &session, 11, "files_ask").await;
    let ask = &requests_in(&again, "sampling/createMessage")[0];
    let (status, _, _) = w
        .post_to(&w.url, Some(&writer), Some(&theirs), &[], answer(ask, "x"))
        .await;
    assert_eq!(status, 400);
    let answered = |seen: &crate::upstream::Seen| {
        seen.messages
            .lock()
            .iter()
            .filter(|(_, m)| m.get("result").is_some())
            .count()
    };
    assert_eq!(answered(&w.seen), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cancels_a_call_in_flight_by_its_own_id() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    let session = w.initialize(&w.url, &reader).await;
    let slow = {
        let (w_url, http, reader, session) = (
            w.url.clone(),
            w.http.clone(),
            reader.clone(),
            session.clone(),
        );
        tokio::spawn(async move {
            let call = json!({"jsonrpc": "2.0", "id": 42, "method": "tools/call", "params": {"name": "files_slow", "arguments": {"ms": 1200}}});
            http.post(&w_url)
                .bearer_auth(&reader)
                .header("mcp-session-id", &session)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .body(call.to_string())
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        })
    };
    // Wait until the call is upstream, then cancel it by the client's id.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let gateway_id = loop {
        if let Some((_, call)) = w.seen.received("tools/call").last() {
            break call["id"].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the call never arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_ne!(
        gateway_id,
        json!(42),
        "the upstream never sees the client's id"
    );
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 42, "reason": "changed my mind"}});
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
    let cancels = w.seen.received("notifications/cancelled");
    assert_eq!(cancels.len(), 1, "{cancels:?}");
    assert_eq!(
        cancels[0].1["params"],
        json!({"requestId": gateway_id, "reason": "changed my mind"})
    );
    assert!(
        w.crm.received("notifications/cancelled").is_empty(),
        "only the upstream running it"
    );
    let answer = slow.await.unwrap();
    assert!(answer.contains("\"id\":42"), "{answer}");
    // Once the call is over, its id cancels nothing.
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
    assert_eq!(w.seen.received("notifications/cancelled").len(), 1);
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
    assert!(body.contains("hello from the upstream"), "{body}");
    // Both upstreams asked `roots/list` as `srv-get-1`; the client sees two gateway ids.
    let asked = requests_in(&body, "roots/list");
    assert_eq!(asked.len(), 2, "{body}");
    assert_ne!(asked[0], asked[1]);
    assert!(
        !body.contains("srv-get-1"),
        "upstream ids stay inside: {body}"
    );
    let answered = |w: &World| {
        [&w.seen, &w.crm].map(|seen| {
            seen.answers
                .lock()
                .iter()
                .filter(|(id, _)| id == &json!("srv-get-1"))
                .count()
        })
    };
    for (n, id) in asked.iter().enumerate() {
        let answer = json!({"jsonrpc": "2.0", "id": id, "result": {"roots": []}});
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
        let [files, crm] = answered(&w);
        assert_eq!(
            files + crm,
            n + 1,
            "each answer reaches one upstream, under its own id"
        );
    }
    assert_eq!(answered(&w), [1, 1], "each upstream got its own answer");
    let other = w.token(&w.writer, "acme");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_at_one_gateway_is_ended_at_every_gateway() {
    for redis in [false, true] {
        let w = World::start_with(crate::harness::Setup {
            redis,
            ..crate::harness::Setup::default()
        })
        .await;
        let reader = w.token(&w.reader, "acme");
        let session = w.initialize(&w.url, &reader).await;
        // Sealed with the shared key: the other gateway serves it.
        let (status, _) = w
            .rpc_in(&w.replica_url, &reader, &session, "tools/list", json!({}))
            .await;
        assert_eq!(status, 200);
        let resp = w
            .http
            .delete(&w.url)
            .bearer_auth(&reader)
            .header("mcp-session-id", &session)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
        // The other gateway hears of it through the store within a second.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        loop {
            let (status, _) = w
                .rpc_in(&w.replica_url, &reader, &session, "tools/list", json!({}))
                .await;
            if status == 404 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still {status} on the other gateway (redis: {redis})"
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
}
