//! The A2A gateway: `POST /a2a/{agent_id}` carries one A2A JSON-RPC request to a registered
//! agent, decided and owned.
//!
//! Every request is authenticated, read strictly, and decided as `send_task` from the caller
//! (through its delegation chain) to the target agent: a denied agent is refused exactly like
//! an unknown one. A message that continues a task, or names a context or another task, must
//! name the caller's own; every task and context an agent returns is recorded as the
//! caller's ([`tasks`]); getting, cancelling, subscribing to and configuring pushes for a task
//! need ownership too. Requests go upstream re-serialized under a gateway id, with the
//! client's `A2A-Version`; streams come back event by event, each checked and re-addressed.

pub(crate) mod card;
pub(crate) mod rest;
pub(crate) mod tasks;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt as _;
use pingora::proxy::Session;
use portcullis_policy::Lifecycle;
use serde_json::{Map, Value};

use crate::authn::{self, Principal};
use crate::decide::{self, Verdict};
use crate::error::Error;
use crate::jsonrpc::{self, Message};
use crate::lookup::AgentEntry;
use crate::respond::{Answer, Reply};
use crate::state::{CallLog, State};
use crate::upstream::{Exchange, Upstream, UpstreamError};

/// A2A's "task not found".
pub(crate) const TASK_NOT_FOUND: i64 = -32001;
/// A2A's "version not supported".
pub(crate) const VERSION_NOT_SUPPORTED: i64 = -32009;
/// The protocol versions the gateway passes on.
pub(crate) const VERSIONS: [&str; 2] = ["1.0", "0.3"];

/// The protocol version a request speaks, from its `A2A-Version` header (none or empty:
/// 0.3). `Err` holds the version named, for the error.
pub(crate) fn version(header: Option<&str>) -> Result<Version, String> {
    let v = header.map(str::trim).unwrap_or_default();
    match v {
        "" | "0.3" | "0.3.0" => Ok(Version::V03),
        "1.0" | "1.0.0" => Ok(Version::V10),
        other => Err(other.chars().take(32).collect()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    V03,
    V10,
}

/// What a method does, whichever version names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Creates or continues a task; `stream` answers with events.
    Send {
        stream: bool,
    },
    Get,
    Cancel,
    Subscribe,
    List,
    /// Sets a push-notification config (its URL is checked).
    PushSet,
    /// Reads, lists or deletes a task's push-notification configs.
    PushRead,
    ExtendedCard,
}

impl Kind {
    /// The method's kind in `version`, and the `params` member naming its task; `None` for a
    /// method that version does not have.
    pub(crate) fn of(version: Version, method: &str) -> Option<(Self, &'static str)> {
        let found = match (version, method) {
            (Version::V03, "message/send") | (Version::V10, "SendMessage") => {
                (Self::Send { stream: false }, "")
            }
            (Version::V03, "message/stream") | (Version::V10, "SendStreamingMessage") => {
                (Self::Send { stream: true }, "")
            }
            (Version::V03, "tasks/get") | (Version::V10, "GetTask") => (Self::Get, "id"),
            (Version::V03, "tasks/cancel") | (Version::V10, "CancelTask") => (Self::Cancel, "id"),
            (Version::V03, "tasks/resubscribe") | (Version::V10, "SubscribeToTask") => {
                (Self::Subscribe, "id")
            }
            (Version::V10, "ListTasks") => (Self::List, ""),
            (Version::V03, "tasks/pushNotificationConfig/set")
            | (Version::V10, "CreateTaskPushNotificationConfig") => (Self::PushSet, "taskId"),
            (
                Version::V03,
                "tasks/pushNotificationConfig/get"
                | "tasks/pushNotificationConfig/list"
                | "tasks/pushNotificationConfig/delete",
            ) => (Self::PushRead, "id"),
            (
                Version::V10,
                "GetTaskPushNotificationConfig"
                | "ListTaskPushNotificationConfigs"
                | "DeleteTaskPushNotificationConfig",
            ) => (Self::PushRead, "taskId"),
            (Version::V03, "agent/getAuthenticatedExtendedCard")
            | (Version::V10, "GetExtendedAgentCard") => (Self::ExtendedCard, ""),
            _ => return None,
        };
        Some(found)
    }

    fn streams(self) -> bool {
        matches!(self, Self::Send { stream: true } | Self::Subscribe)
    }
}

/// An A2A agent server behind the gateway: its JSON-RPC endpoint and its card.
pub(crate) struct A2aUpstream {
    pub(crate) rpc: Upstream,
    pub(crate) card: Upstream,
}

impl A2aUpstream {
    pub(crate) fn new(c: &crate::config::A2aUpstreamConfig) -> Result<Self, Error> {
        let mut card = c.as_upstream();
        card.url = c.card_url();
        card.request_timeout_ms = card.request_timeout_ms.min(10_000);
        Ok(Self {
            rpc: Upstream::new(&c.as_upstream())?,
            card: Upstream::new(&card)?,
        })
    }
}

/// The registered, active agent `id` of the caller's tenant, with the policies' verdict on
/// the caller sending it tasks. An unknown, inactive or denied agent is `UnknownAgent`.
pub(crate) fn target(
    state: &State,
    log: &mut CallLog,
    principal: &Principal,
    id: &str,
) -> Result<(Arc<AgentEntry>, Verdict, Arc<portcullis_policy::Decision>), Error> {
    let unknown = || Error::UnknownAgent(id.chars().take(64).collect());
    log.target = Some(id.chars().take(64).collect());
    let agent = state
        .catalog
        .load()
        .agent(&principal.tenant, id)
        .cloned()
        .filter(|a| a.lifecycle == Lifecycle::Active)
        .ok_or_else(|| {
            log.decision = Some("unknown");
            unknown()
        })?;
    let request = decide::task_request(principal, &agent.id);
    let (verdict, decision) = decide::decide(&state.engine, &request);
    log.reasons.clone_from(&decision.reasons);
    if verdict == Verdict::Deny {
        log.decision = Some("deny");
        return Err(unknown());
    }
    Ok((agent, verdict, decision))
}

/// Handles `POST /a2a/{agent_id}`.
pub(crate) async fn post(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
    agent_id: &str,
) -> Result<Answer, Error> {
    let principal = authn::caller(state, session, log).await?;
    let body = crate::accept::read_json_body(session, state.config.body_limit).await?;
    let message = jsonrpc::parse(&body).map_err(|rejected| {
        log.id = Some(rejected.id);
        rejected.error
    })?;
    log.id = Some(message.reply_id());
    let Message::Request { id, method, params } = message else {
        return Err(Error::InvalidRequest(
            "A2A takes requests only (with an `id` and a `method`)".into(),
        ));
    };
    log.method = Some(method.clone());
    let header = session
        .req_header()
        .headers
        .get("a2a-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let version = version(header.as_deref()).map_err(Error::A2aVersion)?;
    let (kind, task_key) =
        Kind::of(version, &method).ok_or_else(|| Error::MethodNotFound(method.clone()))?;
    let (agent, verdict, decision) = target(state, log, &principal, agent_id)?;
    let mut params = params.unwrap_or_default();
    // A 1.0 `tenant` would pick a tenant inside the agent server: the gateway routes by agent,
    // and the caller picks none.
    params.remove("tenant");
    let call = Call {
        state,
        principal: &principal,
        agent: &agent,
        header: header.as_deref(),
    };
    match kind {
        Kind::Send { .. } => {
            crate::ratelimit::take(state, &principal, None).await?;
            call.check_message(log, &mut params).await?;
            let mut request = decide::task_request(&principal, &agent.id);
            if verdict == Verdict::NeedsApproval {
                // What an approver reads: the message (bound by its SHA-256).
                request.arguments = message_of(&params);
            }
            decide::settle(
                state,
                log,
                &principal,
                &mut request,
                verdict,
                &decision,
                &agent.name,
                agent.id.clone(),
                Error::UnknownAgent(agent_id.chars().take(64).collect()),
            )
            .await?;
        }
        Kind::PushSet => {
            let task = task_param(&params, task_key)?;
            call.owned(log, &task).await?;
            let url = tasks::push_url(&params).ok_or_else(|| {
                Error::InvalidParams("a push-notification config needs a `url`".into())
            })?;
            tasks::check_push_url(&url, &state.config.a2a.push_allowed_hosts).await?;
            allowed(log);
        }
        Kind::Get | Kind::Cancel | Kind::Subscribe | Kind::PushRead => {
            let task = task_param(&params, task_key)?;
            call.owned(log, &task).await?;
            allowed(log);
        }
        Kind::List => {
            // A page of the agent's tasks, the caller's own kept: at most 100 asked for.
            let size = params
                .get("pageSize")
                .and_then(Value::as_u64)
                .unwrap_or(50)
                .clamp(1, 100);
            params.insert("pageSize".into(), Value::from(size));
            allowed(log);
        }
        Kind::ExtendedCard => allowed(log),
    }
    let Some(upstream) = agent.upstream.as_deref() else {
        return Err(Error::upstream(
            &agent.name,
            UpstreamError::Connect("the agent has no A2A endpoint behind the gateway".into()),
        ));
    };
    log.upstream = Some(upstream.to_owned());
    let gid = state.ids.next();
    let request = Bytes::from(jsonrpc::request_body(&gid, &method, Some(&params)));
    let ex = call.exchange(log, upstream, request).await?;
    if kind.streams() && ex.is_sse() {
        return Box::pin(call.stream(session, log, ex, &gid, &id)).await;
    }
    let result = answer(ex, upstream, &gid).await?;
    let body = match result {
        Ok(result) => {
            let result = match kind {
                Kind::Send { .. } | Kind::Subscribe => call.claim(log, result).await?,
                Kind::List => call.own_only(result).await?,
                Kind::ExtendedCard => card::rewrite(state, &agent, result),
                _ => result,
            };
            jsonrpc::result_body(&id, &result)
        }
        Err(e) => jsonrpc::error_body(&id, e.code, &e.message, e.data.as_ref()),
    };
    Ok(Reply::json(200, body).into())
}

/// The message of a send, as the arguments an approval shows.
pub(crate) fn message_of(params: &Map<String, Value>) -> Map<String, Value> {
    let mut shown = Map::new();
    if let Some(m) = params.get("message") {
        shown.insert("message".into(), m.clone());
    }
    shown
}

fn allowed(log: &mut CallLog) {
    log.decision = Some("allow");
}

/// The task id a request names in `key` of its params, checked.
fn task_param(params: &Map<String, Value>, key: &str) -> Result<String, Error> {
    let id = params
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::InvalidParams(format!("`{key}` must name a task")))?;
    portcullis_registry::task::check_task_id(id)
        .map_err(|why| Error::InvalidParams(format!("`{key}`: {why}")))?;
    Ok(id.to_owned())
}

/// The upstream's answer to `gid`: its result, or its JSON-RPC error.
async fn answer(
    ex: Exchange,
    upstream: &str,
    gid: &Value,
) -> Result<Result<Value, jsonrpc::ErrorObject>, Error> {
    let answered = ex
        .answer(gid)
        .await
        .map_err(|e| Error::upstream(upstream, e))?;
    match (answered.result, answered.error) {
        (Some(result), None) => Ok(Ok(result)),
        (None, Some(error)) => Ok(Err(error)),
        // A null result is left out by some servers (0.3 push-config delete).
        (None, None) => Ok(Ok(Value::Null)),
        (Some(_), Some(_)) => Err(Error::upstream(
            upstream,
            UpstreamError::Protocol("a response needs exactly one of result and error".into()),
        )),
    }
}

/// One request's context.
#[derive(Clone, Copy)]
pub(crate) struct Call<'a> {
    pub(crate) state: &'a State,
    pub(crate) principal: &'a Principal,
    pub(crate) agent: &'a AgentEntry,
    /// The `A2A-Version` header as the client sent it.
    pub(crate) header: Option<&'a str>,
}

impl Call<'_> {
    fn store(&self) -> Result<&portcullis_registry::DynStore, Error> {
        self.state
            .store
            .as_ref()
            .ok_or_else(|| Error::Unavailable("task ownership needs the registry's store".into()))
    }

    /// `Ok` when the caller owns task `task` at this agent (or acts for its owner); an
    /// unknown task and another's are both "not found".
    pub(crate) async fn owned(&self, log: &mut CallLog, task: &str) -> Result<(), Error> {
        log.task = Some(task.to_owned());
        self.owned_in(&self.agent.id, task, "task").await
    }

    async fn owned_in(&self, space: &str, id: &str, what: &'static str) -> Result<(), Error> {
        let owner = self
            .store()?
            .task_owner(&self.principal.tenant, space, id)
            .await
            .map_err(|e| Error::Unavailable(format!("task owners: {e}")))?;
        match owner {
            Some(o) if o.allows(&self.principal.id, &self.principal.chain) => Ok(()),
            _ => Err(Error::TaskNotFound {
                what,
                id: id.chars().take(64).collect(),
            }),
        }
    }

    /// A message may continue only the caller's own task, in the caller's own context, and
    /// refer only to the caller's own tasks; a push config it sets must be to a URL allowed.
    async fn check_message(
        &self,
        log: &mut CallLog,
        params: &mut Map<String, Value>,
    ) -> Result<(), Error> {
        let message = params
            .get("message")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::InvalidParams("`message` must be an object".into()))?;
        log.arguments_sha256 = Some(crate::audit::canonical_sha256(&Value::Object(
            message.clone(),
        )));
        if let Some(task) = message.get("taskId").and_then(Value::as_str) {
            portcullis_registry::task::check_task_id(task)
                .map_err(|why| Error::InvalidParams(format!("`message.taskId`: {why}")))?;
            log.task = Some(task.to_owned());
            self.owned_in(&self.agent.id, task, "task").await?;
        }
        if let Some(context) = message.get("contextId").and_then(Value::as_str) {
            portcullis_registry::task::check_task_id(context)
                .map_err(|why| Error::InvalidParams(format!("`message.contextId`: {why}")))?;
            // A context the caller names first becomes its own; another's is not found.
            let owner = self
                .store()?
                .task_owner(
                    &self.principal.tenant,
                    &tasks::contexts(&self.agent.id),
                    context,
                )
                .await
                .map_err(|e| Error::Unavailable(format!("task owners: {e}")))?;
            if owner.is_some_and(|o| !o.allows(&self.principal.id, &self.principal.chain)) {
                return Err(Error::TaskNotFound {
                    what: "context",
                    id: context.chars().take(64).collect(),
                });
            }
        }
        let references = message
            .get("referenceTaskIds")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if references.len() > 16 {
            return Err(Error::InvalidParams(
                "`message.referenceTaskIds` names more than 16 tasks".into(),
            ));
        }
        for r in references {
            let r = r.as_str().ok_or_else(|| {
                Error::InvalidParams("`message.referenceTaskIds` holds task ids".into())
            })?;
            self.owned_in(&self.agent.id, r, "task").await?;
        }
        if let Some(url) = tasks::inline_push_url(params) {
            tasks::check_push_url(&url, &self.state.config.a2a.push_allowed_hosts).await?;
        }
        Ok(())
    }

    /// Records the task and context a result names as the caller's, and returns the result;
    /// a task another principal owns already is "not found" and its content is not passed on.
    async fn claim(&self, log: &mut CallLog, result: Value) -> Result<Value, Error> {
        let (task, context) = tasks::named(&result);
        for (space, id, what) in [
            (self.agent.id.clone(), task, "task"),
            (tasks::contexts(&self.agent.id), context, "context"),
        ] {
            let Some(id) = id else { continue };
            if portcullis_registry::task::check_task_id(&id).is_err() {
                return Err(Error::upstream(
                    &self.agent.name,
                    UpstreamError::Protocol(format!("the agent named a malformed {what} id")),
                ));
            }
            if what == "task" {
                log.task = Some(id.clone());
            }
            let owner = portcullis_registry::task::TaskOwner {
                tenant_id: self.principal.tenant.clone(),
                agent_id: space,
                task_id: id.clone(),
                principal_id: self.principal.id.clone(),
                chain: self.principal.chain.clone(),
                on_behalf_of: self.principal.on_behalf_of.clone(),
                created_at: time::OffsetDateTime::now_utc(),
            };
            let on_record = self
                .store()?
                .claim_task(owner)
                .await
                .map_err(|e| Error::Unavailable(format!("task owners: {e}")))?;
            if !on_record.allows(&self.principal.id, &self.principal.chain) {
                tracing::warn!(agent = %self.agent.id, "an agent answered with another principal's {what}");
                return Err(Error::TaskNotFound {
                    what,
                    id: id.chars().take(64).collect(),
                });
            }
        }
        Ok(result)
    }

    /// A `ListTasks` result with only the caller's tasks (and no total, which would count
    /// others').
    async fn own_only(&self, mut result: Value) -> Result<Value, Error> {
        let Some(obj) = result.as_object_mut() else {
            return Ok(result);
        };
        let listed = match obj.remove("tasks") {
            Some(Value::Array(tasks)) => tasks,
            _ => Vec::new(),
        };
        let mut kept = Vec::with_capacity(listed.len());
        for task in listed {
            let Some(id) = task.get("id").and_then(Value::as_str) else {
                continue;
            };
            if self.owned_in(&self.agent.id, id, "task").await.is_ok() {
                kept.push(task);
            }
        }
        obj.remove("totalSize");
        obj.insert("tasks".into(), Value::Array(kept));
        Ok(result)
    }

    /// Sends a request to the agent's server, once; the exchange with its header read.
    pub(crate) async fn exchange(
        &self,
        log: &mut CallLog,
        upstream: &str,
        body: Bytes,
    ) -> Result<Exchange, Error> {
        let state = self.state;
        let Some(up) = state.a2a.get(upstream) else {
            return Err(Error::upstream(
                upstream,
                UpstreamError::Connect("not configured".into()),
            ));
        };
        let needs = state
            .config
            .a2a_upstream(upstream)
            .and_then(|u| u.credential.as_ref());
        let credential = state.catalog.load().credentials.for_call(
            &self.principal.tenant,
            &self.principal.id,
            upstream,
            needs,
        )?;
        let started = Instant::now();
        let sent = tokio::time::timeout(
            up.rpc.request_timeout,
            up.rpc
                .post_a2a(&state.connector, body, self.header, credential.as_deref()),
        )
        .await
        .unwrap_or(Err(UpstreamError::Timeout));
        let mut ex = match sent {
            Ok(ex) => ex,
            Err(e) => {
                state.metrics.upstream_failed(upstream, &e);
                return Err(Error::upstream(upstream, e));
            }
        };
        log.upstream_status = Some(ex.status());
        log.upstream_latency = Some(started.elapsed());
        state
            .metrics
            .upstream_seconds
            .with_label_values(&[upstream])
            .observe(started.elapsed().as_secs_f64());
        let status = ex.status();
        if !(200..300).contains(&status) {
            ex.drain().await;
            ex.release().await;
            let e = UpstreamError::Status(status);
            state.metrics.upstream_failed(upstream, &e);
            return Err(Error::upstream(upstream, e));
        }
        Ok(ex)
    }

    /// Relays an event stream: each event is checked to answer `gid`, the tasks it names
    /// are claimed, and it goes to the client under its own id. A stream that names another
    /// principal's task is cut off with "not found".
    async fn stream(
        &self,
        session: &mut Session,
        log: &mut CallLog,
        ex: Exchange,
        gid: &Value,
        client_id: &Value,
    ) -> Result<Answer, Error> {
        let upstream = self.agent.upstream.as_deref().unwrap_or_default();
        if !crate::forward::open_event_stream(session).await? {
            return Ok(Answer::Streamed);
        }
        let mut events = crate::sse::decode(ex.into_stream());
        while let Some(event) = events.next().await {
            let event = match event {
                Ok(event) => event,
                Err(e) => {
                    tracing::warn!(%upstream, "agent event stream broke off: {e}");
                    break;
                }
            };
            let Some(message) = crate::sse::message(&event) else {
                continue;
            };
            if message.get("id") != Some(gid) {
                continue;
            }
            let (bytes, last) = if let Some(result) = message.get("result") {
                match self.claim(log, result.clone()).await {
                    Ok(result) => (jsonrpc::result_body(client_id, &result), false),
                    Err(e) => (
                        jsonrpc::error_body(client_id, TASK_NOT_FOUND, &e.to_string(), None),
                        true,
                    ),
                }
            } else {
                let error: Option<jsonrpc::ErrorObject> = message
                    .get("error")
                    .cloned()
                    .and_then(|e| serde_json::from_value(e).ok());
                let error = error.unwrap_or(jsonrpc::ErrorObject {
                    code: jsonrpc::UPSTREAM_ERROR,
                    message: format!("upstream `{upstream}`: a malformed event"),
                    data: None,
                });
                (
                    jsonrpc::error_body(client_id, error.code, &error.message, error.data.as_ref()),
                    true,
                )
            };
            if session
                .write_response_body(Some(crate::sse::event(&bytes)), false)
                .await
                .is_err()
            {
                return Ok(Answer::Streamed);
            }
            if last {
                break;
            }
        }
        let _ = session.write_response_body(None, true).await;
        Ok(Answer::Streamed)
    }
}
