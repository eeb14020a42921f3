//! A small MCP server (Streamable HTTP, sessions, JSON responses) that records what it sees.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::{Value, json};

#[derive(Default)]
pub(crate) struct Seen {
    /// `files` or `crm`: which resources and prompts this server offers.
    pub(crate) flavor: String,
    /// Executions per tool name.
    pub(crate) calls: Mutex<HashMap<String, usize>>,
    /// Whether any request carried an Authorization header.
    pub(crate) authorization: Mutex<Vec<String>>,
    sessions: AtomicUsize,
    /// Sessions this server knows; forgetting them makes it answer 404.
    live: Mutex<std::collections::HashSet<String>>,
    /// Sessions ended with DELETE.
    pub(crate) deleted: Mutex<Vec<String>>,
    /// Client answers relayed to this server: (request id, session).
    pub(crate) answers: Mutex<Vec<(Value, String)>>,
    /// Client notifications relayed to this server (method names).
    pub(crate) notifications: Mutex<Vec<String>>,
    /// The client capabilities each initialize carried.
    pub(crate) capabilities: Mutex<Vec<Value>>,
    /// Every message received, as parsed, with its session (empty before initialize).
    pub(crate) messages: Mutex<Vec<(String, Value)>>,
    /// The `x-api-key` header of every POST, with its method.
    pub(crate) api_keys: Mutex<Vec<(String, Option<String>)>>,
    /// `echo`'s description in `tools/list` (changed by a test: a tool server that changes a
    /// tool after review).
    pub(crate) echo_description: Mutex<Option<String>>,
}

impl Seen {
    /// Forgets every session, as a restarted server would.
    pub(crate) fn forget_sessions(&self) {
        self.live.lock().clear();
    }

    pub(crate) fn sessions_opened(&self) -> usize {
        self.sessions.load(Ordering::SeqCst)
    }

    pub(crate) fn calls(&self, tool: &str) -> usize {
        self.calls.lock().get(tool).copied().unwrap_or(0)
    }

    /// The messages received with this method, in order.
    pub(crate) fn received(&self, method: &str) -> Vec<(String, Value)> {
        self.messages
            .lock()
            .iter()
            .filter(|(_, m)| m["method"] == method)
            .cloned()
            .collect()
    }
}

pub(crate) async fn start(flavor: &str) -> (SocketAddr, Arc<Seen>) {
    let seen = Arc::new(Seen {
        flavor: flavor.to_owned(),
        ..Seen::default()
    });
    let app = Router::new()
        .route("/mcp", axum::routing::post(handle).delete(end).get(stream))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (addr, seen)
}

async fn handle(State(seen): State<Arc<Seen>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(a) = headers.get("authorization") {
        seen.authorization
            .lock()
            .push(a.to_str().unwrap_or_default().to_owned());
    }
    let msg: Value = serde_json::from_slice(&body).expect("the gateway sends JSON");
    let method = msg["method"].as_str().unwrap_or_default().to_owned();
    let id = msg["id"].clone();
    let from = headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    seen.messages.lock().push((from, msg.clone()));
    seen.api_keys.lock().push((
        method.clone(),
        headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    ));
    if method == "initialize" {
        seen.capabilities
            .lock()
            .push(msg["params"]["capabilities"].clone());
        let n = seen.sessions.fetch_add(1, Ordering::SeqCst);
        seen.live.lock().insert(format!("s-{n}"));
        let result = json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "test-upstream", "version": "1"}});
        return (
            [("mcp-session-id", format!("s-{n}"))],
            axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})),
        )
            .into_response();
    }
    let session = headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if session.is_empty() {
        return (StatusCode::BAD_REQUEST, "missing session").into_response();
    }
    if !seen.live.lock().contains(&session) {
        return (StatusCode::NOT_FOUND, "unknown session").into_response();
    }
    if msg.get("id").is_none() {
        seen.notifications.lock().push(method.clone());
        return StatusCode::ACCEPTED.into_response();
    }
    if msg.get("method").is_none() {
        seen.answers.lock().push((id.clone(), session.clone()));
        return StatusCode::ACCEPTED.into_response();
    }
    if method == "tools/list" {
        let description = seen
            .echo_description
            .lock()
            .clone()
            .unwrap_or_else(|| "echoes".to_owned());
        let tools = json!([
            {"name": "echo", "title": "Echo", "description": description, "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": true}},
            {"name": "slow", "inputSchema": {"type": "object"}},
            {"name": "secret", "inputSchema": {"type": "object"}},
        ]);
        return axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": {"tools": tools}}))
            .into_response();
    }
    if let Some(result) = offer(&seen.flavor, &method, &msg["params"]) {
        return axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response();
    }
    if method != "tools/call" {
        return axum::Json(
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "nope"}}),
        )
        .into_response();
    }
    let name = msg["params"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    *seen.calls.lock().entry(name.clone()).or_default() += 1;
    if name == "ask" {
        // A server-to-client request during the call, then the result, as one SSE stream.
        let ask = json!({"jsonrpc": "2.0", "id": "srv-1", "method": "sampling/createMessage", "params": {"messages": [], "maxTokens": 5}});
        let done = json!({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "text", "text": "asked"}], "isError": false}});
        let body = format!("event: message\ndata: {ask}\n\nevent: message\ndata: {done}\n\n");
        return ([("content-type", "text/event-stream")], body).into_response();
    }
    if name == "slow" {
        // Faults on request: garbage, a connection reset mid-answer, an endless stream.
        match msg["params"]["arguments"]["fault"].as_str() {
            Some("garbage") => {
                return (
                    [("content-type", "application/json")],
                    "{\"jsonrpc\": \"2.0\", oops",
                )
                    .into_response();
            }
            Some("reset") => {
                let chunks = futures_util::stream::iter(vec![
                    Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{\"jsonrpc\": ")),
                    Err(std::io::Error::other("reset")),
                ]);
                return (
                    [("content-type", "application/json")],
                    axum::body::Body::from_stream(chunks),
                )
                    .into_response();
            }
            Some("endless") => {
                let ticks = futures_util::stream::unfold(0u64, |n| async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let note = json!({"jsonrpc": "2.0", "method": "notifications/message",
                        "params": {"level": "info", "data": format!("still working {n}")}});
                    Some((
                        Ok::<_, std::io::Error>(bytes::Bytes::from(format!(
                            "event: message\ndata: {note}\n\n"
                        ))),
                        n + 1,
                    ))
                });
                return (
                    [("content-type", "text/event-stream")],
                    axum::body::Body::from_stream(ticks),
                )
                    .into_response();
            }
            _ => {}
        }
        let wait = msg["params"]["arguments"]["ms"].as_u64().unwrap_or(5_000);
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
    let args = msg["params"]["arguments"].clone();
    let text = json!({"tool": name, "argument_bytes": args.to_string().len(), "arguments": args})
        .to_string();
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "text", "text": text}], "isError": false}})).into_response()
}

async fn end(State(seen): State<Arc<Seen>>, headers: HeaderMap) -> StatusCode {
    let session = headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    seen.live.lock().remove(&session);
    seen.deleted.lock().push(session);
    StatusCode::NO_CONTENT
}

/// The session's server-to-client stream: a log notification and a request, then the end.
async fn stream(State(seen): State<Arc<Seen>>, headers: HeaderMap) -> Response {
    let session = headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !seen.live.lock().contains(&session) {
        return (StatusCode::NOT_FOUND, "unknown session").into_response();
    }
    let note = json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "hello from the upstream"}});
    let ask = json!({"jsonrpc": "2.0", "id": "srv-get-1", "method": "roots/list"});
    let body = format!("event: message\ndata: {note}\n\nevent: message\ndata: {ask}\n\n");
    ([("content-type", "text/event-stream")], body).into_response()
}

/// What a `files` or `crm` server answers for prompts, resources, completion and logging.
fn offer(flavor: &str, method: &str, params: &Value) -> Option<Value> {
    let files = flavor == "files";
    let cursor = params["cursor"].as_str();
    Some(match method {
        // `files` lists its prompts in two pages.
        "prompts/list" if files && cursor.is_none() => json!({
            "prompts": [{"name": "greet", "description": "a greeting", "arguments": [{"name": "who", "required": true}, {"name": "tone"}]}],
            "nextCursor": "page-2",
        }),
        "prompts/list" if files => json!({"prompts": [{"name": "farewell"}]}),
        "prompts/list" => {
            json!({"prompts": [{"name": "greet", "arguments": [{"name": "who", "required": true}]}]})
        }
        "prompts/get" => json!({
            "description": format!("{flavor} prompt"),
            "messages": [{"role": "user", "content": {"type": "text", "text": format!("{flavor} {} {}", params["name"], params["arguments"])}}],
        }),
        "resources/list" if files => json!({"resources": [
            {"uri": "file:///docs/plan.md", "name": "plan"},
            {"uri": "file:///etc/passwd", "name": "passwd"},
        ]}),
        "resources/list" => {
            json!({"resources": [{"uri": "crm://accounts/1", "name": "account 1"}]})
        }
        "resources/templates/list" if files => {
            json!({"resourceTemplates": [{"uriTemplate": "file:///logs/{day}", "name": "logs"}]})
        }
        "resources/templates/list" => {
            json!({"resourceTemplates": [{"uriTemplate": "crm://contacts/{id}", "name": "contacts"}]})
        }
        "resources/read" => {
            json!({"contents": [{"uri": params["uri"], "text": format!("{flavor} has {}", params["uri"].as_str().unwrap_or_default())}]})
        }
        "resources/subscribe" | "resources/unsubscribe" | "logging/setLevel" => json!({}),
        "completion/complete" => {
            json!({"completion": {"values": [format!("{flavor}-{}", params["argument"]["value"].as_str().unwrap_or_default())], "total": 1, "hasMore": false}})
        }
        _ => return None,
    })
}
