//! A small MCP tool server (Streamable HTTP, JSON responses) for the demo and load tests.
//!
//! Tools: `echo` (`message`), `add` (`a`, `b`) and `transfer_funds` (`to`, `amount`,
//! `currency`). With an API key it refuses requests without it, as a real API would. It
//! keeps sessions the way an MCP server does (issued at `initialize`, required afterwards)
//! and answers fast, so it is never the bottleneck in front of the gateway.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use parking_lot::RwLock;
use serde_json::{Value, json};

#[derive(Default)]
struct Sessions {
    next: AtomicU64,
    live: RwLock<HashSet<String>>,
    /// When set, every request must carry it in `x-api-key` (as a real API would).
    api_key: Option<String>,
}

/// The tools it serves, with their input schemas (register these in the registry).
pub fn sample_tools() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "echo",
            "Echoes a message back",
            json!({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"], "additionalProperties": false}),
        ),
        (
            "add",
            "Adds two numbers",
            json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"], "additionalProperties": false}),
        ),
        (
            "transfer_funds",
            "Moves money to an account",
            json!({"type": "object", "properties": {"to": {"type": "string"}, "amount": {"type": "integer", "minimum": 1}, "currency": {"type": "string"}}, "required": ["to", "amount"], "additionalProperties": false}),
        ),
    ]
}

/// Serves the sample MCP server at `http://<addr>/mcp` until the runtime ends.
pub async fn serve_sample(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    serve_sample_requiring(addr, None).await
}

/// As [`serve_sample`]; with `api_key`, a request without `x-api-key: <api_key>` gets 401.
pub async fn serve_sample_requiring(
    addr: SocketAddr,
    api_key: Option<String>,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/mcp", axum::routing::post(handle).delete(end))
        .with_state(Arc::new(Sessions {
            api_key,
            ..Sessions::default()
        }));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("sample MCP server stopped: {e}");
        }
    });
    Ok(bound)
}

fn key_missing(s: &Sessions, headers: &HeaderMap) -> bool {
    s.api_key.as_deref().is_some_and(|key| {
        headers
            .get("x-api-key")
            .is_none_or(|given| given.as_bytes() != key.as_bytes())
    })
}

async fn handle(State(s): State<Arc<Sessions>>, headers: HeaderMap, body: Bytes) -> Response {
    if key_missing(&s, &headers) {
        return (StatusCode::UNAUTHORIZED, "missing or wrong x-api-key").into_response();
    }
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let id = msg.get("id").cloned();
    let method = msg
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if method == "initialize" {
        let sid = format!("sample-{}", s.next.fetch_add(1, Ordering::Relaxed));
        s.live.write().insert(sid.clone());
        let result = json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "portcullis-sample", "version": env!("CARGO_PKG_VERSION")}});
        return (
            [("mcp-session-id", sid)],
            axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})),
        )
            .into_response();
    }
    let sid = headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !s.live.read().contains(sid) {
        return (StatusCode::NOT_FOUND, "unknown session").into_response();
    }
    let Some(id) = id else {
        return StatusCode::ACCEPTED.into_response();
    };
    let reply = |result: Value| {
        axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
    };
    let text =
        |t: String| reply(json!({"content": [{"type": "text", "text": t}], "isError": false}));
    match method {
        "ping" => reply(json!({})),
        "tools/list" => reply(json!({"tools": sample_tools().into_iter().map(|(n, d, s)| json!({"name": n, "description": d, "inputSchema": s})).collect::<Vec<_>>()})),
        "tools/call" => {
            let params = msg.get("params").cloned().unwrap_or_default();
            let args = params.get("arguments").cloned().unwrap_or_default();
            match params.get("name").and_then(Value::as_str).unwrap_or_default() {
                "echo" => text(format!("Echo: {}", args.get("message").and_then(Value::as_str).unwrap_or_default())),
                "add" => {
                    let n = |k: &str| args.get(k).and_then(Value::as_f64).unwrap_or(0.0);
                    text(format!("{}", n("a") + n("b")))
                }
                "transfer_funds" => text(format!(
                    "transferred {} to {}",
                    args.get("amount").and_then(Value::as_i64).unwrap_or(0),
                    args.get("to").and_then(Value::as_str).unwrap_or("?")
                )),
                other => axum::Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": format!("unknown tool: {other}")}})).into_response(),
            }
        }
        other => axum::Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": format!("method not found: {other}")}})).into_response(),
    }
}

async fn end(State(s): State<Arc<Sessions>>, headers: HeaderMap) -> StatusCode {
    if key_missing(&s, &headers) {
        return StatusCode::UNAUTHORIZED;
    }
    let sid = headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    s.live.write().remove(sid);
    StatusCode::NO_CONTENT
}
