use serde_json::{Value, json};

use super::*;

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// The error a body is refused with, as (JSON-RPC code or 0 for HTTP-only, reply id, text).
fn refused(body: &[u8]) -> (i64, Value, String) {
    let r = parse(body).unwrap_err();
    let code = match &r.error {
        Error::Parse(_) => PARSE_ERROR,
        Error::InvalidRequest(_) => INVALID_REQUEST,
        Error::InvalidParams(_) => INVALID_PARAMS,
        other => panic!("unexpected error {other:?}"),
    };
    (code, r.id, r.error.to_string())
}

#[test]
fn requests_notifications_and_responses() {
    let r = parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).unwrap();
    assert_eq!(
        r,
        Message::Request {
            id: json!(1),
            method: "tools/list".into(),
            params: None
        }
    );
    let n = parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
    assert!(matches!(n, Message::Notification { .. }));
    let resp = parse(br#"{"jsonrpc":"2.0","id":"s-1","result":{"a":1},"extra":true}"#).unwrap();
    assert_eq!(
        resp,
        Message::Response {
            id: json!("s-1"),
            outcome: Outcome::Result(json!({"a": 1}))
        }
    );
    let err =
        parse(br#"{"jsonrpc":"2.0","id":2,"error":{"code":-1,"message":"no","x":1}}"#).unwrap();
    assert_eq!(
        err,
        Message::Response {
            id: json!(2),
            outcome: Outcome::Error(ErrorObject {
                code: -1,
                message: "no".into(),
                data: None
            })
        }
    );
}

#[test]
fn malformed_bodies_name_the_problem() {
    assert_eq!(refused(b"{not json").0, PARSE_ERROR);
    let (code, id, message) = refused(br#"{"jsonrpc":"1.0","id":7,"method":"x"}"#);
    assert_eq!((code, id), (INVALID_REQUEST, json!(7)));
    assert!(message.contains("jsonrpc"), "{message}");
    let (code, _, message) = refused(br#"[{"jsonrpc":"2.0","id":1,"method":"a"}]"#);
    assert_eq!(code, INVALID_REQUEST);
    assert!(message.contains("batches"), "{message}");
    assert_eq!(
        refused(br#"{"jsonrpc":"2.0","id":{"a":1},"method":"x"}"#).0,
        INVALID_REQUEST
    );
    assert_eq!(
        refused(br#"{"jsonrpc":"2.0","id":null,"method":"x"}"#).0,
        INVALID_REQUEST
    );
    assert_eq!(
        refused(br#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#).0,
        INVALID_REQUEST
    );
    assert_eq!(
        refused(br#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#).0,
        INVALID_REQUEST
    );
    assert_eq!(refused(br#"{"jsonrpc":"2.0","id":1}"#).0, INVALID_REQUEST);
    assert_eq!(
        refused(br#"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}}"#).0,
        INVALID_REQUEST
    );
    assert_eq!(
        refused(br#"{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}"#).0,
        INVALID_REQUEST
    );
    assert_eq!(refused(b"42").0, INVALID_REQUEST);
}

#[test]
fn names_and_ids_are_bounded() {
    let long_method = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"{}"}}"#,
        "m".repeat(MAX_METHOD + 1)
    );
    let (code, id, message) = refused(long_method.as_bytes());
    assert_eq!((code, id), (INVALID_REQUEST, json!(1)));
    assert!(message.contains("longer than"), "{message}");
    let long_id = format!(
        r#"{{"jsonrpc":"2.0","id":"{}","method":"ping"}}"#,
        "i".repeat(MAX_ID + 1)
    );
    let (code, id, _) = refused(long_id.as_bytes());
    assert_eq!((code, id), (INVALID_REQUEST, Value::Null));
    let name = "t".repeat(MAX_NAME + 1);
    assert!(matches!(
        tool_call(Some(obj(json!({"name": name})))),
        Err(Error::InvalidParams(m)) if m.contains("longer than")
    ));
}

#[test]
fn keys_equal_ignoring_case_are_refused() {
    // In a tool's arguments: invalid params, so the caller can fix its call.
    let (code, id, message) = refused(
        br#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"pay","arguments":{"amount":1,"Amount":900}}}"#,
    );
    assert_eq!((code, id), (INVALID_PARAMS, json!(4)));
    assert!(
        message.contains("`amount`") && message.contains("`Amount`"),
        "{message}"
    );
    // Beside `name` in params.
    let (code, ..) = refused(
        br#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"read","Name":"delete"}}"#,
    );
    assert_eq!(code, INVALID_PARAMS);
    // The same key twice.
    let (code, _, message) = refused(
        br#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"read","name":"delete"}}"#,
    );
    assert_eq!(code, INVALID_PARAMS);
    assert!(message.contains("twice"), "{message}");
    // In the envelope, or in a notification: an invalid request.
    assert_eq!(
        refused(br#"{"jsonrpc":"2.0","id":4,"method":"ping","Method":"tools/call"}"#).0,
        INVALID_REQUEST
    );
    assert_eq!(
        refused(br#"{"jsonrpc":"2.0","method":"notifications/x","params":{"a":1,"A":2}}"#).0,
        INVALID_REQUEST
    );
}

#[test]
fn tool_call_params() {
    let call = tool_call(Some(obj(
        json!({"name": "read", "arguments": {"path": "/a"}, "_meta": {"k": 1}, "extra": 1}),
    )))
    .unwrap();
    assert_eq!(call.name, "read");
    assert_eq!(Value::Object(call.arguments), json!({"path": "/a"}));
    assert_eq!(call.meta.map(Value::Object), Some(json!({"k": 1})));
    assert!(
        tool_call(Some(obj(json!({"name": "read"}))))
            .unwrap()
            .arguments
            .is_empty()
    );
    for bad in [
        json!({"arguments": {}}),
        json!({"name": "r", "arguments": [1]}),
        json!({"name": "r", "_meta": "m"}),
        json!({"name": 5}),
    ] {
        assert!(
            matches!(
                tool_call(Some(obj(bad.clone()))),
                Err(Error::InvalidParams(_))
            ),
            "{bad}"
        );
    }
    assert!(matches!(tool_call(None), Err(Error::InvalidParams(_))));
}

#[test]
fn the_upstream_call_carries_only_what_was_decided() {
    let call = tool_call(Some(obj(json!({
        "name": "files_read",
        "arguments": {"path": "/a"},
        "_meta": {"progressToken": 7},
        "task": {"ttl": 1},
        "Extra": "dropped",
    }))))
    .unwrap();
    let params = tool_params("read", call.arguments, call.meta);
    let sent: Value =
        serde_json::from_slice(&request_body(&json!("g-1"), "tools/call", Some(&params))).unwrap();
    assert_eq!(
        sent,
        json!({"jsonrpc": "2.0", "id": "g-1", "method": "tools/call",
               "params": {"name": "read", "arguments": {"path": "/a"}, "_meta": {"progressToken": 7}}})
    );
    let params = tool_params("read", Map::new(), None);
    let bare: Value =
        serde_json::from_slice(&request_body(&json!(1), "tools/call", Some(&params))).unwrap();
    assert_eq!(bare["params"], json!({"name": "read", "arguments": {}}));
}

#[test]
fn relayed_messages_are_re_serialized() {
    let note: Value = serde_json::from_slice(&notification_body(
        "notifications/cancelled",
        Some(&obj(json!({"requestId": 3}))),
    ))
    .unwrap();
    assert_eq!(
        note,
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}})
    );
    let answer: Value = serde_json::from_slice(&response_body(
        &json!("srv-1"),
        &Outcome::Error(ErrorObject {
            code: -1,
            message: "declined".into(),
            data: None,
        }),
    ))
    .unwrap();
    assert_eq!(
        answer,
        json!({"jsonrpc": "2.0", "id": "srv-1", "error": {"code": -1, "message": "declined"}})
    );
}

#[test]
fn error_bodies_are_json_rpc() {
    let body: Value = serde_json::from_slice(&error_body(
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
