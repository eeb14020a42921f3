//! Writing answers to the client, and the one mapping from [`Error`] to what the client sees.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use serde_json::{Value, json};

use crate::error::Error;
use crate::jsonrpc;
use crate::upstream::UpstreamError;

/// What a handler did with a request.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A complete response, still to be written.
    Reply(Reply),
    /// The response was streamed to the client already.
    Streamed,
}

impl From<Reply> for Answer {
    fn from(reply: Reply) -> Self {
        Self::Reply(reply)
    }
}

/// Which face of the gateway a request came in on: errors look different on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Face {
    /// MCP (`/mcp`): JSON-RPC errors, or `{error, message}` before JSON-RPC applies.
    Mcp,
    /// The REST face (`/mcp/tools...`): HTTP statuses with `{error, message}`.
    Rest,
}

/// A complete response the gateway answers itself.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: Option<&'static str>,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(status: u16, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type: Some("application/json"),
            headers: Vec::new(),
            body,
        }
    }

    pub(crate) fn rpc_result(id: &Value, result: &Value) -> Self {
        Self::json(200, jsonrpc::result_body(id, result))
    }

    /// `{error, message}` (and any `extra` members) for failures outside JSON-RPC.
    fn http_error(status: u16, error: &str, message: &str, extra: Option<Value>) -> Self {
        let mut body = json!({"error": error, "message": message});
        if let (Some(Value::Object(extra)), Some(map)) = (extra, body.as_object_mut()) {
            map.extend(extra);
        }
        Self::json(status, serde_json::to_vec(&body).unwrap_or_default())
    }

    pub(crate) fn accepted() -> Self {
        Self {
            status: 202,
            content_type: None,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// How an error shows on the MCP face.
enum OnMcp {
    /// An HTTP error with `{error, message}`: the request never became JSON-RPC.
    Http,
    /// A JSON-RPC error response with this HTTP status.
    Rpc {
        status: u16,
        code: i64,
        data: Option<Value>,
    },
    /// A tool result with `isError: true`, so a model can correct its call.
    ToolError,
}

/// The response for `error` on `face`. `id` is the JSON-RPC id of the request (null when
/// there was none); `host` names this gateway in the `WWW-Authenticate` pointer.
pub(crate) fn error(error: Error, face: Face, id: &Value, host: &str) -> Reply {
    let message = error.to_string();
    let rpc = |status, code| OnMcp::Rpc {
        status,
        code,
        data: None,
    };
    // One row per error: (HTTP status and code of the REST face and HTTP errors, MCP form).
    let (status, name, on_mcp) = match &error {
        Error::NoRoute => (404, "not_found", OnMcp::Http),
        Error::Origin(_) => (403, "forbidden", OnMcp::Http),
        Error::TokenMissing => (401, "unauthorized", OnMcp::Http),
        Error::TokenInvalid(_) => (401, "invalid_token", OnMcp::Http),
        Error::Forbidden(_) => (403, "forbidden", OnMcp::Http),
        Error::MediaType => (415, "unsupported_media_type", OnMcp::Http),
        Error::TooLarge(_) => (413, "payload_too_large", OnMcp::Http),
        Error::BodyUnreadable(_) => (400, "bad_request", OnMcp::Http),
        Error::SessionMissing => (400, "bad_request", OnMcp::Http),
        Error::SessionUnknown => (404, "session_not_found", OnMcp::Http),
        Error::NotAllowed { .. } => (405, "method_not_allowed", OnMcp::Http),
        Error::Parse(_) => (400, "bad_request", rpc(400, jsonrpc::PARSE_ERROR)),
        Error::InvalidRequest(_) => (400, "bad_request", rpc(400, jsonrpc::INVALID_REQUEST)),
        Error::Version(_) => (
            400,
            "bad_request",
            OnMcp::Rpc {
                status: 400,
                code: jsonrpc::UNSUPPORTED_VERSION,
                data: Some(json!({"supported": crate::mcp::SUPPORTED_VERSIONS})),
            },
        ),
        Error::HeaderMismatch(_) => (400, "bad_request", rpc(400, jsonrpc::HEADER_MISMATCH)),
        Error::MethodNotFound(_) => (404, "not_found", rpc(200, jsonrpc::METHOD_NOT_FOUND)),
        Error::InvalidParams(_) => (400, "bad_request", rpc(200, jsonrpc::INVALID_PARAMS)),
        Error::UnknownTool(_) => (404, "unknown_tool", rpc(200, jsonrpc::INVALID_PARAMS)),
        Error::InvalidArguments(_) => (422, "invalid_arguments", OnMcp::ToolError),
        Error::UnknownPrompt(_) => (404, "unknown_prompt", rpc(200, jsonrpc::INVALID_PARAMS)),
        Error::UnknownResource(_) => (
            404,
            "resource_not_found",
            rpc(200, jsonrpc::RESOURCE_NOT_FOUND),
        ),
        Error::UnknownAgent(_) => (404, "not_found", OnMcp::Http),
        Error::RateLimited { limit, retry_after } => (
            429,
            "rate_limited",
            OnMcp::Rpc {
                status: 429,
                code: jsonrpc::RATE_LIMITED,
                data: Some(
                    json!({"limit": limit, "retry_after_secs": retry_after.as_secs_f64().ceil()}),
                ),
            },
        ),
        Error::ToolChanged { .. } => (403, "tool_changed", rpc(200, jsonrpc::TOOL_CHANGED)),
        Error::A2aVersion(_) => (
            400,
            "bad_request",
            OnMcp::Rpc {
                status: 200,
                code: crate::a2a::VERSION_NOT_SUPPORTED,
                data: Some(json!({"supported": crate::a2a::VERSIONS})),
            },
        ),
        Error::TaskNotFound { .. } => (404, "task_not_found", rpc(200, crate::a2a::TASK_NOT_FOUND)),
        Error::Credential(_) => (
            403,
            "credential_unavailable",
            rpc(200, jsonrpc::CREDENTIAL_UNAVAILABLE),
        ),
        Error::Misconfigured(why) => {
            tracing::error!("the gateway's configuration cannot serve a request: {why}");
            (500, "misconfigured", rpc(200, jsonrpc::INTERNAL_ERROR))
        }
        Error::ApprovalRequired {
            obligations,
            policies,
            ticket,
            ..
        } => {
            let mut data = json!({"obligations": obligations, "policies": policies});
            if let (Some(t), Some(obj)) = (ticket, data.as_object_mut())
                && let serde_json::Value::Object(fields) = t.to_json()
            {
                obj.extend(fields);
            }
            (
                403,
                "approval_required",
                OnMcp::Rpc {
                    status: 200,
                    code: jsonrpc::APPROVAL_REQUIRED,
                    data: Some(data),
                },
            )
        }
        Error::ApprovalLimit(_) => (
            429,
            "too_many_approvals",
            rpc(200, jsonrpc::APPROVAL_REQUIRED),
        ),
        Error::Unavailable(detail) => {
            tracing::error!("a request could not be served: {detail}");
            (503, "unavailable", rpc(200, jsonrpc::INTERNAL_ERROR))
        }
        Error::Upstream {
            error: UpstreamError::Timeout,
            ..
        } => (504, "upstream_error", rpc(200, jsonrpc::UPSTREAM_ERROR)),
        Error::Upstream { .. } => (502, "upstream_error", rpc(200, jsonrpc::UPSTREAM_ERROR)),
        Error::OAuth {
            status,
            code,
            description,
        } => {
            let body = json!({"error": code, "error_description": description});
            let mut reply = Reply::json(*status, serde_json::to_vec(&body).unwrap_or_default())
                .with_header("cache-control", "no-store".into());
            if *status == 401 {
                reply = reply.with_header("www-authenticate", "Basic realm=\"portcullis\"".into());
            }
            return reply;
        }
        Error::Internal(detail) | Error::Config(detail) => {
            tracing::error!("request failed inside the gateway: {detail}");
            (500, "internal", rpc(500, jsonrpc::INTERNAL_ERROR))
        }
    };
    let mut reply = match (face, on_mcp) {
        (Face::Mcp, OnMcp::Rpc { status, code, data }) => Reply::json(
            status,
            jsonrpc::error_body(id, code, &message, data.as_ref()),
        ),
        (Face::Mcp, OnMcp::ToolError) => Reply::rpc_result(
            id,
            &json!({"content": [{"type": "text", "text": message}], "isError": true}),
        ),
        (Face::Rest, OnMcp::Rpc { data, .. }) => Reply::http_error(status, name, &message, data),
        (Face::Mcp | Face::Rest, _) => Reply::http_error(status, name, &message, None),
    };
    match &error {
        Error::TokenMissing | Error::TokenInvalid(_) => {
            let metadata = format!("http://{host}/.well-known/oauth-protected-resource/mcp");
            let value = if matches!(error, Error::TokenMissing) {
                format!("Bearer resource_metadata=\"{metadata}\"")
            } else {
                format!("Bearer error=\"invalid_token\", resource_metadata=\"{metadata}\"")
            };
            reply = reply.with_header("www-authenticate", value);
        }
        Error::NotAllowed { allow, .. } => reply = reply.with_header("allow", (*allow).into()),
        Error::RateLimited { retry_after, .. } => {
            let secs = retry_after.as_secs_f64().ceil().max(1.0);
            reply = reply.with_header("retry-after", format!("{secs:.0}"));
        }
        _ => {}
    }
    reply
}

pub(crate) async fn send(session: &mut Session, reply: Reply) -> pingora::Result<()> {
    let mut header = ResponseHeader::build(reply.status, Some(4 + reply.headers.len()))?;
    if let Some(ct) = reply.content_type {
        header.insert_header("content-type", ct)?;
    }
    header.insert_header("content-length", reply.body.len().to_string())?;
    for (name, value) in reply.headers {
        header.insert_header(name, value)?;
    }
    session
        .write_response_header(Box::new(header), reply.body.is_empty())
        .await?;
    if !reply.body.is_empty() {
        session
            .write_response_body(Some(Bytes::from(reply.body)), true)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{Face, error};
    use crate::error::Error;
    use crate::upstream::UpstreamError;

    fn body(reply: &super::Reply) -> Value {
        serde_json::from_slice(&reply.body).unwrap()
    }

    #[test]
    fn each_face_gets_its_own_shape() {
        let id = json!(7);
        let mcp = error(Error::UnknownTool("x".into()), Face::Mcp, &id, "h");
        assert_eq!(mcp.status, 200);
        assert_eq!(body(&mcp)["error"]["code"], -32602);
        assert_eq!(body(&mcp)["id"], 7);
        let rest = error(Error::UnknownTool("x".into()), Face::Rest, &id, "h");
        assert_eq!(rest.status, 404);
        assert_eq!(body(&rest)["error"], "unknown_tool");
        assert_eq!(body(&rest)["message"], "unknown tool: `x`");

        let invalid = error(Error::InvalidArguments("bad".into()), Face::Mcp, &id, "h");
        assert_eq!(body(&invalid)["result"]["isError"], true);
        let invalid = error(Error::InvalidArguments("bad".into()), Face::Rest, &id, "h");
        assert_eq!(invalid.status, 422);

        let timeout = Error::upstream("files", UpstreamError::Timeout);
        assert_eq!(error(timeout, Face::Rest, &id, "h").status, 504);
        let refused = Error::upstream("files", UpstreamError::Status(500));
        let reply = error(refused, Face::Mcp, &id, "h");
        assert_eq!(body(&reply)["error"]["code"], -32011);
    }

    #[test]
    fn auth_failures_point_at_the_resource_metadata() {
        let reply = error(Error::TokenMissing, Face::Mcp, &Value::Null, "gw:1");
        assert_eq!(reply.status, 401);
        let (_, value) = reply
            .headers
            .iter()
            .find(|(k, _)| *k == "www-authenticate")
            .unwrap();
        assert!(value.contains("http://gw:1/.well-known/oauth-protected-resource/mcp"));
    }

    #[test]
    fn internal_detail_stays_inside() {
        let reply = error(
            Error::Internal("disk on fire at /secret/path".into()),
            Face::Rest,
            &Value::Null,
            "h",
        );
        assert_eq!(reply.status, 500);
        assert!(!String::from_utf8_lossy(&reply.body).contains("secret"));
    }
}
