//! JSON-RPC 2.0 messages as MCP uses them: parsing what clients send, and error bodies.

use serde::Serialize;
use serde_json::{Map, Value};

pub(crate) const PARSE_ERROR: i64 = -32700;
pub(crate) const INVALID_REQUEST: i64 = -32600;
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
pub(crate) const INVALID_PARAMS: i64 = -32602;
/// MCP 2026-07-28: a header does not match the body.
pub(crate) const HEADER_MISMATCH: i64 = -32020;
/// MCP 2026-07-28: unsupported protocol version (`data.supported` lists ours).
pub(crate) const UNSUPPORTED_VERSION: i64 = -32022;
/// Gateway-defined: the call needs a human approval first.
pub(crate) const APPROVAL_REQUIRED: i64 = -32010;
/// Gateway-defined: the upstream failed or timed out.
pub(crate) const UPSTREAM_ERROR: i64 = -32011;

/// One JSON-RPC message from a client.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message {
    Request {
        id: Value,
        method: String,
        params: Option<Value>,
    },
    Notification {
        method: String,
        params: Option<Value>,
    },
    /// A client's answer to a server-to-client request.
    Response { id: Value },
}

impl Message {
    pub(crate) fn method(&self) -> Option<&str> {
        match self {
            Self::Request { method, .. } | Self::Notification { method, .. } => Some(method),
            Self::Response { .. } => None,
        }
    }
}

/// A request body: one message or (2025-03-26 only) a batch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    Single(Message),
    Batch(Vec<Message>),
}

/// Why a body is not JSON-RPC, as the error to answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RpcError {
    pub(crate) id: Value,
    pub(crate) code: i64,
    pub(crate) message: String,
}

impl RpcError {
    pub(crate) fn new(id: Value, code: i64, message: impl Into<String>) -> Self {
        Self {
            id,
            code,
            message: message.into(),
        }
    }
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Body, RpcError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| RpcError::new(Value::Null, PARSE_ERROR, format!("parse error: {e}")))?;
    match value {
        Value::Array(items) if items.is_empty() => {
            Err(RpcError::new(Value::Null, INVALID_REQUEST, "empty batch"))
        }
        Value::Array(items) => items
            .into_iter()
            .map(message)
            .collect::<Result<_, _>>()
            .map(Body::Batch),
        other => message(other).map(Body::Single),
    }
}

fn message(value: Value) -> Result<Message, RpcError> {
    let Value::Object(mut obj) = value else {
        return Err(RpcError::new(
            Value::Null,
            INVALID_REQUEST,
            "a JSON-RPC message is an object",
        ));
    };
    let id = obj.remove("id");
    let invalid = |id: &Option<Value>, m: &str| {
        RpcError::new(id.clone().unwrap_or(Value::Null), INVALID_REQUEST, m)
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid(&id, "`jsonrpc` must be \"2.0\""));
    }
    if let Some(id) = &id
        && !(id.is_string() || id.is_i64() || id.is_u64())
    {
        return Err(RpcError::new(
            Value::Null,
            INVALID_REQUEST,
            "`id` must be a string or an integer",
        ));
    }
    match (obj.remove("method"), id) {
        (Some(Value::String(method)), Some(id)) => {
            let params = obj.remove("params");
            check_params(&params, &id)?;
            Ok(Message::Request { id, method, params })
        }
        (Some(Value::String(method)), None) => {
            let params = obj.remove("params");
            check_params(&params, &Value::Null)?;
            Ok(Message::Notification { method, params })
        }
        (Some(_), id) => Err(invalid(&id, "`method` must be a string")),
        (None, Some(id)) if obj.contains_key("result") || obj.contains_key("error") => {
            Ok(Message::Response { id })
        }
        (None, id) => Err(invalid(
            &id,
            "a message needs a `method`, or a `result` or `error`",
        )),
    }
}

fn check_params(params: &Option<Value>, id: &Value) -> Result<(), RpcError> {
    match params {
        None | Some(Value::Object(_)) | Some(Value::Array(_)) => Ok(()),
        Some(_) => Err(RpcError::new(
            id.clone(),
            INVALID_REQUEST,
            "`params` must be an object or an array",
        )),
    }
}

/// The `name` and `arguments` of a tools/call, and its other params (such as `_meta`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolCall {
    pub(crate) name: String,
    /// Always an object (`{}` when the call has none).
    pub(crate) arguments: Value,
    pub(crate) rest: Map<String, Value>,
}

/// Takes a tools/call's `params` apart (moved, not copied).
pub(crate) fn tool_call(id: &Value, params: Option<Value>) -> Result<ToolCall, RpcError> {
    let bad = |m: &str| RpcError::new(id.clone(), INVALID_PARAMS, m);
    let Some(Value::Object(mut rest)) = params else {
        return Err(bad("tools/call needs `params` with `name`"));
    };
    let Some(Value::String(name)) = rest.remove("name") else {
        return Err(bad("tools/call needs a string `name`"));
    };
    let arguments = match rest.remove("arguments") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(m @ Value::Object(_)) => m,
        Some(_) => return Err(bad("`arguments` must be an object")),
    };
    Ok(ToolCall {
        name,
        arguments,
        rest,
    })
}

/// The tools/call request sent upstream: the tool's upstream name, the arguments and the
/// other params as the client sent them. Serialized from what the gateway decided on, so the
/// upstream never sees a different reading of the body (duplicate keys, say).
pub(crate) fn upstream_call(id: &Value, name: &str, call: &ToolCall) -> Vec<u8> {
    #[derive(Serialize)]
    struct Params<'a> {
        name: &'a str,
        arguments: &'a Value,
        #[serde(flatten)]
        rest: &'a Map<String, Value>,
    }
    #[derive(Serialize)]
    struct Call<'a> {
        jsonrpc: &'static str,
        id: &'a Value,
        method: &'static str,
        params: Params<'a>,
    }
    serde_json::to_vec(&Call {
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: Params {
            name,
            arguments: &call.arguments,
            rest: &call.rest,
        },
    })
    .unwrap_or_default()
}

#[derive(Serialize)]
struct ErrorObject<'a> {
    code: i64,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
}

/// A JSON-RPC error response.
pub(crate) fn error_body(id: &Value, code: i64, message: &str, data: Option<&Value>) -> Vec<u8> {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": ErrorObject { code, message, data },
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// A JSON-RPC success response.
pub(crate) fn result_body(id: &Value, result: &Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"jsonrpc": "2.0", "id": id, "result": result}))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
