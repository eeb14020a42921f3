//! Messages that are not calls: the client's notifications and answers on their way to the
//! upstreams of its session, and what upstreams send the client besides their answers.
//!
//! Both directions are re-serialized from the parsed message. Client messages go only to
//! the upstreams of the client's own session: a notification only when its method is under
//! `notifications/`, an answer only when it answers a request an upstream of that session
//! sent and the gateway renamed. Server-to-client requests get gateway-unique ids, so two
//! upstreams (or two of their sessions) can never be confused.

use std::sync::Arc;

use bytes::Bytes;
use pingora::proxy::Session;
use serde_json::{Map, Value};

use crate::authn::Principal;
use crate::error::Error;
use crate::forward::Call;
use crate::jsonrpc::{self, Outcome};
use crate::respond::{Answer, Reply};
use crate::session::Conversation;
use crate::state::{Pending, State, id_key};

/// What becomes of a message an upstream sent during a call or on its stream.
#[derive(Debug)]
pub(crate) enum Relayed {
    /// Passed to the client (re-serialized, perhaps renamed).
    Forward(Vec<u8>),
    /// The response to the call, re-addressed to the client's id.
    Final(Vec<u8>),
    /// Not for the client.
    Drop,
}

/// Sorts one message from `upstream`: notifications pass; a server-to-client request is
/// noted as pending under a fresh gateway id (only in a session: a client outside one has
/// no way to answer it); the response to `call` takes the client's id; anything else
/// (responses to requests the client never made) is dropped.
pub(crate) fn from_upstream(
    state: &State,
    conversation: &Conversation,
    upstream: &str,
    upstream_session: Option<&str>,
    mut message: Value,
    call: Option<Call<'_>>,
) -> Relayed {
    let Some(obj) = message.as_object_mut() else {
        return Relayed::Drop;
    };
    let is_request = obj.get("method").is_some_and(Value::is_string);
    let final_response = match (obj.get("id").cloned(), is_request, call) {
        (Some(upstream_id), true, _) => {
            let Conversation::Session { id: session_id, .. } = conversation else {
                tracing::debug!(%upstream, "a server-to-client request outside a session is dropped");
                return Relayed::Drop;
            };
            let gid = state.ids.next();
            state.pending.insert(
                (session_id.clone(), id_key(&gid)),
                Arc::new(Pending {
                    upstream: upstream.to_owned(),
                    id: upstream_id,
                    session: upstream_session.map(str::to_owned),
                }),
            );
            obj.insert("id".into(), gid);
            false
        }
        (None, true, _) => false,
        (Some(id), false, Some(call)) if id == *call.id => {
            obj.insert("id".into(), call.client_id.clone());
            true
        }
        _ => return Relayed::Drop,
    };
    let Ok(bytes) = serde_json::to_vec(&message) else {
        return Relayed::Drop;
    };
    if final_response {
        Relayed::Final(bytes)
    } else {
        Relayed::Forward(bytes)
    }
}

/// A client's notification: only methods under `notifications/`, and only to the upstreams
/// of its session. `notifications/cancelled` goes to the upstream running that call, under
/// the id the upstream knows it by. Accepted with 202.
pub(crate) async fn notification(
    state: &State,
    session: &Session,
    principal: &Principal,
    stateless: bool,
    method: &str,
    params: Option<Map<String, Value>>,
) -> Result<Answer, Error> {
    if !method.starts_with("notifications/") {
        return Err(Error::InvalidRequest(format!(
            "`{method}` without an `id` is refused: only `notifications/` methods may omit it"
        )));
    }
    if stateless {
        // No session: nothing upstream could relate the notification to.
        return Ok(Reply::accepted().into());
    }
    let conversation = Conversation::open(state, session, principal)?;
    let targets: Vec<Delivery> = match method {
        // The gateway initialized its upstream sessions itself.
        "notifications/initialized" => Vec::new(),
        "notifications/cancelled" => cancelled(state, &conversation, params)
            .into_iter()
            .collect(),
        _ => conversation
            .upstream_sessions(state)
            .into_iter()
            .map(|(name, sid)| (name, sid, params.clone()))
            .collect(),
    };
    for (name, sid, params) in targets {
        let Some(up) = state.upstreams.get(&name) else {
            continue;
        };
        let body = Bytes::from(jsonrpc::notification_body(method, params.as_ref()));
        let to = crate::forward::Target {
            principal,
            conversation: &conversation,
        };
        let credential = crate::forward::credential(state, to, &name).ok().flatten();
        if let Err(e) = up
            .deliver(&state.connector, body, Some(&sid), credential.as_deref())
            .await
        {
            tracing::warn!(upstream = %name, "cannot relay the client's notification: {e}");
        }
    }
    Ok(Reply::accepted().into())
}

/// One notification to send: the upstream, its session, the params.
type Delivery = (String, String, Option<Map<String, Value>>);

/// The upstream, its session and the renamed params for a cancellation of a call in flight.
fn cancelled(
    state: &State,
    conversation: &Conversation,
    params: Option<Map<String, Value>>,
) -> Option<Delivery> {
    let Conversation::Session { key, .. } = conversation else {
        return None;
    };
    let mut params = params?;
    let request = params.get("requestId")?;
    let flight = state.in_flight.get(&(*key, id_key(request)))?;
    let sid = conversation.known_upstream(state, &flight.upstream)?;
    params.insert("requestId".into(), flight.id.clone());
    Some((flight.upstream.clone(), sid, Some(params)))
}

/// A client's answer to a server-to-client request: relayed, under the upstream's own id,
/// to the upstream session that asked — and only if the request is pending in this
/// client's session. Accepted with 202.
pub(crate) async fn answer(
    state: &State,
    session: &Session,
    principal: &Principal,
    stateless: bool,
    id: &Value,
    outcome: &Outcome,
) -> Result<Answer, Error> {
    let unasked = || {
        Error::InvalidRequest(format!(
            "the response `{id}` answers no request pending in this session"
        ))
    };
    if stateless {
        return Err(unasked());
    }
    let conversation = Conversation::open(state, session, principal)?;
    let Conversation::Session { id: session_id, .. } = &conversation else {
        return Err(unasked());
    };
    let pending = state
        .pending
        .remove(&(session_id.clone(), id_key(id)))
        .ok_or_else(unasked)?;
    let Some(up) = state.upstreams.get(&pending.upstream) else {
        return Err(unasked());
    };
    let body = Bytes::from(jsonrpc::response_body(&pending.id, outcome));
    let to = crate::forward::Target {
        principal,
        conversation: &conversation,
    };
    let credential = crate::forward::credential(state, to, &pending.upstream)
        .ok()
        .flatten();
    up.deliver(
        &state.connector,
        body,
        pending.session.as_deref(),
        credential.as_deref(),
    )
    .await
    .map_err(|e| Error::upstream(&pending.upstream, e))?;
    Ok(Reply::accepted().into())
}
