//! The MCP methods the gateway answers or forwards: one `POST /mcp`, top to bottom.

use std::collections::BTreeMap;

use pingora::proxy::Session;
use serde_json::{Map, Value, json};

use crate::accept;
use crate::authn::{self, Principal};
use crate::discovery::Family;
use crate::error::Error;
use crate::forward::Target;
use crate::jsonrpc::{self, Message};
use crate::respond::{Answer, Reply};
use crate::session::{Conversation, SessionState};
use crate::state::{CallLog, State};

/// Protocol versions of the session era the gateway speaks with clients.
const SESSION_ERA: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];
/// The stateless era: no initialize, no sessions, headers that repeat the body.
const STATELESS: &str = "2026-07-28";
/// Every protocol version the gateway speaks, newest first.
pub(crate) const SUPPORTED_VERSIONS: [&str; 4] =
    [STATELESS, SESSION_ERA[0], SESSION_ERA[1], SESSION_ERA[2]];

/// Whether the request speaks the stateless 2026-07-28 protocol (which has no GET stream
/// and no DELETE: 405 for both).
pub(crate) fn is_stateless(session: &Session) -> bool {
    header(session, "mcp-protocol-version") == Some(STATELESS)
}

fn header<'a>(session: &'a Session, name: &str) -> Option<&'a str> {
    session
        .req_header()
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
}

/// Handles `POST /mcp`.
pub(crate) async fn post(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
) -> Result<Answer, Error> {
    let principal = authn::caller(state, session, log).await?;
    let body = accept::read_json_body(session, state.config.body_limit).await?;
    let message = jsonrpc::parse(&body).map_err(|rejected| {
        log.id = Some(rejected.id);
        rejected.error
    })?;
    log.id = Some(message.reply_id());
    log.method = Some(message.method().unwrap_or("response").to_owned());
    let stateless = match header(session, "mcp-protocol-version") {
        Some(STATELESS) => true,
        Some(v) if SESSION_ERA.contains(&v) => false,
        None => false,
        Some(v) => {
            let shown: String = v.chars().take(64).collect();
            return Err(Error::Version(shown));
        }
    };
    if stateless {
        check_stateless_headers(session, &message)?;
    }
    match message {
        // Boxed: their futures are large, and a call's should stay small.
        Message::Notification { method, params } => {
            Box::pin(crate::relay::notification(
                state, session, &principal, stateless, &method, params,
            ))
            .await
        }
        Message::Response { id, outcome } => {
            Box::pin(crate::relay::answer(
                state, session, &principal, stateless, &id, &outcome,
            ))
            .await
        }
        Message::Request { id, method, params } => {
            request(
                state, session, log, &principal, stateless, &id, &method, params,
            )
            .await
        }
    }
}

/// One request, by method.
#[expect(
    clippy::too_many_arguments,
    reason = "the request's parts, each used once"
)]
async fn request(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
    principal: &Principal,
    stateless: bool,
    id: &Value,
    method: &str,
    params: Option<Map<String, Value>>,
) -> Result<Answer, Error> {
    if method == "initialize" {
        if stateless {
            return Err(Error::InvalidRequest(
                "the 2026-07-28 protocol has no `initialize`: use `server/discover`".into(),
            ));
        }
        return Box::pin(initialize(state, principal, id, params.as_ref())).await;
    }
    let conversation = if stateless {
        Conversation::Stateless
    } else {
        Conversation::open(state, session, principal)?
    };
    let to = Target {
        principal,
        conversation: &conversation,
    };
    let planned = match method {
        "ping" => return Ok(Reply::rpc_result(id, &json!({})).into()),
        "server/discover" => return Ok(Reply::rpc_result(id, &discover(STATELESS)).into()),
        "tools/list" => {
            return Ok(
                Box::pin(crate::tools::list(state, principal, id, &conversation))
                    .await
                    .into(),
            );
        }
        // The lists are boxed: their futures are large, and a call's should stay small.
        "prompts/list" => {
            return Ok(
                Box::pin(crate::prompts::list(state, to, id, params.as_ref()))
                    .await?
                    .into(),
            );
        }
        "resources/list" => {
            return Ok(Box::pin(crate::resources::list(
                state,
                to,
                Family::Resources,
                id,
                params.as_ref(),
            ))
            .await?
            .into());
        }
        "resources/templates/list" => {
            return Ok(Box::pin(crate::resources::list(
                state,
                to,
                Family::Templates,
                id,
                params.as_ref(),
            ))
            .await?
            .into());
        }
        "logging/setLevel" => return Box::pin(set_level(state, to, id, params)).await,
        "tools/call" => crate::tools::plan(state, log, principal, params).await?,
        // Boxed, as the lists are: these plans may read upstream lists (large futures).
        "prompts/get" => Box::pin(crate::prompts::plan_get(state, log, principal, params)).await?,
        "resources/read" => {
            Box::pin(crate::resources::plan(
                state,
                log,
                to,
                "resources/read",
                params,
            ))
            .await?
        }
        "resources/subscribe" => {
            Box::pin(crate::resources::plan(
                state,
                log,
                to,
                "resources/subscribe",
                params,
            ))
            .await?
        }
        "resources/unsubscribe" => {
            Box::pin(crate::resources::plan(
                state,
                log,
                to,
                "resources/unsubscribe",
                params,
            ))
            .await?
        }
        "completion/complete" => Box::pin(crate::completion::plan(state, log, to, params)).await?,
        other => return Err(Error::MethodNotFound(other.to_owned())),
    };
    crate::forward::call(state, session, log, to, planned, id).await
}

/// The log levels of MCP (RFC 5424's).
const LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

/// `logging/setLevel`: sent to every upstream, in the caller's own upstream sessions; an
/// upstream that does not log is passed over.
async fn set_level(
    state: &State,
    to: Target<'_>,
    id: &Value,
    params: Option<Map<String, Value>>,
) -> Result<Answer, Error> {
    let level = params
        .as_ref()
        .and_then(|p| p.get("level"))
        .and_then(Value::as_str)
        .filter(|l| LEVELS.contains(l))
        .ok_or_else(|| {
            Error::InvalidParams(format!("`level` must be one of {}", LEVELS.join(", ")))
        })?;
    let mut forwarded = Map::new();
    forwarded.insert("level".into(), Value::String(level.to_owned()));
    let mut upstreams: Vec<&String> = state.upstreams.keys().collect();
    upstreams.sort();
    for upstream in upstreams {
        let gid = state.ids.next();
        let body = bytes::Bytes::from(jsonrpc::request_body(
            &gid,
            "logging/setLevel",
            Some(&forwarded),
        ));
        let mut scratch = CallLog::default();
        let answered = match crate::forward::exchange(state, &mut scratch, to, upstream, body).await
        {
            Ok((ex, _)) => ex.answer(&gid).await.map(|a| a.error),
            Err(e) => {
                tracing::debug!(%upstream, "logging/setLevel not passed on: {e}");
                continue;
            }
        };
        match answered {
            Ok(None) => {}
            Ok(Some(e)) => tracing::debug!(%upstream, "logging/setLevel refused: {}", e.message),
            Err(e) => tracing::debug!(%upstream, "logging/setLevel not passed on: {e}"),
        }
    }
    Ok(Reply::rpc_result(id, &json!({})).into())
}

/// 2026-07-28: `Mcp-Method` and `Mcp-Name` must repeat the body (never authorize on them).
fn check_stateless_headers(session: &Session, message: &Message) -> Result<(), Error> {
    let method = message.method().unwrap_or_default();
    if header(session, "mcp-method") != Some(method) {
        return Err(Error::HeaderMismatch("Mcp-Method"));
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
            return Err(Error::HeaderMismatch("Mcp-Name"));
        }
    }
    Ok(())
}

fn discover(version: &str) -> Value {
    json!({
        "protocolVersion": version,
        "capabilities": {
            "tools": {"listChanged": false},
            "prompts": {"listChanged": true},
            "resources": {"subscribe": true, "listChanged": true},
            "completions": {},
            "logging": {},
        },
        "serverInfo": {"name": "portcullis", "version": env!("CARGO_PKG_VERSION")},
    })
}

/// Opens the session: one upstream session per upstream, for this principal only, sealed
/// into the id.
async fn initialize(
    state: &State,
    principal: &Principal,
    id: &Value,
    params: Option<&Map<String, Value>>,
) -> Result<Answer, Error> {
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
    let conversation = Conversation::Stateless;
    let to = Target {
        principal,
        conversation: &conversation,
    };
    for (name, up) in &state.upstreams {
        // A credential the caller may not use is not presented (its calls are refused).
        let credential = crate::forward::credential(state, to, name).ok().flatten();
        // An upstream that is down now gets its session when first needed.
        match up
            .open_session(
                &state.connector,
                &state.ids,
                &capabilities,
                credential.as_deref(),
            )
            .await
        {
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
    })?;
    state.metrics.sessions_opened.inc();
    Ok(Reply::rpc_result(id, &discover(version))
        .with_header("mcp-session-id", sealed)
        .into())
}

/// Ends a session: its upstream sessions are closed (`DELETE /mcp`).
pub(crate) async fn delete(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
) -> Result<Answer, Error> {
    let principal = authn::caller(state, session, log).await?;
    log.method = Some("session/delete".into());
    if is_stateless(session) {
        return Err(Error::NotAllowed {
            why: "the 2026-07-28 protocol has no sessions to end",
            allow: "POST",
        });
    }
    let conversation = Conversation::open(state, session, &principal)?;
    let Conversation::Session { id, key, .. } = &conversation else {
        return Err(Error::SessionMissing);
    };
    let to = Target {
        principal: &principal,
        conversation: &conversation,
    };
    for (name, sid) in conversation.upstream_sessions(state) {
        if let Some(up) = state.upstreams.get(&name) {
            let credential = crate::forward::credential(state, to, &name).ok().flatten();
            up.close_session(&state.connector, &sid, credential.as_deref())
                .await;
        }
        state.overrides.invalidate(&(*key, name));
    }
    state.ended.insert(*key);
    // Every other gateway on the store ends it too (within `session::ENDED_POLL`).
    if let Some(store) = &state.store {
        let until = time::OffsetDateTime::now_utc() + time::Duration::hours(24);
        if let Err(e) = store.end_session(id, until).await {
            tracing::warn!("the ended session is not shared with other gateways yet: {e}");
            let queued = state
                .end_later
                .as_ref()
                .is_some_and(|later| later.try_send((id.clone(), until)).is_ok());
            if !queued {
                tracing::error!(
                    "too many ended sessions wait for the store: this one is ended at this gateway only"
                );
            }
        }
    }
    state.metrics.sessions_closed.inc();
    Ok(Reply::accepted().with_status(204).into())
}
