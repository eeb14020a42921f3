//! Step 3: JSON-RPC 2.0 messages as MCP uses them — parsing what clients send (strictly,
//! and bounded), and serializing everything the gateway sends.
//!
//! Nothing a client sent is forwarded as its bytes: the gateway forwards messages it
//! serializes itself from what it parsed and decided on, with the members MCP defines and
//! nothing else.

mod strict;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;

pub(crate) const PARSE_ERROR: i64 = -32700;
pub(crate) const INVALID_REQUEST: i64 = -32600;
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
pub(crate) const INVALID_PARAMS: i64 = -32602;
pub(crate) const INTERNAL_ERROR: i64 = -32603;
/// MCP: a resource that does not exist.
pub(crate) const RESOURCE_NOT_FOUND: i64 = -32002;
/// MCP 2026-07-28: a header does not match the body.
pub(crate) const HEADER_MISMATCH: i64 = -32020;
/// MCP 2026-07-28: unsupported protocol version (`data.supported` lists ours).
pub(crate) const UNSUPPORTED_VERSION: i64 = -32022;
/// Gateway-defined: the call needs a human approval first.
pub(crate) const APPROVAL_REQUIRED: i64 = -32010;
/// Gateway-defined: the upstream failed or timed out.
pub(crate) const UPSTREAM_ERROR: i64 = -32011;
/// Gateway-defined: the upstream needs a credential the caller may not use (no lease).
pub(crate) const CREDENTIAL_UNAVAILABLE: i64 = -32012;
/// A pinned tool whose upstream definition changed since it was approved.
pub(crate) const TOOL_CHANGED: i64 = -32013;
/// A rate limit is exhausted.
pub(crate) const RATE_LIMITED: i64 = -32014;

/// Longest method name accepted, in bytes.
pub(crate) const MAX_METHOD: usize = 128;
/// Longest string request id accepted, in bytes.
pub(crate) const MAX_ID: usize = 128;
/// Longest tool or prompt name accepted, in bytes.
pub(crate) const MAX_NAME: usize = 256;
/// Longest resource URI (or URI template) accepted, in bytes.
pub(crate) const MAX_URI: usize = 4096;

/// One JSON-RPC message from a client.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message {
    Request {
        id: Value,
        method: String,
        params: Option<Map<String, Value>>,
    },
    Notification {
        method: String,
        params: Option<Map<String, Value>>,
    },
    /// A client's answer to a server-to-client request.
    Response { id: Value, outcome: Outcome },
}

impl Message {
    pub(crate) fn method(&self) -> Option<&str> {
        match self {
            Self::Request { method, .. } | Self::Notification { method, .. } => Some(method),
            Self::Response { .. } => None,
        }
    }

    /// The id a reply to this message carries (null for notifications).
    pub(crate) fn reply_id(&self) -> Value {
        match self {
            Self::Request { id, .. } | Self::Response { id, .. } => id.clone(),
            Self::Notification { .. } => Value::Null,
        }
    }
}

/// What a response carries.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Result(Value),
    Error(ErrorObject),
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ErrorObject {
    pub(crate) code: i64,
    pub(crate) message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) data: Option<Value>,
}

/// A body refused before it became a message, with the id to answer under.
#[derive(Debug)]
pub(crate) struct Rejected {
    pub(crate) id: Value,
    pub(crate) error: Error,
}

/// Parses one message. Refuses batches, malformed envelopes, unbounded names and ids, and
/// objects holding keys equal under Unicode case folding.
pub(crate) fn parse(bytes: &[u8]) -> Result<Message, Box<Rejected>> {
    let rejected = |id: &Value, error| {
        Box::new(Rejected {
            id: id.clone(),
            error,
        })
    };
    let null = Value::Null;
    let (value, clash) =
        strict::parse(bytes).map_err(|e| rejected(&null, Error::Parse(e.to_string())))?;
    let mut obj = match value {
        Value::Object(obj) => obj,
        Value::Array(_) => {
            return Err(rejected(
                &null,
                Error::InvalidRequest(
                    "batches are not supported: send one JSON-RPC message per request".into(),
                ),
            ));
        }
        _ => {
            return Err(rejected(
                &null,
                Error::InvalidRequest("a JSON-RPC message is an object".into()),
            ));
        }
    };
    let id = obj.remove("id");
    let valid_id = match &id {
        None => true,
        Some(Value::String(s)) => s.len() <= MAX_ID,
        Some(v) => v.is_i64() || v.is_u64(),
    };
    if !valid_id {
        return Err(rejected(
            &null,
            Error::InvalidRequest(format!(
                "`id` must be an integer or a string of at most {MAX_ID} bytes"
            )),
        ));
    }
    let reply_id = id.clone().unwrap_or(Value::Null);
    let invalid = |m: &str| rejected(&reply_id, Error::InvalidRequest(m.to_owned()));
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid("`jsonrpc` must be \"2.0\""));
    }
    if let Some(clash) = clash {
        let why = format!("{clash}: an upstream could read either, so the message is refused");
        let error = if clash.in_params && id.is_some() && obj.contains_key("method") {
            Error::InvalidParams(why)
        } else {
            Error::InvalidRequest(why)
        };
        return Err(rejected(&reply_id, error));
    }
    match (obj.remove("method"), id) {
        (Some(Value::String(method)), id) => {
            if method.len() > MAX_METHOD {
                return Err(invalid(&format!(
                    "the method name is longer than {MAX_METHOD} bytes"
                )));
            }
            let params = match obj.remove("params") {
                None | Some(Value::Null) => None,
                Some(Value::Object(p)) => Some(p),
                Some(_) => return Err(invalid("`params` must be an object")),
            };
            Ok(match id {
                Some(id) => Message::Request { id, method, params },
                None => Message::Notification { method, params },
            })
        }
        (Some(_), _) => Err(invalid("`method` must be a string")),
        (None, Some(id)) => {
            let outcome = match (obj.remove("result"), obj.remove("error")) {
                (Some(result), None) => Outcome::Result(result),
                (None, Some(error)) => Outcome::Error(serde_json::from_value(error).map_err(
                    |_| invalid("`error` must be an object with an integer `code` and a string `message`"),
                )?),
                (Some(_), Some(_)) => return Err(invalid("a response has `result` or `error`, not both")),
                (None, None) => {
                    return Err(invalid("a message needs a `method`, or a `result` or `error`"));
                }
            };
            Ok(Message::Response { id, outcome })
        }
        (None, None) => Err(invalid(
            "a message needs a `method`, or a `result` or `error`",
        )),
    }
}

/// A REST call's body: a JSON object of arguments, read as strictly as a message.
pub(crate) fn parse_arguments(bytes: &[u8]) -> Result<Map<String, Value>, Error> {
    let (value, clash) = strict::parse(bytes).map_err(|e| Error::Parse(e.to_string()))?;
    if let Some(clash) = clash {
        return Err(Error::InvalidParams(format!(
            "{clash}: an upstream could read either, so the call is refused"
        )));
    }
    match value {
        Value::Object(arguments) => Ok(arguments),
        _ => Err(Error::InvalidParams(
            "the body must be a JSON object of arguments".into(),
        )),
    }
}

/// The parts of a tools/call the gateway decides on and forwards; nothing else of the
/// client's `params` goes anywhere.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolCall {
    pub(crate) name: String,
    pub(crate) arguments: Map<String, Value>,
    pub(crate) meta: Option<Map<String, Value>>,
}

/// Takes a tools/call's `params` apart (moved, not copied).
pub(crate) fn tool_call(params: Option<Map<String, Value>>) -> Result<ToolCall, Error> {
    let bad = |m: &str| Error::InvalidParams(m.to_owned());
    let Some(mut params) = params else {
        return Err(bad("tools/call needs `params` with `name`"));
    };
    let Some(Value::String(name)) = params.remove("name") else {
        return Err(bad("tools/call needs a string `name`"));
    };
    if name.len() > MAX_NAME {
        return Err(bad(&format!(
            "the tool name is longer than {MAX_NAME} bytes"
        )));
    }
    let arguments = match params.remove("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(bad("`arguments` must be an object")),
    };
    let meta = match params.remove("_meta") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => return Err(bad("`_meta` must be an object")),
    };
    Ok(ToolCall {
        name,
        arguments,
        meta,
    })
}

/// The params of the tools/call sent upstream: the upstream's own name for the tool, the
/// arguments the gateway decided on, and `_meta` — nothing else of the client's params.
pub(crate) fn tool_params(
    name: &str,
    arguments: Map<String, Value>,
    meta: Option<Map<String, Value>>,
) -> Map<String, Value> {
    let mut params = Map::new();
    params.insert("name".into(), Value::String(name.to_owned()));
    params.insert("arguments".into(), Value::Object(arguments));
    if let Some(meta) = meta {
        params.insert("_meta".into(), Value::Object(meta));
    }
    params
}

/// A request the gateway sends.
pub(crate) fn request_body<P: Serialize>(id: &Value, method: &str, params: Option<&P>) -> Vec<u8> {
    #[derive(Serialize)]
    struct Request<'a, P> {
        jsonrpc: &'static str,
        id: &'a Value,
        method: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        params: Option<&'a P>,
    }
    serde_json::to_vec(&Request {
        jsonrpc: "2.0",
        id,
        method,
        params,
    })
    .unwrap_or_default()
}

/// A notification the gateway sends.
pub(crate) fn notification_body(method: &str, params: Option<&Map<String, Value>>) -> Vec<u8> {
    #[derive(Serialize)]
    struct Notification<'a> {
        jsonrpc: &'static str,
        method: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        params: Option<&'a Map<String, Value>>,
    }
    serde_json::to_vec(&Notification {
        jsonrpc: "2.0",
        method,
        params,
    })
    .unwrap_or_default()
}

/// A response the gateway sends (a client's answer relayed upstream).
pub(crate) fn response_body(id: &Value, outcome: &Outcome) -> Vec<u8> {
    match outcome {
        Outcome::Result(result) => result_body(id, result),
        Outcome::Error(e) => error_body(id, e.code, &e.message, e.data.as_ref()),
    }
}

/// A JSON-RPC error response.
pub(crate) fn error_body(id: &Value, code: i64, message: &str, data: Option<&Value>) -> Vec<u8> {
    #[derive(Serialize)]
    struct ErrorRef<'a> {
        code: i64,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<&'a Value>,
    }
    #[derive(Serialize)]
    struct Response<'a> {
        jsonrpc: &'static str,
        id: &'a Value,
        error: ErrorRef<'a>,
    }
    serde_json::to_vec(&Response {
        jsonrpc: "2.0",
        id,
        error: ErrorRef {
            code,
            message,
            data,
        },
    })
    .unwrap_or_default()
}

/// A JSON-RPC success response.
pub(crate) fn result_body<R: Serialize + ?Sized>(id: &Value, result: &R) -> Vec<u8> {
    #[derive(Serialize)]
    struct Response<'a, R: ?Sized> {
        jsonrpc: &'static str,
        id: &'a Value,
        result: &'a R,
    }
    serde_json::to_vec(&Response {
        jsonrpc: "2.0",
        id,
        result,
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests;
