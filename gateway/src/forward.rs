//! Step 9: forwarding — a decided call to its upstream, exactly once, under a gateway id,
//! and the answer back under the client's id; and the session's server-to-client stream.
//!
//! Every upstream session belongs to one principal: the sessions sealed into a client's
//! MCP session, or for calls outside one (2026-07-28, REST) a per-principal session from a
//! bounded cache. No two principals ever share one.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt as _;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::authn::{self, Principal};
use crate::credentials::Presented;
use crate::error::Error;
use crate::jsonrpc::{self, ErrorObject};
use crate::relay::{self, Relayed};
use crate::respond::{Answer, Reply};
use crate::session::Conversation;
use crate::state::{CallLog, InFlight, State, id_key};
use crate::upstream::{Exchange, Upstream, UpstreamError};

/// Who a forwarded request is for: its principal and how it relates to a session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub(crate) principal: &'a Principal,
    pub(crate) conversation: &'a Conversation,
}

/// The credential `to`'s principal presents to `upstream`, if it needs one (see
/// [`credentials`](crate::credentials)); an error when it needs one the caller may not use.
pub(crate) fn credential(
    state: &State,
    to: Target<'_>,
    upstream: &str,
) -> Result<Option<Arc<Presented>>, Error> {
    let needs = state
        .config
        .upstream(upstream)
        .and_then(|u| u.credential.as_ref());
    state.catalog.load().credentials.for_call(
        &to.principal.tenant,
        &to.principal.id,
        upstream,
        needs,
    )
}

/// The upstream session to use with `up`: the client session's own (or its replacement
/// after the upstream lost it), else the principal's. `stale` is a session the upstream
/// just refused: a new one is opened in its place.
pub(crate) async fn upstream_session(
    state: &State,
    to: Target<'_>,
    up: &Upstream,
    stale: Option<&str>,
    credential: Option<&Presented>,
) -> Result<Option<String>, UpstreamError> {
    match to.conversation {
        // Boxed: the cache's futures are large, and most calls run in a session.
        Conversation::Stateless => {
            Box::pin(principal_session(
                state,
                to.principal,
                up,
                stale,
                credential,
            ))
            .await
        }
        Conversation::Session {
            key, state: sealed, ..
        } => {
            match to.conversation.known_upstream(state, &up.name) {
                Some(sid) if stale != Some(sid.as_str()) => Ok(Some(sid)),
                _ => {
                    // Boxed: opening a session is rare, and its future large.
                    let fresh = Box::pin(up.open_session(
                        &state.connector,
                        &state.ids,
                        &sealed.capabilities,
                        credential,
                    ))
                    .await?;
                    if let Some(sid) = &fresh {
                        state.overrides.insert((*key, up.name.clone()), sid.clone());
                    }
                    Ok(fresh)
                }
            }
        }
    }
}

/// The principal's own upstream session with `up`, for calls outside an MCP session.
async fn principal_session(
    state: &State,
    principal: &Principal,
    up: &Upstream,
    stale: Option<&str>,
    credential: Option<&Presented>,
) -> Result<Option<String>, UpstreamError> {
    let key = (
        principal.tenant.clone(),
        principal.id.clone(),
        up.name.clone(),
    );
    if let Some(stale) = stale
        && state
            .principal_sessions
            .get(&key)
            .await
            .flatten()
            .as_deref()
            == Some(stale)
    {
        state.principal_sessions.invalidate(&key).await;
    }
    let no_capabilities = Value::Object(serde_json::Map::new());
    state
        .principal_sessions
        .try_get_with(
            key,
            up.open_session(&state.connector, &state.ids, &no_capabilities, credential),
        )
        .await
        .map_err(|e| (*e).clone())
}

/// Sends `body` to `upstream`, exactly once; returns the exchange (response header read)
/// and the upstream session it went to. The one re-send: after a 404, the upstream lost
/// the session and did not run the request, so it goes once more in a new session.
pub(crate) async fn exchange(
    state: &State,
    log: &mut CallLog,
    to: Target<'_>,
    upstream: &str,
    body: Bytes,
) -> Result<(Exchange, Option<String>), Error> {
    let Some(up) = state.upstreams.get(upstream) else {
        return Err(Error::upstream(
            upstream,
            UpstreamError::Connect("not configured".into()),
        ));
    };
    let credential = credential(state, to, upstream)?;
    let credential = credential.as_deref();
    let started = Instant::now();
    let exchange = tokio::time::timeout(up.request_timeout, async {
        let mut stale = None;
        for _ in 0..2 {
            let sid = upstream_session(state, to, up, stale.as_deref(), credential).await?;
            let mut ex = up
                .post(&state.connector, body.clone(), sid.as_deref(), credential)
                .await?;
            let status = ex.status();
            if (200..300).contains(&status) {
                return Ok((ex, sid));
            }
            ex.drain().await;
            ex.release().await;
            if status == 404 && sid.is_some() && stale.is_none() {
                stale = sid;
                continue;
            }
            if status == 400 && sid.is_some() {
                // Some servers answer 400 for a session they no longer know. Whether or not
                // that is why, the call is not re-sent: a fresh session is ready for the next.
                let _ = upstream_session(state, to, up, sid.as_deref(), credential).await;
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
        Ok((ex, _)) => {
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
    exchange.map_err(|e| Error::upstream(upstream, e))
}

/// A decided request, ready to send: where, which method, and the params the gateway
/// serialized from what it decided on.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) upstream: String,
    pub(crate) method: &'static str,
    pub(crate) params: Map<String, Value>,
}

/// Sends a decided request under a gateway id and answers the client under its own id: a
/// JSON answer whole, an event stream event by event as it comes.
pub(crate) async fn call(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
    to: Target<'_>,
    planned: Planned,
    client_id: &Value,
) -> Result<Answer, Error> {
    let gid = state.ids.next();
    let body = Bytes::from(jsonrpc::request_body(
        &gid,
        planned.method,
        Some(&planned.params),
    ));
    let upstream = planned.upstream.as_str();
    // While it runs, the client may cancel it by its own id.
    let _flying = match to.conversation {
        Conversation::Session { key, .. } => state.in_flight.track(
            (*key, id_key(client_id)),
            InFlight {
                upstream: upstream.to_owned(),
                id: gid.clone(),
            },
        ),
        Conversation::Stateless => None,
    };
    async {
        let (ex, sid) = exchange(state, log, to, upstream, body).await?;
        if ex.is_sse() {
            let call = Call {
                upstream,
                upstream_session: sid.as_deref(),
                id: &gid,
                client_id,
            };
            // Boxed: streaming holds more state than the common JSON answer needs.
            Box::pin(stream_answer(state, session, to, ex, call)).await
        } else {
            json_answer(ex, upstream, &gid, client_id)
                .await
                .map(Answer::from)
        }
    }
    .await
}

/// A response as upstreams send it; `result` and `error` stay unparsed text.
#[derive(Deserialize)]
struct Envelope {
    id: Value,
    #[serde(default)]
    result: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

/// A JSON answer, checked to answer `gid`, re-addressed to the client's id.
async fn json_answer(
    ex: Exchange,
    upstream: &str,
    gid: &Value,
    client_id: &Value,
) -> Result<Reply, Error> {
    let raw = ex
        .read_all()
        .await
        .map_err(|e| Error::upstream(upstream, e))?;
    answer_body(&raw, upstream, gid, client_id)
}

/// The client's reply to a JSON answer `raw` from `upstream`: checked to answer `gid`, its
/// result (kept as text) or error re-addressed to the client's id.
pub(crate) fn answer_body(
    raw: &[u8],
    upstream: &str,
    gid: &Value,
    client_id: &Value,
) -> Result<Reply, Error> {
    let protocol = |why: String| Error::upstream(upstream, UpstreamError::Protocol(why));
    let envelope: Envelope = serde_json::from_slice(raw)
        .map_err(|e| protocol(format!("not a JSON-RPC response: {e}")))?;
    if envelope.id != *gid {
        return Err(protocol("the response answers another request".into()));
    }
    let body = match (envelope.result, envelope.error) {
        (Some(result), None) => jsonrpc::result_body(client_id, &result),
        (None, Some(e)) => jsonrpc::error_body(client_id, e.code, &e.message, e.data.as_ref()),
        _ => {
            return Err(protocol(
                "a response needs exactly one of result and error".into(),
            ));
        }
    };
    Ok(Reply::json(200, body))
}

/// The call an event stream answers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    pub(crate) upstream: &'a str,
    pub(crate) upstream_session: Option<&'a str>,
    /// The gateway id the call went upstream with.
    pub(crate) id: &'a Value,
    pub(crate) client_id: &'a Value,
}

/// Relays an event stream answer: notifications as they come, server-to-client requests
/// renamed with gateway ids, and the response under the client's id, which ends it.
async fn stream_answer(
    state: &State,
    session: &mut Session,
    to: Target<'_>,
    ex: Exchange,
    call: Call<'_>,
) -> Result<Answer, Error> {
    if !open_event_stream(session).await? {
        return Ok(Answer::Streamed);
    }
    let mut events = crate::sse::decode(ex.into_stream());
    let mut answered = false;
    // The whole answer must arrive within the upstream's request timeout: a stream that keeps
    // sending events but never the response is cut off.
    let budget = state
        .upstreams
        .get(call.upstream)
        .map_or(std::time::Duration::from_secs(30), |u| u.request_timeout);
    let deadline = tokio::time::Instant::now() + budget;
    let mut timed_out = false;
    loop {
        let event = tokio::select! {
            event = events.next() => event,
            () = tokio::time::sleep_until(deadline) => {
                timed_out = true;
                None
            }
        };
        let Some(event) = event else { break };
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(upstream = %call.upstream, "upstream event stream broke off: {e}");
                break;
            }
        };
        let Some(message) = crate::sse::message(&event) else {
            continue;
        };
        let bytes = match relay::from_upstream(
            state,
            to.conversation,
            call.upstream,
            call.upstream_session,
            message,
            Some(call),
        ) {
            Relayed::Forward(bytes) => bytes,
            Relayed::Final(bytes) => {
                answered = true;
                bytes
            }
            Relayed::Drop => continue,
        };
        if session
            .write_response_body(Some(crate::sse::event(&bytes)), false)
            .await
            .is_err()
        {
            // The client went away: dropping the exchange closes the upstream connection.
            return Ok(Answer::Streamed);
        }
        if answered {
            break;
        }
    }
    if !answered {
        let why = if timed_out {
            "did not answer in time (its event stream went on without a response)"
        } else {
            "the event stream ended without a response"
        };
        let failed = jsonrpc::error_body(
            call.client_id,
            jsonrpc::UPSTREAM_ERROR,
            &format!("upstream `{}`: {why}", call.upstream),
            None,
        );
        let _ = session
            .write_response_body(Some(crate::sse::event(&failed)), false)
            .await;
    }
    let _ = session.write_response_body(None, true).await;
    Ok(Answer::Streamed)
}

/// Starts an event-stream response; `false` when the client has already gone.
pub(crate) async fn open_event_stream(session: &mut Session) -> Result<bool, Error> {
    let header = || -> pingora::Result<ResponseHeader> {
        let mut header = ResponseHeader::build(200, Some(3))?;
        header.insert_header("content-type", "text/event-stream")?;
        header.insert_header("cache-control", "no-cache")?;
        header.insert_header("transfer-encoding", "chunked")?;
        Ok(header)
    };
    let header =
        header().map_err(|e| Error::Internal(format!("cannot build the stream header: {e}")))?;
    Ok(session
        .write_response_header(Box::new(header), false)
        .await
        .is_ok())
}

/// `GET /mcp`: the session's server-to-client stream, merged from every upstream session
/// that offers one (405 when none does). Notifications pass; requests are renamed with
/// gateway ids so the client's answers reach the upstream that asked.
pub(crate) async fn stream(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
) -> Result<Answer, Error> {
    let principal = authn::caller(state, session, log).await?;
    log.method = Some("stream".into());
    if crate::mcp::is_stateless(session) {
        return Err(Error::NotAllowed {
            why: "the 2026-07-28 protocol has no server-to-client stream",
            allow: "POST",
        });
    }
    let conversation = Conversation::open(state, session, &principal)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, String, Value)>(256);
    let mut opened = 0;
    for (name, sid) in conversation.upstream_sessions(state) {
        let Some(up) = state.upstreams.get(&name) else {
            continue;
        };
        let to = Target {
            principal: &principal,
            conversation: &conversation,
        };
        let credential = credential(state, to, &name).ok().flatten();
        match up
            .open_stream(&state.connector, &sid, credential.as_deref())
            .await
        {
            Ok(Some(ex)) => {
                opened += 1;
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut events = crate::sse::decode(ex.into_stream());
                    loop {
                        // Stop as soon as the client's stream is gone, even if this one is quiet.
                        let event = tokio::select! {
                            event = events.next() => event,
                            () = tx.closed() => return,
                        };
                        let Some(Ok(event)) = event else { return };
                        if let Some(message) = crate::sse::message(&event)
                            && tx.send((name.clone(), sid.clone(), message)).await.is_err()
                        {
                            return;
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
        return Err(Error::NotAllowed {
            why: "no upstream offers a server-to-client stream",
            allow: "POST, DELETE",
        });
    }
    if !open_event_stream(session).await? {
        return Ok(Answer::Streamed);
    }
    // A comment line every 15 s keeps proxies from closing a quiet stream and tells us
    // when the client has gone.
    let mut keepalive = tokio::time::interval(std::time::Duration::from_secs(15));
    keepalive.tick().await;
    loop {
        let (upstream, sid, message) = tokio::select! {
            next = rx.recv() => match next {
                Some(next) => next,
                None => break,
            },
            _ = keepalive.tick() => {
                if session.write_response_body(Some(Bytes::from_static(b": keep-alive\n\n")), false).await.is_err() {
                    return Ok(Answer::Streamed);
                }
                continue;
            }
        };
        let Relayed::Forward(bytes) =
            relay::from_upstream(state, &conversation, &upstream, Some(&sid), message, None)
        else {
            continue;
        };
        if session
            .write_response_body(Some(crate::sse::event(&bytes)), false)
            .await
            .is_err()
        {
            // The client went away: dropping the receiver ends the upstream readers.
            return Ok(Answer::Streamed);
        }
    }
    let _ = session.write_response_body(None, true).await;
    Ok(Answer::Streamed)
}
