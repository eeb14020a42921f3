//! The MCP methods the gateway answers or forwards: one `POST /mcp`, top to bottom.

use std::sync::Arc;

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use serde_json::{Value, json};

use crate::authn::{self, AuthError, Principal};
use crate::decide::{self, Verdict};
use crate::jsonrpc::{self, Body, Message};
use crate::lookup::ToolEntry;
use crate::respond::Reply;
use crate::state::{CallLog, State};
use crate::{accept, upstream::UpstreamError};

/// Protocol versions of the session era the gateway speaks with clients.
const SUPPORTED: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];

/// Handles `POST /mcp`. Returns the reply to send, or `None` when the response was streamed.
pub(crate) async fn post(state: &State, session: &mut Session, log: &mut CallLog) -> Option<Reply> {
    let catalog = state.catalog.load_full();
    let auth = session
        .req_header()
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let principal = match authn::authenticate(auth.as_deref(), &state.tokens, &catalog) {
        Ok(p) => p,
        Err(e) => return Some(refuse(session, &e)),
    };
    log.principal = Some(principal.id.clone());
    log.tenant = Some(principal.tenant.clone());
    log.chain.clone_from(&principal.chain);
    let body = match accept::read_json_body(session, state.config.body_limit).await {
        Ok(b) => b,
        Err(reply) => return Some(reply),
    };
    let message = match jsonrpc::parse(&body) {
        Ok(Body::Single(m)) => m,
        Ok(Body::Batch(_)) => {
            return Some(Reply::rpc_error(
                400,
                &Value::Null,
                jsonrpc::INVALID_REQUEST,
                "batches are not supported: send one JSON-RPC message per request",
            ));
        }
        Err(e) => return Some(Reply::rpc_error(400, &e.id, e.code, &e.message)),
    };
    log.method = message.method().map(str::to_owned);
    let (id, method, params) = match message {
        Message::Request { id, method, params } => (id, method, params),
        Message::Notification { .. } | Message::Response { .. } => return Some(Reply::accepted()),
    };
    match method.as_str() {
        "initialize" => Some(initialize(&id, params.as_ref())),
        "ping" => Some(Reply::rpc_result(&id, &json!({}))),
        "tools/list" => Some(tools_list(state, &principal, &id)),
        "tools/call" => tools_call(state, session, log, &principal, id, params).await,
        other => Some(Reply::rpc_error(
            200,
            &id,
            jsonrpc::METHOD_NOT_FOUND,
            &format!("method not found: `{other}`"),
        )),
    }
}

/// 401 (with the RFC 9728 pointer) or 403.
fn refuse(session: &Session, e: &AuthError) -> Reply {
    let host = session
        .req_header()
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    let metadata = format!("http://{host}/.well-known/oauth-protected-resource/mcp");
    match e {
        AuthError::Missing => {
            Reply::http_error(401, "unauthorized", "missing `Authorization: Bearer` token")
                .with_header(
                    "www-authenticate",
                    format!("Bearer resource_metadata=\"{metadata}\""),
                )
        }
        AuthError::Invalid(why) => Reply::http_error(401, "invalid_token", why).with_header(
            "www-authenticate",
            format!("Bearer error=\"invalid_token\", resource_metadata=\"{metadata}\""),
        ),
        AuthError::NotAnNhi(why) => Reply::http_error(403, "forbidden", why),
    }
}

fn initialize(id: &Value, params: Option<&Value>) -> Reply {
    let asked = params
        .and_then(|p| p.get("protocolVersion"))
        .and_then(Value::as_str);
    let version = asked
        .filter(|v| SUPPORTED.contains(v))
        .unwrap_or(SUPPORTED[1]);
    let result = json!({
        "protocolVersion": version,
        "capabilities": {"tools": {"listChanged": false}},
        "serverInfo": {"name": "portcullis", "version": env!("CARGO_PKG_VERSION")},
    });
    Reply::rpc_result(id, &result)
        .with_header("mcp-session-id", uuid::Uuid::new_v4().simple().to_string())
}

/// The tools the caller may call (a denied tool is not listed: it looks unknown).
fn tools_list(state: &State, principal: &Principal, id: &Value) -> Reply {
    let catalog = state.catalog.load();
    let mut tools: Vec<&Arc<ToolEntry>> = catalog
        .tools_of(&principal.tenant)
        .filter(|t| {
            let request = decide::call_request(principal, t, &serde_json::Map::new(), true);
            decide::decide(&state.engine, &request).0 != Verdict::Deny
        })
        .collect();
    tools.sort_by(|a, b| a.exposed_name.cmp(&b.exposed_name));
    let listed: Vec<Value> = tools
        .iter()
        .map(|t| json!({"name": t.exposed_name, "description": t.description, "inputSchema": t.input_schema}))
        .collect();
    Reply::rpc_result(id, &json!({"tools": listed}))
}

async fn tools_call(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
    principal: &Principal,
    id: Value,
    params: Option<Value>,
) -> Option<Reply> {
    let call = match jsonrpc::tool_call(&id, params.as_ref()) {
        Ok(c) => c,
        Err(e) => return Some(Reply::rpc_error(200, &e.id, e.code, &e.message)),
    };
    log.tool = Some(call.name.clone());
    let unknown = || {
        Reply::rpc_error(
            200,
            &id,
            jsonrpc::INVALID_PARAMS,
            &format!("unknown tool: `{}`", call.name),
        )
    };
    let catalog = state.catalog.load_full();
    let Some(tool) = catalog.tool(&principal.tenant, &call.name).cloned() else {
        log.decision = Some("unknown");
        return Some(unknown());
    };
    let arguments = Value::Object(call.arguments.clone());
    let invalid = state.validators.check(&tool, &arguments).err();
    let request = decide::call_request(principal, &tool, &call.arguments, invalid.is_none());
    let (verdict, decision) = decide::decide(&state.engine, &request);
    log.reasons.clone_from(&decision.reasons);
    match (verdict, invalid) {
        (Verdict::Allow, _) => {}
        (Verdict::Deny, Some(why)) => {
            // Invalid arguments are reported only to a caller who may call the tool at all.
            let as_if_valid = decide::call_request(principal, &tool, &call.arguments, true);
            if decide::decide(&state.engine, &as_if_valid).0 == Verdict::Deny {
                log.decision = Some("deny");
                return Some(unknown());
            }
            log.decision = Some("invalid");
            let result = json!({"content": [{"type": "text", "text": why}], "isError": true});
            return Some(Reply::rpc_result(&id, &result));
        }
        (Verdict::Deny, None) => {
            log.decision = Some("deny");
            return Some(unknown());
        }
        (Verdict::NeedsApproval, _) => {
            log.decision = Some("approval_required");
            let body = jsonrpc::error_body(
                &id,
                jsonrpc::APPROVAL_REQUIRED,
                &format!("tool `{}` needs a human approval for this call", call.name),
                Some(&json!({"obligations": decision.obligations, "policies": decision.reasons})),
            );
            return Some(Reply::json(200, body));
        }
    }
    log.decision = Some("allow");
    log.upstream = Some(tool.upstream.clone());
    let mut forwarded = params.unwrap_or_default();
    if let Some(params) = forwarded.as_object_mut() {
        params.insert("name".into(), Value::String(tool.upstream_name.clone()));
    }
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": forwarded});
    forward(
        state,
        session,
        log,
        &tool.upstream,
        &id,
        Bytes::from(body.to_string()),
    )
    .await
}

/// Step 9: send the call to its upstream exactly once and stream the answer back.
async fn forward(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
    upstream: &str,
    id: &Value,
    body: Bytes,
) -> Option<Reply> {
    let failed = |e: UpstreamError| {
        Reply::rpc_error(
            200,
            id,
            jsonrpc::UPSTREAM_ERROR,
            &format!("upstream `{upstream}`: {e}"),
        )
    };
    let Some(up) = state.upstreams.get(upstream) else {
        return Some(failed(UpstreamError::Connect("not configured".into())));
    };
    let started = std::time::Instant::now();
    let exchange = tokio::time::timeout(up.request_timeout, async {
        // A 404 means the upstream lost our session and did not run the call: re-initialize
        // once and send it again. Nothing else is ever re-sent.
        let mut stale = None;
        for _ in 0..2 {
            let sid = up.session(&state.connector).await?;
            let ex = up
                .post(&state.connector, body.clone(), sid.as_deref())
                .await?;
            if ex.status() == 404 && sid.is_some() && stale.is_none() {
                ex.release(&state.connector).await;
                up.forget_session(sid.as_deref()).await;
                stale = sid;
                continue;
            }
            return Ok(ex);
        }
        Err(UpstreamError::Protocol(
            "the upstream keeps losing the session".into(),
        ))
    })
    .await;
    let mut ex = match exchange {
        Ok(Ok(ex)) => ex,
        Ok(Err(e)) => return Some(failed(e)),
        Err(_) => return Some(failed(UpstreamError::Timeout)),
    };
    log.upstream_status = Some(ex.status());
    log.upstream_latency = Some(started.elapsed());
    let status = ex.status();
    let content_type = ex
        .header("content-type")
        .unwrap_or_else(|| "application/json".into());
    let Ok(mut header) = ResponseHeader::build(status, Some(2)) else {
        return Some(failed(UpstreamError::Protocol("bad status".into())));
    };
    if header.insert_header("content-type", content_type).is_err() {
        return Some(failed(UpstreamError::Protocol("bad content type".into())));
    }
    if session
        .write_response_header(Box::new(header), false)
        .await
        .is_err()
    {
        return None;
    }
    loop {
        match ex.chunk().await {
            Ok(Some(chunk)) => {
                if session
                    .write_response_body(Some(chunk), false)
                    .await
                    .is_err()
                {
                    return None;
                }
            }
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(upstream, "upstream response broke off: {e}");
                break;
            }
        }
    }
    let _ = session.write_response_body(None, true).await;
    ex.release(&state.connector).await;
    None
}
