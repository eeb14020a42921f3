//! The MCP methods the gateway answers or forwards: one `POST /mcp`, top to bottom.

use std::collections::BTreeMap;

use pingora::proxy::Session;
use serde_json::{Value, json};

use crate::accept;
use crate::authn::{self, AuthError, Principal};
use crate::jsonrpc::{self, Body, Message};
use crate::respond::Reply;
use crate::session::SessionState;
use crate::state::{CallLog, State};

/// Protocol versions of the session era the gateway speaks with clients.
const SESSION_ERA: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];
/// The stateless era: no initialize, no sessions, headers that repeat the body.
const STATELESS: &str = "2026-07-28";

/// How a request relates to an MCP session.
#[derive(Debug)]
pub(crate) enum Conversation {
    /// The 2026-07-28 era: every request stands alone.
    Stateless,
    /// A live session of the caller's, opened from its `Mcp-Session-Id`.
    Session { id: String, state: SessionState },
}

fn header<'a>(session: &'a Session, name: &str) -> Option<&'a str> {
    session
        .req_header()
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
}

/// The principal of a request, or the reply that refuses it.
pub(crate) async fn principal(
    state: &State,
    session: &Session,
    log: &mut CallLog,
) -> Result<Principal, Reply> {
    let catalog = state.catalog.load_full();
    let principal = authn::authenticate(
        header(session, "authorization"),
        &state.tokens,
        &state.issuers,
        &catalog,
    )
    .await
    .map_err(|e| refuse(session, &e))?;
    log.principal = Some(principal.id.clone());
    log.tenant = Some(principal.tenant.clone());
    log.chain.clone_from(&principal.chain);
    if let Some(sink) = &state.store_sink {
        sink.used(&principal.tenant, &principal.id);
    }
    Ok(principal)
}

/// Handles `POST /mcp`. Returns the reply to send, or `None` when the response was streamed.
pub(crate) async fn post(state: &State, session: &mut Session, log: &mut CallLog) -> Option<Reply> {
    let principal = match principal(state, session, log).await {
        Ok(p) => p,
        Err(reply) => return Some(reply),
    };
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
    let version = header(session, "mcp-protocol-version").map(str::to_owned);
    if let Some(v) = version
        .as_deref()
        .filter(|v| *v != STATELESS && !SESSION_ERA.contains(v))
    {
        let data =
            json!({"supported": [STATELESS, SESSION_ERA[0], SESSION_ERA[1], SESSION_ERA[2]]});
        let body = jsonrpc::error_body(
            &request_id(&message),
            jsonrpc::UNSUPPORTED_VERSION,
            &format!("unsupported protocol version `{v}`"),
            Some(&data),
        );
        return Some(Reply::json(400, body));
    }
    if version.as_deref() == Some(STATELESS)
        && let Err(reply) = check_stateless_headers(session, &message)
    {
        return Some(reply);
    }
    let (id, method, params) = match message {
        Message::Request { id, method, params } => (id, method, params),
        other => {
            if version.as_deref() != Some(STATELESS) {
                return Some(
                    crate::forward::relay_to_upstream(state, session, &principal, &other, body)
                        .await,
                );
            }
            return Some(Reply::accepted());
        }
    };
    if method == "initialize" {
        if version.as_deref() == Some(STATELESS) {
            return Some(Reply::rpc_error(
                400,
                &id,
                jsonrpc::INVALID_REQUEST,
                "the 2026-07-28 protocol has no `initialize`: use `server/discover`",
            ));
        }
        return Some(initialize(state, &principal, &id, params.as_ref()).await);
    }
    let conversation = if version.as_deref() == Some(STATELESS) {
        Conversation::Stateless
    } else {
        match open_session(state, session, &principal) {
            Ok(c) => c,
            Err(reply) => return Some(reply),
        }
    };
    match method.as_str() {
        "ping" => Some(Reply::rpc_result(&id, &json!({}))),
        "server/discover" => Some(Reply::rpc_result(&id, &discover(STATELESS))),
        "tools/list" => Some(crate::tools::tools_list(state, &principal, &id, &conversation).await),
        "tools/call" => {
            crate::tools::tools_call(state, session, log, &principal, &conversation, id, params)
                .await
        }
        other => Some(Reply::rpc_error(
            200,
            &id,
            jsonrpc::METHOD_NOT_FOUND,
            &format!("method not found: `{other}`"),
        )),
    }
}

fn request_id(m: &Message) -> Value {
    match m {
        Message::Request { id, .. } | Message::Response { id } => id.clone(),
        Message::Notification { .. } => Value::Null,
    }
}

/// 2026-07-28: `Mcp-Method` and `Mcp-Name` must repeat the body (never authorize on them).
fn check_stateless_headers(session: &Session, message: &Message) -> Result<(), Reply> {
    let id = request_id(message);
    let mismatch = |what: &str| {
        Reply::rpc_error(
            400,
            &id,
            jsonrpc::HEADER_MISMATCH,
            &format!("`{what}` header does not match the body"),
        )
    };
    let method = message.method().unwrap_or_default();
    if header(session, "mcp-method") != Some(method) {
        return Err(mismatch("Mcp-Method"));
    }
    if let Message::Request { params, .. } = message
        && matches!(method, "tools/call" | "resources/read" | "prompts/get")
    {
        let key = if method == "resources/read" {
            "uri"
        } else {
            "name"
        };
        let name = params
            .as_ref()
            .and_then(|p| p.get(key))
            .and_then(Value::as_str);
        if header(session, "mcp-name") != name {
            return Err(mismatch("Mcp-Name"));
        }
    }
    Ok(())
}

/// The caller's session from `Mcp-Session-Id`: 400 without one, 404 for anything but a live
/// session of theirs.
pub(crate) fn open_session(
    state: &State,
    session: &Session,
    principal: &Principal,
) -> Result<Conversation, Reply> {
    let Some(id) = header(session, "mcp-session-id") else {
        return Err(Reply::http_error(
            400,
            "bad_request",
            "missing `Mcp-Session-Id`: initialize first",
        ));
    };
    if state.ended.contains_key(id) {
        return Err(Reply::http_error(
            404,
            "session_not_found",
            "the session has ended: initialize again",
        ));
    }
    match state.sessions.open(id, &principal.tenant, &principal.id) {
        Some(s) => Ok(Conversation::Session {
            id: id.to_owned(),
            state: s,
        }),
        None => Err(Reply::http_error(
            404,
            "session_not_found",
            "unknown or expired session: initialize again",
        )),
    }
}

fn discover(version: &str) -> Value {
    json!({
        "protocolVersion": version,
        "capabilities": {"tools": {"listChanged": false}},
        "serverInfo": {"name": "portcullis", "version": env!("CARGO_PKG_VERSION")},
    })
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

/// Opens the session: one upstream session per upstream, sealed into the id.
async fn initialize(
    state: &State,
    principal: &Principal,
    id: &Value,
    params: Option<&Value>,
) -> Reply {
    let asked = params
        .and_then(|p| p.get("protocolVersion"))
        .and_then(Value::as_str);
    let version = asked
        .filter(|v| SESSION_ERA.contains(v))
        .unwrap_or(SESSION_ERA[1]);
    let capabilities = params
        .and_then(|p| p.get("capabilities"))
        .filter(|c| c.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut upstreams = BTreeMap::new();
    for (name, up) in &state.upstreams {
        // An upstream that is down now gets its session when first needed.
        match up.open_session(&state.connector, &capabilities).await {
            Ok(Some(sid)) => {
                upstreams.insert(name.clone(), sid);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(upstream = %name, "cannot open an upstream session yet: {e}"),
        }
    }
    let sealed = state.sessions.seal(&SessionState {
        tenant: principal.tenant.clone(),
        principal: principal.id.clone(),
        issued: crate::session::now(),
        protocol: version.to_owned(),
        upstreams,
        capabilities,
    });
    match sealed {
        Ok(sid) => {
            state.metrics.sessions_opened.inc();
            Reply::rpc_result(id, &discover(version)).with_header("mcp-session-id", sid)
        }
        Err(e) => Reply::rpc_error(500, id, jsonrpc::INVALID_REQUEST, &e),
    }
}

/// Ends a session: its upstream sessions are closed (`DELETE /mcp`).
pub(crate) async fn delete(state: &State, session: &mut Session, log: &mut CallLog) -> Reply {
    let principal = match principal(state, session, log).await {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    log.method = Some("session/delete".into());
    let (id, s) = match open_session(state, session, &principal) {
        Ok(Conversation::Session { id, state: s }) => (id, s),
        Ok(Conversation::Stateless) => {
            return Reply::http_error(400, "bad_request", "no session to end");
        }
        Err(reply) => return reply,
    };
    for (name, up) in &state.upstreams {
        let sid = state
            .overrides
            .get(&(id.clone(), name.clone()))
            .or_else(|| s.upstreams.get(name).cloned());
        if let Some(sid) = sid {
            up.close_session(&state.connector, &sid).await;
        }
        state.overrides.invalidate(&(id.clone(), name.clone()));
    }
    state.ended.insert(id.clone(), ());
    state.metrics.sessions_closed.inc();
    Reply::accepted().with_status(204)
}
