//! What a hostile caller tries: calls without ids, smuggled keys, shared upstream sessions,
//! minted metric labels, a policy set without its baseline.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::harness::{Setup, World};

/// The tools/call messages the upstream received after the first `from` of them.
fn calls_since(w: &World, from: usize) -> Vec<(String, Value)> {
    w.seen
        .received("tools/call")
        .into_iter()
        .skip(from)
        .collect()
}

const STATELESS: [(&str, &str); 1] = [("mcp-protocol-version", "2026-07-28")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_an_id_is_refused_and_never_forwarded() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    let session = w.initialize(&w.url, &reader).await;
    // The same body as a denied call, minus its id: once it reached the upstream undecided.
    for method in ["tools/call", "ping", "initialize"] {
        let body = json!({"jsonrpc": "2.0", "method": method, "params": {"name": "files_secret", "arguments": {}}});
        let (status, _, reply) = w
            .post_to(
                &w.url,
                Some(&reader),
                Some(&session),
                &[],
                body.to_string().into_bytes(),
            )
            .await;
        assert_eq!(
            (status, reply["error"]["code"].as_i64()),
            (400, Some(-32600)),
            "{reply}"
        );
        assert!(
            reply["error"]["message"]
                .as_str()
                .unwrap()
                .contains("only `notifications/`"),
            "{reply}"
        );
    }
    // The stateless era refuses it the same way.
    let body =
        json!({"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "files_secret"}});
    let (status, _, reply) = w
        .post_to(
            &w.url,
            Some(&reader),
            None,
            &[
                STATELESS[0],
                ("mcp-method", "tools/call"),
                ("mcp-name", "files_secret"),
            ],
            body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(
        (status, reply["error"]["code"].as_i64()),
        (400, Some(-32600)),
        "{reply}"
    );
    for seen in [&w.seen, &w.crm] {
        let methods: Vec<Value> = seen
            .messages
            .lock()
            .iter()
            .map(|(_, m)| m["method"].clone())
            .collect();
        assert!(
            !methods.contains(&json!("tools/call")) && !methods.contains(&json!("ping")),
            "nothing undecided went upstream: {methods:?}"
        );
    }
    assert_eq!(w.seen.calls("secret"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_re_serialized_and_stay_in_their_session() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    let writer = w.token(&w.writer, "acme");
    let mine = w.initialize(&w.url, &reader).await;
    // The upstream session opened for this client session: the one that got `initialized`.
    let upstream_session = |seen: &crate::upstream::Seen| {
        seen.received("notifications/initialized")
            .last()
            .unwrap()
            .0
            .clone()
    };
    let (files_mine, crm_mine) = (upstream_session(&w.seen), upstream_session(&w.crm));
    let _theirs = w.initialize(&w.url, &writer).await;
    assert_ne!(
        upstream_session(&w.seen),
        files_mine,
        "one upstream session each"
    );
    let note = json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed", "params": {"why": "moved"}, "smuggled": {"method": "tools/call"}});
    let (status, _, _) = w
        .post_to(
            &w.url,
            Some(&reader),
            Some(&mine),
            &[],
            note.to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 202);
    for (seen, expected) in [(&w.seen, &files_mine), (&w.crm, &crm_mine)] {
        let got = seen.received("notifications/roots/list_changed");
        assert_eq!(
            got.len(),
            1,
            "once, to this session's upstream session: {got:?}"
        );
        assert_eq!(&got[0].0, expected);
        assert_eq!(
            got[0].1,
            json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed", "params": {"why": "moved"}}),
            "re-serialized, unknown members dropped"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_equal_ignoring_case_are_refused_and_only_decided_params_go_upstream() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    for params in [
        r#"{"name": "files_echo", "arguments": {"text": "a", "Text": "b"}}"#,
        r#"{"name": "files_echo", "Name": "files_secret", "arguments": {"text": "a"}}"#,
        r#"{"name": "files_echo", "name": "files_secret", "arguments": {"text": "a"}}"#,
        r#"{"name": "files_echo", "arguments": {"text": "a", "opts": {"MASSE": 1, "Maße": 2}}}"#,
    ] {
        let body =
            format!(r#"{{"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {params}}}"#);
        let session = w.initialize(&w.url, &reader).await;
        let (status, _, reply) = w
            .post_to(
                &w.url,
                Some(&reader),
                Some(&session),
                &[],
                body.into_bytes(),
            )
            .await;
        assert_eq!(
            (status, reply["error"]["code"].as_i64()),
            (200, Some(-32602)),
            "{params}: {reply}"
        );
        assert!(
            reply["error"]["message"]
                .as_str()
                .unwrap()
                .contains("refused"),
            "{reply}"
        );
    }
    assert!(
        w.seen.received("tools/call").is_empty(),
        "none reached the upstream"
    );
    // The REST face reads its body as strictly.
    let rest = w
        .http
        .post(format!("{}/tools/files_echo/call", w.url))
        .bearer_auth(&reader)
        .header("content-type", "application/json")
        .body(r#"{"text": "a", "TEXT": "b"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 400);
    assert!(w.seen.received("tools/call").is_empty());

    // A call with members MCP does not define: only name, arguments and _meta go upstream.
    let (status, reply) = w
        .rpc(
            &reader,
            "tools/call",
            json!({"name": "files_echo", "arguments": {"text": "a"}, "_meta": {"progressToken": "p"}, "task": {"ttl": 5}, "Extra": true}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let calls = w.seen.received("tools/call");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].1["params"],
        json!({"name": "echo", "arguments": {"text": "a"}, "_meta": {"progressToken": "p"}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_sessions_and_ids_are_never_shared() {
    let w = World::start().await;
    let principals = [(w.reader.clone(), "reader"), (w.writer.clone(), "writer")];
    let mut sessions_of: HashMap<&str, HashSet<String>> = HashMap::new();
    for round in 0..2 {
        for (id, who) in &principals {
            let token = w.token(id, "acme");
            // The 2026-07-28 era: no client session.
            let before = w.seen.received("tools/call").len();
            let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "files_echo", "arguments": {"text": format!("{who} {round}")}}});
            let (status, _, reply) = w
                .post_to(
                    &w.url,
                    Some(&token),
                    None,
                    &[
                        STATELESS[0],
                        ("mcp-method", "tools/call"),
                        ("mcp-name", "files_echo"),
                    ],
                    call.to_string().into_bytes(),
                )
                .await;
            assert_eq!(status, 200, "{reply}");
            assert_eq!(reply["id"], 1, "the client's id comes back");
            // The REST face, which has no ids of its own.
            let rest = w
                .http
                .post(format!("{}/tools/files_echo/call", w.url))
                .bearer_auth(&token)
                .json(&json!({"text": "rest"}))
                .send()
                .await
                .unwrap();
            assert_eq!(rest.status(), 200);
            for (session, _) in calls_since(&w, before) {
                sessions_of.entry(who).or_default().insert(session);
            }
        }
    }
    let (readers, writers) = (&sessions_of["reader"], &sessions_of["writer"]);
    assert!(
        readers.is_disjoint(writers),
        "no upstream session serves two principals: {readers:?} {writers:?}"
    );
    assert_eq!(
        (readers.len(), writers.len()),
        (1, 1),
        "each principal keeps its own session"
    );
    // Ids: every request the upstream saw has one no other request of its session had.
    let mut seen_ids = HashSet::new();
    for (session, message) in w.seen.messages.lock().iter() {
        if let Some(id) = message.get("id") {
            assert!(
                seen_ids.insert((session.clone(), id.to_string())),
                "id {id} reused in session {session}"
            );
            assert_ne!(id, &json!(1), "client ids never go upstream");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_chosen_names_never_become_labels() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    let marker = "zq7-made-up";
    let (_, reply) = w.rpc(&reader, &format!("x/{marker}"), json!({})).await;
    assert_eq!(reply["error"]["code"], -32601, "{reply}");
    let (_, reply) = w
        .rpc(
            &reader,
            "tools/call",
            json!({"name": format!("files_{marker}"), "arguments": {}}),
        )
        .await;
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    // Counted by the logging hook, just after the answer was sent.
    let mut metrics = w.metrics();
    for _ in 0..100 {
        if metrics.contains(r#"tool="unknown""#) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        metrics = w.metrics();
    }
    assert!(!metrics.contains(marker), "{metrics}");
    assert!(metrics.contains(r#"method="unknown""#), "{metrics}");
    assert!(metrics.contains(r#"tool="unknown""#), "{metrics}");
    // Names are bounded before they reach a map, a log or the audit.
    let (status, reply) = w.rpc(&reader, &"m".repeat(129), json!({})).await;
    assert_eq!(
        (status, reply["error"]["code"].as_i64()),
        (400, Some(-32600)),
        "{reply}"
    );
    let (_, reply) = w
        .rpc(
            &reader,
            "tools/call",
            json!({"name": "t".repeat(257), "arguments": {}}),
        )
        .await;
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    let events = w.audit(5).await;
    assert!(
        events
            .iter()
            .all(|e| e.method.as_ref().is_none_or(|m| m.len() <= 128))
    );
    assert!(
        events
            .iter()
            .all(|e| e.tool.as_ref().is_none_or(|t| t.len() <= 256))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_set_without_its_baseline_opens_nothing() {
    // Only the schema and one policy that permits everything: no tenant isolation and no
    // lifecycle rule in Cedar. The checks made in code still hold.
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    std::fs::copy(
        shipped.join("portcullis.cedarschema"),
        dir.path().join("portcullis.cedarschema"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("open.cedar"),
        "@id(\"everything\")\npermit (principal, action, resource);\n",
    )
    .unwrap();
    let w = World::start_with(Setup {
        policies: Some(dir.path().to_owned()),
        ..Setup::default()
    })
    .await;
    let call = |tool: &str| {
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {"text": "x"}}})
            .to_string()
            .into_bytes()
    };
    // The open set does open what policy governs: a tool that was never granted.
    let reader = w.token(&w.reader, "acme");
    let (status, reply) = w
        .rpc(
            &reader,
            "tools/call",
            json!({"name": "files_secret", "arguments": {}}),
        )
        .await;
    assert_eq!(
        (status, reply["result"]["isError"].as_bool()),
        (200, Some(false)),
        "{reply}"
    );
    // But a suspended agent does not act, and no token reaches into another tenant.
    let (status, _, _) = w
        .post(Some(&w.token(&w.benched, "acme")), call("files_echo"))
        .await;
    assert_eq!(status, 403, "a suspended principal");
    let (status, _, _) = w
        .post(Some(&w.token(&w.reader, "globex")), call("files_echo"))
        .await;
    assert_eq!(status, 403, "a principal of another tenant");
    let outsider = w.token(&w.outsider, "globex");
    let (status, reply) = w
        .rpc(
            &outsider,
            "tools/call",
            json!({"name": "files_echo", "arguments": {"text": "x"}}),
        )
        .await;
    assert_eq!(
        (status, reply["error"]["code"].as_i64()),
        (200, Some(-32602)),
        "another tenant's tool is unknown: {reply}"
    );
    assert_eq!(w.seen.calls("echo"), 0);
}
