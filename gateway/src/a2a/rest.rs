//! The A2A REST face, for clients that do not speak JSON-RPC, with the same checks:
//! `POST /a2a/tasks` (`{"agent": id, "message": text or an A2A 1.0 message}`),
//! `GET /a2a/tasks` (the caller's own), `GET /a2a/tasks/{task_id}` and
//! `POST /a2a/tasks/{task_id}/cancel` (`?agent=` names the agent; without it, the caller's
//! own task of that id). It speaks A2A 1.0 to the agent.

use bytes::Bytes;
use pingora::proxy::Session;
use serde_json::{Map, Value, json};

use super::Call;
use crate::authn::{self, Principal};
use crate::decide;
use crate::error::Error;
use crate::jsonrpc;
use crate::respond::{Answer, Reply};
use crate::state::{CallLog, State};
use crate::upstream::UpstreamError;

/// How many of the caller's tasks `GET /a2a/tasks` lists (newest first).
const LISTED: usize = 100;

/// What a REST request on one task asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskOp {
    Get,
    Cancel,
}

/// `POST /a2a/tasks`: sends a message to an agent; answers the task (or message) it made.
pub(crate) async fn create(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
) -> Result<Answer, Error> {
    let principal = authn::caller(state, session, log).await?;
    log.method = Some("SendMessage".into());
    let body = crate::accept::read_json_body(session, state.config.body_limit).await?;
    let mut request = jsonrpc::parse_arguments(&body)?;
    let agent_id = match request.remove("agent") {
        Some(Value::String(a)) if !a.is_empty() && a.len() <= 64 => a,
        _ => return Err(Error::InvalidParams("`agent` must name an agent".into())),
    };
    let message = match request.remove("message") {
        Some(Value::String(text)) => json!({"role": "ROLE_USER", "parts": [{"text": text}]}),
        Some(Value::Object(m)) => Value::Object(m),
        _ => {
            return Err(Error::InvalidParams(
                "`message` must be text or an A2A message object".into(),
            ));
        }
    };
    if let Some(extra) = request.keys().next() {
        return Err(Error::InvalidParams(format!(
            "unknown member `{}`: a task takes `agent` and `message`",
            extra.chars().take(64).collect::<String>()
        )));
    }
    let mut message = message;
    if let Some(m) = message.as_object_mut() {
        m.entry("messageId")
            .or_insert_with(|| Value::String(uuid::Uuid::new_v4().to_string()));
    }
    let (agent, verdict, decision) = super::target(state, log, &principal, &agent_id)?;
    let call = Call {
        state,
        principal: &principal,
        agent: &agent,
        header: Some("1.0"),
    };
    let mut params = Map::new();
    params.insert("message".into(), message);
    call.check_message(log, &mut params).await?;
    let mut policy = decide::task_request(&principal, &agent.id);
    if verdict == crate::decide::Verdict::NeedsApproval {
        policy.arguments = super::message_of(&params);
    }
    decide::settle(
        state,
        log,
        &principal,
        &mut policy,
        verdict,
        &decision,
        &agent.name,
        agent.id.clone(),
        Error::UnknownAgent(agent_id.clone()),
    )
    .await?;
    let result = send(&call, log, "SendMessage", &params).await?;
    let result = call.claim(log, result).await?;
    let mut out = Map::new();
    out.insert("agent".into(), Value::String(agent.id.clone()));
    if let Value::Object(result) = result {
        out.extend(result);
    }
    Ok(Reply::json(200, serde_json::to_vec(&out).unwrap_or_default()).into())
}

/// `GET /a2a/tasks`: the tasks the caller created, newest first.
pub(crate) async fn list(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
) -> Result<Answer, Error> {
    let principal = authn::caller(state, session, log).await?;
    log.method = Some("ListTasks".into());
    let store = state
        .store
        .as_ref()
        .ok_or_else(|| Error::Unavailable("task ownership needs the registry's store".into()))?;
    let owned = store
        .owned_tasks(&principal.tenant, &principal.id, LISTED * 2)
        .await
        .map_err(|e| Error::Unavailable(format!("task owners: {e}")))?;
    let tasks: Vec<Value> = owned
        .iter()
        .filter(|o| !o.agent_id.ends_with("/context"))
        .take(LISTED)
        .map(|o| {
            json!({
                "agent": o.agent_id,
                "task_id": o.task_id,
                "created_at": o.created_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .ok(),
            })
        })
        .collect();
    log.decision = Some("allow");
    Ok(Reply::json(
        200,
        serde_json::to_vec(&json!({"tasks": tasks})).unwrap_or_default(),
    )
    .into())
}

/// `GET /a2a/tasks/{task_id}` and `POST /a2a/tasks/{task_id}/cancel`.
pub(crate) async fn task(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
    task_id: &str,
    op: TaskOp,
) -> Result<Answer, Error> {
    let principal = authn::caller(state, session, log).await?;
    let method = match op {
        TaskOp::Get => "GetTask",
        TaskOp::Cancel => "CancelTask",
    };
    log.method = Some(method.into());
    portcullis_registry::task::check_task_id(task_id).map_err(Error::InvalidParams)?;
    log.task = Some(task_id.to_owned());
    let agent_id = match query_agent(session)? {
        Some(agent) => agent,
        None => own_agent_of(state, &principal, task_id).await?,
    };
    let (agent, _, _) = super::target(state, log, &principal, &agent_id)?;
    let call = Call {
        state,
        principal: &principal,
        agent: &agent,
        header: Some("1.0"),
    };
    call.owned(log, task_id).await?;
    log.decision = Some("allow");
    let mut params = Map::new();
    params.insert("id".into(), Value::String(task_id.to_owned()));
    let result = send(&call, log, method, &params).await?;
    Ok(Reply::json(200, serde_json::to_vec(&result).unwrap_or_default()).into())
}

/// The `agent` query parameter, if any.
fn query_agent(session: &Session) -> Result<Option<String>, Error> {
    let Some(query) = session.req_header().uri.query() else {
        return Ok(None);
    };
    for pair in query.split('&') {
        if let Some(agent) = pair.strip_prefix("agent=") {
            if agent.is_empty()
                || agent.len() > 64
                || !agent
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(Error::InvalidParams("`agent` must be an agent id".into()));
            }
            return Ok(Some(agent.to_owned()));
        }
    }
    Ok(None)
}

/// The agent of the caller's own task `task_id` (its newest, should two agents share the id).
async fn own_agent_of(
    state: &State,
    principal: &Principal,
    task_id: &str,
) -> Result<String, Error> {
    let store = state
        .store
        .as_ref()
        .ok_or_else(|| Error::Unavailable("task ownership needs the registry's store".into()))?;
    let owned = store
        .owned_tasks(&principal.tenant, &principal.id, 1000)
        .await
        .map_err(|e| Error::Unavailable(format!("task owners: {e}")))?;
    owned
        .into_iter()
        .find(|o| o.task_id == task_id && !o.agent_id.ends_with("/context"))
        .map(|o| o.agent_id)
        .ok_or_else(|| Error::TaskNotFound {
            what: "task",
            id: task_id.chars().take(64).collect(),
        })
}

/// Sends one request to the agent and reads its result; a JSON-RPC error from the agent
/// becomes "not found" (task not found) or an upstream error naming it.
async fn send(
    call: &Call<'_>,
    log: &mut CallLog,
    method: &str,
    params: &Map<String, Value>,
) -> Result<Value, Error> {
    let Some(upstream) = call.agent.upstream.as_deref() else {
        return Err(Error::upstream(
            &call.agent.name,
            UpstreamError::Connect("the agent has no A2A endpoint behind the gateway".into()),
        ));
    };
    log.upstream = Some(upstream.to_owned());
    let gid = call.state.ids.next();
    let body = Bytes::from(jsonrpc::request_body(&gid, method, Some(params)));
    let ex = call.exchange(log, upstream, body).await?;
    match super::answer(ex, upstream, &gid).await? {
        Ok(result) => Ok(result),
        Err(e) if e.code == super::TASK_NOT_FOUND => Err(Error::TaskNotFound {
            what: "task",
            id: log.task.clone().unwrap_or_default(),
        }),
        Err(e) => Err(Error::upstream(
            upstream,
            UpstreamError::Protocol(format!(
                "error {}: {}",
                e.code,
                e.message.chars().take(256).collect::<String>()
            )),
        )),
    }
}
