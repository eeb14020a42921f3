//! Writing whole responses to the client.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use serde_json::Value;

use crate::jsonrpc;

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

    pub(crate) fn rpc_error(status: u16, id: &Value, code: i64, message: &str) -> Self {
        Self::json(status, jsonrpc::error_body(id, code, message, None))
    }

    /// `{error, message}` for failures outside JSON-RPC (HTTP-level).
    pub(crate) fn http_error(status: u16, error: &str, message: &str) -> Self {
        let body = serde_json::json!({"error": error, "message": message});
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
