//! The MCP methods the gateway answers or forwards: one `POST /mcp`, top to bottom.

use std::sync::Arc;

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use serde_json::{Value, json};

use crate::accept;
use crate::authn::{self, AuthError, Principal};
use crate::decide::{self, Verdict};
use crate::jsonrpc::{self, Body, Message};
use crate::lookup::ToolEntry;
use crate::respond::Reply;
use crate::session::SessionState;
use crate::state::{CallLog, State};
use crate::upstream::{Exchange, Upstream, UpstreamError};
use std::collections::{BTreeMap, HashMap};

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
                return Some(relay_to_upstream(state, session, &principal, &other, body).await);
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
        "tools/list" => Some(tools_list(state, &principal, &id, &conversation).await),
        "tools/call" => {
            tools_call(state, session, log, &principal, &conversation, id, params).await
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

/// A client's notification, or its answer to a request an upstream sent during a call,
/// goes to the upstream(s) of its session: an answer to the upstream that asked, a
/// notification to every upstream of the session. Accepted with 202 either way.
async fn relay_to_upstream(
    state: &State,
    session: &Session,
    principal: &Principal,
    message: &Message,
    body: Vec<u8>,
) -> Reply {
    let (id, sealed) = match open_session(state, session, principal) {
        Ok(Conversation::Session { id, state: sealed }) => (id, sealed),
        Ok(Conversation::Stateless) => return Reply::accepted(),
        Err(reply) => return reply,
    };
    let targets: Vec<String> = match message {
        Message::Response { id: rid } => state
            .pending
            .remove(&(id.clone(), rid.to_string()))
            .into_iter()
            .collect(),
        Message::Notification { method, .. } if method == "notifications/initialized" => Vec::new(),
        Message::Notification { .. } => state.upstreams.keys().cloned().collect(),
        Message::Request { .. } => Vec::new(),
    };
    let body = Bytes::from(body);
    for name in targets {
        let Some(up) = state.upstreams.get(&name) else {
            continue;
        };
        let sid = state
            .overrides
            .get(&(id.clone(), name.clone()))
            .or_else(|| sealed.upstreams.get(&name).cloned());
        match up
            .post(&state.connector, body.clone(), sid.as_deref())
            .await
        {
            Ok(mut ex) => {
                ex.drain().await;
                ex.release(&state.connector).await;
            }
            Err(e) => tracing::warn!(upstream = %name, "cannot relay the client's message: {e}"),
        }
    }
    Reply::accepted()
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

/// The tools the caller may call (a denied tool is not listed: it looks unknown).
async fn tools_list(
    state: &State,
    principal: &Principal,
    id: &Value,
    conversation: &Conversation,
) -> Reply {
    let tools = listed_tools(state, principal).await;
    let result = match conversation {
        // 2026-07-28 lists say how long they hold; a policy-filtered list is the caller's own.
        Conversation::Stateless => {
            json!({"tools": tools, "ttlMs": 30_000, "cacheScope": "private"})
        }
        Conversation::Session { .. } => json!({"tools": tools}),
    };
    Reply::rpc_result(id, &result)
}

/// The upstreams' current tool definitions (fan-out, cached briefly). An upstream that
/// cannot answer is left out: its tools are listed from the registry alone.
async fn upstream_definitions(state: &State) -> HashMap<String, Arc<HashMap<String, Value>>> {
    let mut out = HashMap::new();
    for (name, up) in &state.upstreams {
        if let Some(cached) = state.upstream_tools.get(name) {
            out.insert(name.clone(), cached);
            continue;
        }
        match tokio::time::timeout(up.request_timeout, up.list_tools(&state.connector)).await {
            Ok(Ok(tools)) => {
                let tools = Arc::new(tools);
                state.upstream_tools.insert(name.clone(), tools.clone());
                out.insert(name.clone(), tools);
            }
            Ok(Err(e)) => {
                state.metrics.upstream_failed(name, &e);
                tracing::warn!(upstream = %name, "tools/list fan-out failed: {e}");
            }
            Err(_) => {
                state.metrics.upstream_failed(name, &UpstreamError::Timeout);
                tracing::warn!(upstream = %name, "tools/list fan-out timed out");
            }
        }
    }
    out
}

/// The tools `principal` may call, merged from the registry and the upstreams: a registered
/// tool its upstream no longer offers is left out; the input schema is always the registry's
/// pinned one; title, annotations and output schema come from the upstream.
pub(crate) async fn listed_tools(state: &State, principal: &Principal) -> Vec<Value> {
    let allowed: Vec<Arc<ToolEntry>> = {
        let catalog = state.catalog.load();
        catalog
            .tools_of(&principal.tenant)
            .filter(|t| {
                let request = decide::call_request(principal, t, &serde_json::Map::new(), true);
                decide::decide(&state.engine, &request).0 != Verdict::Deny
            })
            .cloned()
            .collect()
    };
    let upstream = upstream_definitions(state).await;
    let mut listed: Vec<Value> = allowed
        .iter()
        .filter_map(|t| {
            let offered = match upstream.get(&t.upstream) {
                Some(defs) => Some(defs.get(&t.upstream_name)?),
                None => None,
            };
            let mut def = serde_json::Map::new();
            def.insert("name".into(), Value::String(t.exposed_name.clone()));
            def.insert("inputSchema".into(), t.input_schema.clone());
            let description = if t.description.is_empty() {
                offered.and_then(|o| o.get("description")).cloned()
            } else {
                Some(Value::String(t.description.clone()))
            };
            if let Some(d) = description {
                def.insert("description".into(), d);
            }
            for key in ["title", "annotations", "outputSchema"] {
                if let Some(v) = offered.and_then(|o| o.get(key)) {
                    def.insert(key.into(), v.clone());
                }
            }
            Some(Value::Object(def))
        })
        .collect();
    let name = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_owned);
    listed.sort_by_key(name);
    listed
}

/// Why a call does not go upstream.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Malformed `params`.
    BadParams(jsonrpc::RpcError),
    /// Unknown, or denied: the caller cannot tell which.
    Unknown(String),
    /// The arguments fail the input schema (a tool error a model can correct).
    Invalid(String),
    NeedsApproval {
        tool: String,
        obligations: Value,
        policies: Vec<String>,
    },
}

/// An allowed call, ready to send.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) upstream: String,
    pub(crate) body: Bytes,
}

/// Steps 4 to 6 of a tools/call: look up, validate, decide.
pub(crate) fn plan_call(
    state: &State,
    log: &mut CallLog,
    principal: &Principal,
    id: &Value,
    params: Option<Value>,
) -> Result<Planned, Refusal> {
    let call = jsonrpc::tool_call(id, params.as_ref()).map_err(Refusal::BadParams)?;
    log.tool = Some(call.name.clone());
    let catalog = state.catalog.load_full();
    let Some(tool) = catalog.tool(&principal.tenant, &call.name).cloned() else {
        log.decision = Some("unknown");
        return Err(Refusal::Unknown(call.name));
    };
    let arguments = Value::Object(call.arguments.clone());
    log.arguments_sha256 = Some(crate::audit::canonical_sha256(&arguments));
    let invalid = state.validators.check(&tool, &arguments).err();
    let request = decide::call_request(principal, &tool, &call.arguments, invalid.is_none());
    let deciding = std::time::Instant::now();
    let (verdict, decision) = decide::decide(&state.engine, &request);
    state
        .metrics
        .decision_seconds
        .observe(deciding.elapsed().as_secs_f64());
    log.reasons.clone_from(&decision.reasons);
    match (verdict, invalid) {
        (Verdict::Allow, _) => {}
        (Verdict::Deny, Some(why)) => {
            // Invalid arguments are reported only to a caller who may call the tool at all.
            let as_if_valid = decide::call_request(principal, &tool, &call.arguments, true);
            if decide::decide(&state.engine, &as_if_valid).0 == Verdict::Deny {
                log.decision = Some("deny");
                return Err(Refusal::Unknown(call.name));
            }
            log.decision = Some("invalid");
            return Err(Refusal::Invalid(why));
        }
        (Verdict::Deny, None) => {
            log.decision = Some("deny");
            return Err(Refusal::Unknown(call.name));
        }
        (Verdict::NeedsApproval, _) => {
            // The approval flow hooks in here: find or create an approval bound to this call.
            log.decision = Some("approval_required");
            return Err(Refusal::NeedsApproval {
                tool: call.name,
                obligations: json!(decision.obligations),
                policies: decision.reasons.clone(),
            });
        }
    }
    log.decision = Some("allow");
    log.upstream = Some(tool.upstream.clone());
    let mut forwarded = params.unwrap_or_default();
    if let Some(params) = forwarded.as_object_mut() {
        params.insert("name".into(), Value::String(tool.upstream_name.clone()));
    }
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": forwarded});
    Ok(Planned {
        upstream: tool.upstream.clone(),
        body: Bytes::from(body.to_string()),
    })
}

async fn tools_call(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
    principal: &Principal,
    conversation: &Conversation,
    id: Value,
    params: Option<Value>,
) -> Option<Reply> {
    match plan_call(state, log, principal, &id, params) {
        Ok(planned) => forward(state, session, log, conversation, &planned, &id).await,
        Err(Refusal::BadParams(e)) => Some(Reply::rpc_error(200, &e.id, e.code, &e.message)),
        Err(Refusal::Unknown(name)) => Some(Reply::rpc_error(
            200,
            &id,
            jsonrpc::INVALID_PARAMS,
            &format!("unknown tool: `{name}`"),
        )),
        Err(Refusal::Invalid(why)) => {
            let result = json!({"content": [{"type": "text", "text": why}], "isError": true});
            Some(Reply::rpc_result(&id, &result))
        }
        Err(Refusal::NeedsApproval {
            tool,
            obligations,
            policies,
        }) => {
            let body = jsonrpc::error_body(
                &id,
                jsonrpc::APPROVAL_REQUIRED,
                &format!("tool `{tool}` needs a human approval for this call"),
                Some(&json!({"obligations": obligations, "policies": policies})),
            );
            Some(Reply::json(200, body))
        }
    }
}

/// The upstream session to use: the one sealed in the caller's session (or its replacement
/// after the upstream lost it), else the shared one of stateless callers. `stale` is a
/// session the upstream just answered 404 for: a new one is opened in its place.
async fn upstream_session(
    state: &State,
    conversation: &Conversation,
    name: &str,
    up: &Upstream,
    stale: Option<&str>,
) -> Result<Option<String>, UpstreamError> {
    match conversation {
        Conversation::Stateless => {
            if stale.is_some() {
                up.forget_shared(stale).await;
            }
            up.shared_session(&state.connector).await
        }
        Conversation::Session { id, state: sealed } => {
            let key = (id.clone(), name.to_owned());
            let known = state
                .overrides
                .get(&key)
                .or_else(|| sealed.upstreams.get(name).cloned());
            match known {
                Some(sid) if stale != Some(sid.as_str()) => Ok(Some(sid)),
                _ => {
                    let fresh = up
                        .open_session(&state.connector, &sealed.capabilities)
                        .await?;
                    if let Some(sid) = &fresh {
                        state.overrides.insert(key, sid.clone());
                    }
                    Ok(fresh)
                }
            }
        }
    }
}

/// Step 9: send the call to its upstream, exactly once; the response header is read.
pub(crate) async fn exchange(
    state: &State,
    log: &mut CallLog,
    conversation: &Conversation,
    planned: &Planned,
) -> Result<Exchange, UpstreamError> {
    let upstream = planned.upstream.as_str();
    let Some(up) = state.upstreams.get(upstream) else {
        return Err(UpstreamError::Connect("not configured".into()));
    };
    let started = std::time::Instant::now();
    let exchange = tokio::time::timeout(up.request_timeout, async {
        // A 404 means the upstream lost our session and did not run the call: open a new
        // session once and send it again. Nothing else is ever re-sent.
        let mut stale = None;
        for _ in 0..2 {
            let sid = upstream_session(state, conversation, upstream, up, stale.as_deref()).await?;
            let mut ex = up
                .post(&state.connector, planned.body.clone(), sid.as_deref())
                .await?;
            let status = ex.status();
            if (200..300).contains(&status) {
                return Ok(ex);
            }
            ex.drain().await;
            ex.release(&state.connector).await;
            if status == 404 && sid.is_some() && stale.is_none() {
                stale = sid;
                continue;
            }
            if status == 400 && sid.is_some() {
                // Some servers answer 400 for a session they no longer know. Whether or not
                // that is why, the call is not re-sent: a fresh session is ready for the next.
                let _ = upstream_session(state, conversation, upstream, up, sid.as_deref()).await;
            }
            return Err(UpstreamError::Status(status));
        }
        Err(UpstreamError::Protocol(
            "the upstream keeps losing the session".into(),
        ))
    })
    .await
    .unwrap_or(Err(UpstreamError::Timeout));
    match &exchange {
        Ok(ex) => {
            log.upstream_status = Some(ex.status());
            log.upstream_latency = Some(started.elapsed());
            state
                .metrics
                .upstream_seconds
                .with_label_values(&[upstream])
                .observe(started.elapsed().as_secs_f64());
        }
        Err(e) => state.metrics.upstream_failed(upstream, e),
    }
    exchange
}

/// Sends an allowed call and streams the upstream's answer (JSON or SSE) back as it comes.
async fn forward(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
    conversation: &Conversation,
    planned: &Planned,
    id: &Value,
) -> Option<Reply> {
    let failed = |e: UpstreamError| {
        Reply::rpc_error(
            200,
            id,
            jsonrpc::UPSTREAM_ERROR,
            &format!("upstream `{}`: {e}", planned.upstream),
        )
    };
    let mut ex = match exchange(state, log, conversation, planned).await {
        Ok(ex) => ex,
        Err(e) => return Some(failed(e)),
    };
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
    // Keep the client's connection reusable: pass the length on, or chunk the stream.
    let framing = match ex.header("content-length") {
        Some(len) => header.insert_header("content-length", len),
        None => header.insert_header("transfer-encoding", "chunked"),
    };
    if framing.is_err() {
        return Some(failed(UpstreamError::Protocol("bad framing".into())));
    }
    if session
        .write_response_header(Box::new(header), false)
        .await
        .is_err()
    {
        return None;
    }
    // Requests the upstream sends the client during the call are noted, so the client's
    // answers (separate POSTs) find their way back to this upstream.
    let mut requests = match conversation {
        Conversation::Session { id, .. }
            if ex
                .header("content-type")
                .is_some_and(|c| c.starts_with("text/event-stream")) =>
        {
            Some((id.clone(), crate::sse::Scanner::default()))
        }
        _ => None,
    };
    loop {
        match ex.chunk().await {
            Ok(Some(chunk)) => {
                if let Some((sid, scanner)) = &mut requests {
                    for message in scanner.push(&chunk) {
                        if let (Some(rid), Some(_)) = (message.get("id"), message.get("method")) {
                            state
                                .pending
                                .insert((sid.clone(), rid.to_string()), planned.upstream.clone());
                        }
                    }
                }
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
                tracing::warn!(upstream = %planned.upstream, "upstream response broke off: {e}");
                break;
            }
        }
    }
    let _ = session.write_response_body(None, true).await;
    ex.release(&state.connector).await;
    None
}

/// `GET /mcp`: the session's server-to-client stream, merged from every upstream session
/// that offers one (405 when none does). Events pass whole; requests among them are noted so
/// the client's answers reach the upstream that asked.
pub(crate) async fn stream(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
) -> Option<Reply> {
    let principal = match principal(state, session, log).await {
        Ok(p) => p,
        Err(reply) => return Some(reply),
    };
    log.method = Some("stream".into());
    let (id, sealed) = match open_session(state, session, &principal) {
        Ok(Conversation::Session { id, state: sealed }) => (id, sealed),
        Ok(Conversation::Stateless) => {
            return Some(Reply::http_error(
                405,
                "method_not_allowed",
                "no stream without a session",
            ));
        }
        Err(reply) => return Some(reply),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, String)>(256);
    let mut opened = 0;
    for (name, up) in &state.upstreams {
        let Some(sid) = state
            .overrides
            .get(&(id.clone(), name.clone()))
            .or_else(|| sealed.upstreams.get(name).cloned())
        else {
            continue;
        };
        match up.open_stream(&state.connector, &sid).await {
            Ok(Some(mut ex)) => {
                opened += 1;
                let (tx, name) = (tx.clone(), name.clone());
                tokio::spawn(async move {
                    let mut scanner = crate::sse::Scanner::default();
                    loop {
                        // Stop as soon as the client's stream is gone, even if this one is quiet.
                        let chunk = tokio::select! {
                            chunk = ex.chunk() => chunk,
                            () = tx.closed() => return,
                        };
                        let Ok(Some(chunk)) = chunk else { return };
                        for event in scanner.push_events(&chunk) {
                            if tx.send((name.clone(), event)).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(upstream = %name, "cannot open the upstream stream: {e}"),
        }
    }
    drop(tx);
    if opened == 0 {
        return Some(
            Reply::http_error(
                405,
                "method_not_allowed",
                "no upstream offers a server-to-client stream",
            )
            .with_header("allow", "POST, DELETE".into()),
        );
    }
    let Ok(mut header) = ResponseHeader::build(200, Some(3)) else {
        return None;
    };
    let framing = header
        .insert_header("content-type", "text/event-stream")
        .and_then(|()| header.insert_header("cache-control", "no-cache"))
        .and_then(|()| header.insert_header("transfer-encoding", "chunked"));
    if framing.is_err()
        || session
            .write_response_header(Box::new(header), false)
            .await
            .is_err()
    {
        return None;
    }
    // A comment line every 15 s keeps proxies from closing a quiet stream and tells us
    // when the client has gone.
    let mut keepalive = tokio::time::interval(std::time::Duration::from_secs(15));
    keepalive.tick().await;
    loop {
        let (upstream, event) = tokio::select! {
            next = rx.recv() => match next {
                Some(next) => next,
                None => break,
            },
            _ = keepalive.tick() => {
                if session.write_response_body(Some(Bytes::from_static(b": keep-alive\n\n")), false).await.is_err() {
                    return None;
                }
                continue;
            }
        };
        for message in crate::sse::messages(format!("{event}\n\n").as_bytes()) {
            if let (Some(rid), Some(_)) = (message.get("id"), message.get("method")) {
                state
                    .pending
                    .insert((id.clone(), rid.to_string()), upstream.clone());
            }
        }
        let block = Bytes::from(format!("{event}\n\n"));
        if session
            .write_response_body(Some(block), false)
            .await
            .is_err()
        {
            // The client went away: dropping the receiver ends the upstream readers.
            return None;
        }
    }
    let _ = session.write_response_body(None, true).await;
    None
}
