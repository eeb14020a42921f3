//! The pingora service: every request is handled in `request_filter`.
//!
//! The gateway reads and decides on the whole body before anything reaches an upstream, and
//! sends a forwarded call itself (once, never retried), so pingora's own upstream phase is
//! never entered.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use pingora::ErrorType;
use pingora::prelude::HttpPeer;
use pingora::proxy::{ProxyHttp, Session};

use serde_json::Value;

use crate::accept::{self, Route};
use crate::audit::AuditEvent;
use crate::error::Error;
use crate::respond::{self, Answer, Face, Reply};
use crate::state::{CallLog, State};

pub(crate) struct McpProxy {
    pub(crate) state: Arc<State>,
}

/// Per-request context: when it started and what the log line will say.
#[derive(Debug)]
pub(crate) struct Ctx {
    started: Instant,
    log: CallLog,
    _flight: Flight,
}

/// Counts a request while it is handled (shutdown waits for the count to reach zero).
#[derive(Debug)]
struct Flight(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Flight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

#[async_trait]
impl ProxyHttp for McpProxy {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        let requests = self.state.requests_in_flight.clone();
        requests.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Ctx {
            started: Instant::now(),
            log: CallLog::default(),
            _flight: Flight(requests),
        }
    }

    /// Runs first for every request: steps 1 to 9 of a call. Always answers the request
    /// itself (returns `Ok(true)`); a refusal is mapped to its response in one place
    /// ([`respond::error`]).
    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> pingora::Result<bool> {
        let route = accept::route(session);
        let face = match route {
            Route::RestList
            | Route::RestCall(_)
            | Route::AgentCard(_)
            | Route::A2aCreate
            | Route::A2aList
            | Route::A2aTask(..) => Face::Rest,
            _ => Face::Mcp,
        };
        let outcome = match accept::check_origin(session, &self.state.config.allowed_origins) {
            Err(e) => Err(e),
            // Every route but `POST /mcp` is boxed: the request's future is as large as its
            // largest route, and the common call should not carry the others' state.
            Ok(()) => match route {
                Route::Mcp => crate::mcp::post(&self.state, session, &mut ctx.log).await,
                Route::McpStream => {
                    Box::pin(crate::forward::stream(&self.state, session, &mut ctx.log)).await
                }
                Route::McpDelete => {
                    Box::pin(crate::mcp::delete(&self.state, session, &mut ctx.log)).await
                }
                Route::RestList => {
                    Box::pin(crate::rest::list(&self.state, session, &mut ctx.log)).await
                }
                Route::RestCall(name) => {
                    Box::pin(crate::rest::call(&self.state, session, &mut ctx.log, &name)).await
                }
                Route::ResourceMetadata => Ok(resource_metadata(&self.state, session).into()),
                Route::Token => {
                    Box::pin(crate::oauth::token(&self.state, session, &mut ctx.log)).await
                }
                Route::Authorize => Err(crate::oauth::authorize()),
                Route::ApprovalStatus(id) => {
                    Box::pin(crate::approvals::status(
                        &self.state,
                        session,
                        &mut ctx.log,
                        &id,
                    ))
                    .await
                }
                Route::AgentCard(id) => {
                    Box::pin(crate::a2a::card::get(
                        &self.state,
                        session,
                        &mut ctx.log,
                        &id,
                    ))
                    .await
                }
                Route::A2a(agent) => {
                    Box::pin(crate::a2a::post(&self.state, session, &mut ctx.log, &agent)).await
                }
                Route::A2aCreate => {
                    Box::pin(crate::a2a::rest::create(&self.state, session, &mut ctx.log)).await
                }
                Route::A2aList => {
                    Box::pin(crate::a2a::rest::list(&self.state, session, &mut ctx.log)).await
                }
                Route::A2aTask(task, op) => {
                    Box::pin(crate::a2a::rest::task(
                        &self.state,
                        session,
                        &mut ctx.log,
                        &task,
                        op,
                    ))
                    .await
                }
                Route::Jwks => crate::oauth::jwks(&self.state),
                Route::AuthServerMetadata => crate::oauth::metadata(&self.state),
                Route::NotFound => Err(Error::NoRoute),
            },
        };
        let reply = match outcome {
            Ok(Answer::Reply(reply)) => reply,
            Ok(Answer::Streamed) => return Ok(true),
            Err(e) => {
                let id = ctx.log.id.clone().unwrap_or(Value::Null);
                respond::error(e, face, &id, host(session))
            }
        };
        respond::send(session, reply).await?;
        Ok(true)
    }

    /// Never reached: `request_filter` answers every request.
    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut Ctx,
    ) -> pingora::Result<Box<HttpPeer>> {
        Err(pingora::Error::explain(
            ErrorType::InternalError,
            "the gateway forwards calls itself",
        ))
    }

    /// Step 10: one record per request, whatever the outcome.
    async fn logging(&self, session: &mut Session, error: Option<&pingora::Error>, ctx: &mut Ctx) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let l = &ctx.log;
        if let Some(method) = l.method.as_deref() {
            let decision = l
                .decision
                .unwrap_or(if status < 400 { "none" } else { "refused" });
            // Labels are bounded: known methods and registered tools, others `unknown`.
            let tool = match (&l.tool, l.tool_registered) {
                (Some(tool), true) => tool.as_str(),
                (Some(_), false) => "unknown",
                (None, _) => "",
            };
            self.state
                .metrics
                .requests
                .with_label_values(&[crate::metrics::method_label(method), tool, decision])
                .inc();
        }
        let store = self.state.store_sink.as_ref();
        if store.is_some() || self.state.audit.is_on() {
            let event = audit_event(l, status, ctx.started);
            // Serialized once, for the audit lines and the store alike.
            if let Ok(line) = serde_json::value::to_raw_value(&event) {
                if let (Some(sink), Some(tenant)) = (store, event.tenant) {
                    sink.record(portcullis_registry::AuditRecord {
                        tenant_id: tenant,
                        at_ms: crate::audit::now_ms(),
                        event: line.clone(),
                    });
                }
                self.state.audit.record(line);
            }
        }
        if let Some(e) = error {
            tracing::debug!(status, "request ended with {}", e.etype().as_str());
        }
    }
}

/// The audit event of a request that started at `started` and was answered with `status`.
pub(crate) fn audit_event(l: &CallLog, status: u16, started: Instant) -> AuditEvent {
    AuditEvent {
        time: time::OffsetDateTime::now_utc(),
        tenant: l.tenant.clone(),
        principal: l.principal.clone(),
        chain: l.chain.clone(),
        method: l.method.clone(),
        tool: l.tool.clone(),
        target: l.target.clone(),
        arguments_sha256: l.arguments_sha256.clone(),
        decision: l.decision.map(str::to_owned),
        policies: l.reasons.clone(),
        status,
        latency_ms: started.elapsed().as_secs_f64() * 1e3,
        upstream: l.upstream.clone(),
        upstream_status: l.upstream_status,
        upstream_ms: l.upstream_latency.map(|d| d.as_secs_f64() * 1e3),
        approval: l.approval.clone(),
        task: l.task.clone(),
    }
}

/// The `Host` the client named (for links back to this gateway).
fn host(session: &Session) -> &str {
    session
        .req_header()
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .filter(|h| h.len() <= 255 && !h.contains(['"', '/', ' ']))
        .unwrap_or("localhost")
}

/// RFC 9728: where to get a token for this resource.
fn resource_metadata(state: &State, session: &Session) -> Reply {
    let resource = match &state.config.public_url {
        Some(_) => format!("{}/mcp", crate::oauth::base(state)),
        None => format!("http://{}/mcp", host(session)),
    };
    let mut body = serde_json::json!({
        "resource": resource,
        "bearer_methods_supported": ["header"],
        "resource_name": "Portcullis MCP gateway",
    });
    if state.agent_tokens.load().is_some()
        && let Some(obj) = body.as_object_mut()
    {
        obj.insert(
            "authorization_servers".into(),
            serde_json::json!([crate::oauth::base(state)]),
        );
    }
    Reply::json(200, serde_json::to_vec(&body).unwrap_or_default())
}
