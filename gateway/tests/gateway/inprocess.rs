//! The in-process call `cargo bench -p portcullis-gateway` measures does the work a real
//! call does: it forwards what was decided, re-addressed, and refuses what a call would.

use std::sync::Mutex;

use serde_json::{Value, json};

use crate::harness::World;

fn body(name: &str, arguments: &Value) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"jsonrpc": "2.0", "id": "c-1", "method": "tools/call",
        "params": {"name": name, "arguments": arguments}}),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_process_call_forwards_what_was_decided_and_refuses_what_a_call_would() {
    let w = World::start().await;
    let gateway = w.gateway();
    let bearer = format!("Bearer {}", w.token(&w.reader, "acme"));
    let session = gateway.seal_session("acme", &w.reader).unwrap();
    let sent = Mutex::new(Vec::new());
    let answer = |gid: &Value, request: &[u8]| {
        sent.lock().unwrap().push(request.to_vec());
        serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": gid,
            "result": {"content": [{"type": "text", "text": "hi"}], "isError": false}}))
        .unwrap()
    };

    let reply = gateway
        .call_in_process(
            &bearer,
            &session,
            &body("files_echo", &json!({"text": "hi"})),
            answer,
        )
        .await
        .unwrap();
    let reply: Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(
        reply["id"],
        json!("c-1"),
        "answered under the client's id: {reply}"
    );
    assert_eq!(reply["result"]["content"][0]["text"], json!("hi"));
    let upstream: Value = serde_json::from_slice(&sent.lock().unwrap()[0]).unwrap();
    assert_eq!(upstream["method"], json!("tools/call"));
    assert_eq!(
        upstream["params"],
        json!({"name": "echo", "arguments": {"text": "hi"}})
    );
    assert!(
        upstream["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("pc-")),
        "under a gateway id: {upstream}"
    );

    // Refused as a call would be, before anything is sent upstream.
    let refusals = [
        (
            format!("Bearer {}", w.token(&w.outsider, "globex")),
            "files_echo",
            json!({"text": "hi"}),
        ),
        (bearer.clone(), "files_echo", json!({"text": 5})),
        (bearer.clone(), "files_secret", json!({})),
        (
            bearer.clone(),
            "files_echo",
            json!({"text": "hi", "Text": "ho"}),
        ),
    ];
    for (authorization, tool, arguments) in &refusals {
        let refused = gateway
            .call_in_process(authorization, &session, &body(tool, arguments), answer)
            .await;
        assert!(refused.is_err(), "{tool} {arguments} was not refused");
    }
    assert_eq!(
        sent.lock().unwrap().len(),
        1,
        "nothing refused went upstream"
    );

    // An upstream answer to another request is not passed on.
    let wrong = gateway
        .call_in_process(
            &bearer,
            &session,
            &body("files_echo", &json!({"text": "hi"})),
            |_, _| br#"{"jsonrpc":"2.0","id":"pc-other","result":{}}"#.to_vec(),
        )
        .await
        .unwrap_err();
    assert!(wrong.contains("another request"), "{wrong}");
}
