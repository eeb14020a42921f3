use serde_json::json;

use super::*;

#[test]
fn requests_notifications_and_responses() {
    let r = parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).unwrap();
    assert_eq!(
        r,
        Body::Single(Message::Request {
            id: json!(1),
            method: "tools/list".into(),
            params: None
        })
    );
    let n = parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
    assert!(matches!(n, Body::Single(Message::Notification { .. })));
    let resp = parse(br#"{"jsonrpc":"2.0","id":"s-1","result":{}}"#).unwrap();
    assert_eq!(resp, Body::Single(Message::Response { id: json!("s-1") }));
    let batch = parse(br#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"}]"#)
        .unwrap();
    assert!(matches!(batch, Body::Batch(ref v) if v.len() == 2));
}

#[test]
fn malformed_bodies_name_the_problem() {
    assert_eq!(parse(b"{not json").unwrap_err().code, PARSE_ERROR);
    let e = parse(br#"{"jsonrpc":"1.0","id":7,"method":"x"}"#).unwrap_err();
    assert_eq!((e.code, e.id), (INVALID_REQUEST, json!(7)));
    assert!(e.message.contains("jsonrpc"));
    assert_eq!(parse(b"[]").unwrap_err().code, INVALID_REQUEST);
    assert_eq!(
        parse(br#"{"jsonrpc":"2.0","id":{"a":1},"method":"x"}"#)
            .unwrap_err()
            .code,
        INVALID_REQUEST
    );
    assert_eq!(
        parse(br#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#)
            .unwrap_err()
            .code,
        INVALID_REQUEST
    );
    assert_eq!(
        parse(br#"{"jsonrpc":"2.0","id":1}"#).unwrap_err().code,
        INVALID_REQUEST
    );
    assert_eq!(parse(b"42").unwrap_err().code, INVALID_REQUEST);
}

#[test]
fn tool_call_params() {
    let id = json!(3);
    let call = tool_call(
        &id,
        Some(json!({"name": "read", "arguments": {"path": "/a"}, "_meta": {"k": 1}})),
    )
    .unwrap();
    assert_eq!(call.name, "read");
    assert_eq!(call.arguments, json!({"path": "/a"}));
    assert_eq!(call.rest.get("_meta"), Some(&json!({"k": 1})));
    assert_eq!(
        tool_call(&id, Some(json!({"name": "read"})))
            .unwrap()
            .arguments,
        json!({})
    );
    assert_eq!(
        tool_call(&id, Some(json!({"arguments": {}})))
            .unwrap_err()
            .code,
        INVALID_PARAMS
    );
    assert_eq!(
        tool_call(&id, Some(json!({"name": "r", "arguments": [1]})))
            .unwrap_err()
            .code,
        INVALID_PARAMS
    );
    assert_eq!(tool_call(&id, None).unwrap_err().code, INVALID_PARAMS);
}

#[test]
fn the_upstream_call_renames_the_tool_and_keeps_the_rest() {
    let id = json!("c-1");
    let call = tool_call(
        &id,
        Some(json!({"name": "files_read", "arguments": {"path": "/a"}, "_meta": {"progressToken": 7}})),
    )
    .unwrap();
    let sent: serde_json::Value =
        serde_json::from_slice(&upstream_call(&id, "read", &call)).unwrap();
    assert_eq!(
        sent,
        json!({"jsonrpc": "2.0", "id": "c-1", "method": "tools/call",
               "params": {"name": "read", "arguments": {"path": "/a"}, "_meta": {"progressToken": 7}}})
    );
}

#[test]
fn a_duplicated_name_is_read_once_and_forwarded_as_read() {
    // The gateway decides on the last `name` (as serde_json reads it) and the upstream is
    // sent only that one: no reading of the body can differ between the two.
    let id = json!(1);
    let body = br#"{"name": "allowed", "name": "other", "arguments": {}}"#;
    let params: serde_json::Value = serde_json::from_slice(body).unwrap();
    let call = tool_call(&id, Some(params)).unwrap();
    let sent = String::from_utf8(upstream_call(&id, &call.name, &call)).unwrap();
    assert_eq!(sent.matches("\"name\"").count(), 1, "{sent}");
    assert!(
        sent.contains(&format!("\"name\":\"{}\"", call.name)),
        "{sent}"
    );
}

#[test]
fn error_bodies_are_json_rpc() {
    let body: serde_json::Value = serde_json::from_slice(&error_body(
        &json!(9),
        INVALID_PARAMS,
        "unknown tool: x",
        None,
    ))
    .unwrap();
    assert_eq!(
        body,
        json!({"jsonrpc": "2.0", "id": 9, "error": {"code": -32602, "message": "unknown tool: x"}})
    );
}
