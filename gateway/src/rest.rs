//! The REST face: `GET /mcp/tools` and `POST /mcp/tools/{name}/call` (body = arguments),
//! with the same enforcement as MCP, for clients that do not speak JSON-RPC.

use pingora::proxy::Session;
use serde_json::{Value, json};

use crate::accept;
use crate::mcp::{self, Conversation};
use crate::respond::Reply;
use crate::state::{CallLog, State};
use crate::tools::Refusal;
use crate::upstream::UpstreamError;

/// Largest upstream answer the REST face buffers.
const MAX_RESULT: usize = 16 * 1024 * 1024;
const REST_ID: &str = "portcullis-rest";

pub(crate) async fn list(state: &State, session: &mut Session, log: &mut CallLog) -> Reply {
    let principal = match mcp::principal(state, session, log).await {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    log.method = Some("tools/list".into());
    let body = json!({"tools": crate::tools::listed_tools(state, &principal).await});
    Reply::json(200, serde_json::to_vec(&body).unwrap_or_default())
}

pub(crate) async fn call(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
    name: &str,
) -> Reply {
    let principal = match mcp::principal(state, session, log).await {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    log.method = Some("tools/call".into());
    let body = match accept::read_json_body(session, state.config.body_limit).await {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let arguments: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => {
            return Reply::http_error(
                400,
                "bad_request",
                "the body must be a JSON object of arguments",
            );
        }
        Err(e) => return Reply::http_error(400, "bad_request", &format!("malformed JSON: {e}")),
    };
    let id = Value::String(REST_ID.into());
    let planned = match crate::tools::plan_call(
        state,
        log,
        &principal,
        &id,
        Some(json!({"name": name, "arguments": arguments})),
    ) {
        Ok(p) => p,
        Err(Refusal::BadParams(e)) => return Reply::http_error(400, "bad_request", &e.message),
        Err(Refusal::Unknown(n)) => {
            return Reply::http_error(404, "unknown_tool", &format!("unknown tool: `{n}`"));
        }
        Err(Refusal::Invalid(why)) => return Reply::http_error(422, "invalid_arguments", &why),
        Err(Refusal::NeedsApproval {
            tool,
            obligations,
            policies,
        }) => {
            let body = json!({"error": "approval_required", "message": format!("tool `{tool}` needs a human approval for this call"), "obligations": obligations, "policies": policies});
            return Reply::json(403, serde_json::to_vec(&body).unwrap_or_default());
        }
    };
    let upstream_failed = |e: UpstreamError| {
        let status = if matches!(e, UpstreamError::Timeout) {
            504
        } else {
            502
        };
        Reply::http_error(
            status,
            "upstream_error",
            &format!("upstream `{}`: {e}", planned.upstream),
        )
    };
    let mut ex =
        match crate::forward::exchange(state, log, &Conversation::Stateless, &planned).await {
            Ok(ex) => ex,
            Err(e) => return upstream_failed(e),
        };
    let sse = ex
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream"));
    let mut raw = Vec::new();
    loop {
        match ex.chunk().await {
            Ok(Some(chunk)) if raw.len() + chunk.len() <= MAX_RESULT => {
                raw.extend_from_slice(&chunk)
            }
            Ok(Some(_)) => {
                return upstream_failed(UpstreamError::Protocol("the answer is too large".into()));
            }
            Ok(None) => break,
            Err(e) => return upstream_failed(e),
        }
    }
    ex.release(&state.connector).await;
    let messages = if sse {
        crate::sse::messages(&raw)
    } else {
        serde_json::from_slice(&raw).into_iter().collect()
    };
    let Some(answer) = messages.into_iter().find(|m| m.get("id") == Some(&id)) else {
        return upstream_failed(UpstreamError::Protocol(
            "no JSON-RPC response in the answer".into(),
        ));
    };
    match (answer.get("result"), answer.get("error")) {
        (Some(result), _) => Reply::json(200, serde_json::to_vec(result).unwrap_or_default()),
        (None, Some(error)) => {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("error");
            upstream_failed(UpstreamError::Protocol(message.to_owned()))
        }
        (None, None) => upstream_failed(UpstreamError::Protocol(
            "a response with neither result nor error".into(),
        )),
    }
}
