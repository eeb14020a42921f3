//! A small A2A agent server (JSON-RPC, no streaming) for the demo: every message becomes a
//! completed task whose artifact echoes its text. It speaks both method sets (`SendMessage`,
//! `GetTask`, `CancelTask`, `ListTasks` with `A2A-Version: 1.0`; `message/send`,
//! `tasks/get`, `tasks/cancel` without) and serves its card at
//! `/.well-known/agent-card.json`. Interop is proven against the official SDK's agent; this
//! one only keeps `serve --demo` free of other runtimes.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::{Value, json};

/// How many tasks it remembers (the oldest are forgotten first).
const KEPT: usize = 1000;

#[derive(Default)]
struct Agent {
    addr: Option<SocketAddr>,
    tasks: Mutex<VecDeque<Value>>,
}

/// Serves the sample agent at `http://<addr>/` until the runtime ends.
pub async fn serve_sample_agent(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let agent = Arc::new(Agent {
        addr: Some(local),
        ..Agent::default()
    });
    let app = Router::new()
        .route("/", axum::routing::post(rpc))
        .route("/.well-known/agent-card.json", axum::routing::get(card))
        .with_state(agent);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(local)
}

async fn card(State(agent): State<Arc<Agent>>) -> Response {
    let url = format!(
        "http://{}/",
        agent.addr.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)))
    );
    axum::Json(json!({
        "name": "researcher",
        "description": "Answers every task with an echo of its text.",
        "version": "1.0.0",
        "supportedInterfaces": [
            {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
            {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "0.3"},
        ],
        "url": url,
        "preferredTransport": "JSONRPC",
        "protocolVersion": "0.3",
        "capabilities": {"streaming": false, "pushNotifications": false},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "echo", "name": "echo", "description": "Echoes the text", "tags": ["echo"]}],
    }))
    .into_response()
}

async fn rpc(State(agent): State<Arc<Agent>>, headers: HeaderMap, body: Bytes) -> Response {
    let v10 = headers
        .get("a2a-version")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with('1'));
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return reply(&Value::Null, Err((-32700, "parse error")));
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let params = request.get("params").cloned().unwrap_or(Value::Null);
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let answer = match (v10, method) {
        (true, "SendMessage") => Ok(json!({"task": send(&agent, &params, true)})),
        (false, "message/send") => Ok(send(&agent, &params, false)),
        (_, "GetTask" | "tasks/get") => find(&agent, &params).ok_or((-32001, "task not found")),
        (_, "CancelTask" | "tasks/cancel") => {
            Err((-32002, "the task has completed: it cannot be cancelled"))
        }
        (true, "ListTasks") => {
            let tasks: Vec<Value> = agent.tasks.lock().iter().rev().take(50).cloned().collect();
            Ok(
                json!({"tasks": tasks, "nextPageToken": "", "pageSize": 50, "totalSize": tasks.len()}),
            )
        }
        _ => Err((-32601, "method not found")),
    };
    reply(&id, answer)
}

fn reply(id: &Value, answer: Result<Value, (i64, &str)>) -> Response {
    let body = match answer {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err((code, message)) => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
        }
    };
    axum::Json(body).into_response()
}

/// A completed task answering the message.
fn send(agent: &Agent, params: &Value, v10: bool) -> Value {
    let text: String = params
        .pointer("/message/parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let task_id = uuid::Uuid::new_v4().to_string();
    let context = params
        .pointer("/message/contextId")
        .and_then(Value::as_str)
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let (state, part) = if v10 {
        (
            "TASK_STATE_COMPLETED",
            json!({"text": format!("echo: {text}")}),
        )
    } else {
        (
            "completed",
            json!({"kind": "text", "text": format!("echo: {text}")}),
        )
    };
    let mut task = json!({
        "id": task_id,
        "contextId": context,
        "status": {"state": state},
        "artifacts": [{"artifactId": uuid::Uuid::new_v4().to_string(), "name": "echo", "parts": [part]}],
    });
    if !v10 && let Some(obj) = task.as_object_mut() {
        obj.insert("kind".into(), Value::String("task".into()));
    }
    let mut tasks = agent.tasks.lock();
    if tasks.len() >= KEPT {
        tasks.pop_front();
    }
    tasks.push_back(task.clone());
    task
}

fn find(agent: &Agent, params: &Value) -> Option<Value> {
    let id = params.get("id").and_then(Value::as_str)?;
    agent
        .tasks
        .lock()
        .iter()
        .find(|t| t.get("id").and_then(Value::as_str) == Some(id))
        .cloned()
}
