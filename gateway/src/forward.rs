//! Step 9: forwarding to upstreams — calls, the GET stream, and the client's answers and
//! notifications — each sent once.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use serde_json::Value;

use crate::authn::Principal;
use crate::jsonrpc::{self, Message};
use crate::mcp::{Conversation, open_session, principal};
use crate::respond::Reply;
use crate::state::{CallLog, State};
use crate::upstream::{Exchange, Upstream, UpstreamError};

/// A client's notification, or its answer to a request an upstream sent during a call,
/// goes to the upstream(s) of its session: an answer to the upstream that asked, a
/// notification to every upstream of the session. Accepted with 202 either way.
pub(crate) async fn relay_to_upstream(
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

/// The upstream session to use: the one sealed in the caller's session (or its replacement
/// after the upstream lost it), else the shared one of stateless callers. `stale` is a
/// session the upstream just answered 404 for: a new one is opened in its place.
pub(crate) async fn upstream_session(
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
    planned: &crate::tools::Planned,
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
pub(crate) async fn forward(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
    conversation: &Conversation,
    planned: &crate::tools::Planned,
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
