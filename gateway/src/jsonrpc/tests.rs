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
        Some(&json!({"name": "read", "arguments": {"path": "/a"}})),
    )
    .unwrap();
    assert_eq!(call.name, "read");
    assert_eq!(call.arguments.get("path"), Some(&json!("/a")));
    assert!(
        tool_call(&id, Some(&json!({"name": "read"})))
            .unwrap()
            .arguments
            .is_empty()
    );
    assert_eq!(
        tool_call(&id, Some(&json!({"arguments": {}})))
            .unwrap_err()
            .code,
        INVALID_PARAMS
    );
    assert_eq!(
        tool_call(&id, Some(&json!({"name": "r", "arguments": [1]})))
            .unwrap_err()
            .code,
        INVALID_PARAMS
    );
    assert_eq!(tool_call(&id, None).unwrap_err().code, INVALID_PARAMS);
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
