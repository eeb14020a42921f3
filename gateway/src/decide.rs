//! Step 6: decide with the policy engine (through its decision cache).

use std::sync::Arc;

use portcullis_policy::{Action, Decision, Engine, EntityRef, Request, Target};
use portcullis_registry::NhiKind;
use serde_json::{Map, Value};

use crate::authn::Principal;
use crate::error::Error;
use crate::lookup::ToolEntry;
use crate::state::CallLog;

/// What the gateway does with a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allow,
    /// Refused: to the caller, exactly like an unknown tool.
    Deny,
    /// Refused until a human approves this exact call (the approval flow hooks in here).
    NeedsApproval,
}

/// The policy request for `principal` calling `tool` with `arguments` (moved in; take them
/// back from `Request::arguments` when done).
pub(crate) fn call_request(
    p: &Principal,
    tool: &ToolEntry,
    arguments: Map<String, Value>,
    input_valid: bool,
) -> Request {
    let mut r = request(p, Action::CallTool, EntityRef::tool(tool.id.clone()));
    r.input_valid = input_valid;
    r.arguments = arguments;
    r
}

/// The policy request for `principal` acting on a resource, prompt or completion of the
/// MCP server `upstream`; `target` names the URI or the prompt as the server knows it.
pub(crate) fn server_request(
    p: &Principal,
    action: Action,
    upstream: &str,
    target: Target,
    arguments: Map<String, Value>,
) -> Request {
    let mut r = request(p, action, EntityRef::mcp_server(upstream));
    r.target = target;
    r.arguments = arguments;
    r
}

/// The policy request for `principal` sending a task to agent `agent` (through its chain).
pub(crate) fn task_request(p: &Principal, agent: &str) -> Request {
    request(p, Action::SendTask, EntityRef::agent(agent.to_owned()))
}

fn request(p: &Principal, action: Action, resource: EntityRef) -> Request {
    let principal = match p.kind {
        NhiKind::ServiceAccount => EntityRef::service_account(p.id.clone()),
        NhiKind::Agent | NhiKind::Tool => EntityRef::agent(p.id.clone()),
    };
    let mut r = Request::new(p.tenant.clone(), principal, action, resource);
    r.chain = p.chain.clone();
    r.on_behalf_of = p.on_behalf_of.clone();
    r
}

pub(crate) fn decide(engine: &Engine, request: &Request) -> (Verdict, Arc<Decision>) {
    let decision = engine.decide(request);
    let verdict = if decision.allow {
        Verdict::Allow
    } else if decision.needs_approval() {
        Verdict::NeedsApproval
    } else {
        Verdict::Deny
    };
    (verdict, decision)
}

/// What a verdict on a target the client named (a tool, prompt or resource) comes to, noted
/// in the call's log: `Ok` when allowed; a deny is `unknown` (a denied target looks exactly
/// like one that does not exist); an approval obligation holds the call ([`held`]).
/// `target` is the name the client used, `target_id` what the approval is bound to.
#[expect(clippy::too_many_arguments, reason = "one call's whole context")]
pub(crate) async fn settle(
    state: &crate::state::State,
    log: &mut CallLog,
    principal: &Principal,
    request: &mut Request,
    verdict: Verdict,
    decision: &Decision,
    target: &str,
    target_id: String,
    unknown: Error,
) -> Result<(), Error> {
    log.reasons.clone_from(&decision.reasons);
    match verdict {
        Verdict::Allow => {
            log.decision = Some("allow");
            Ok(())
        }
        Verdict::Deny => {
            log.decision = Some("deny");
            Err(unknown)
        }
        Verdict::NeedsApproval => {
            Box::pin(held(
                state, log, principal, request, decision, target, target_id, unknown,
            ))
            .await
        }
    }
}

/// A call the policies hold for a human approval: `Ok` once it has consumed an approval of
/// its exact binding and the policies allow it as approved; otherwise approval required (or
/// `unknown`, should the policies refuse it even approved).
#[expect(clippy::too_many_arguments, reason = "one call's whole context")]
pub(crate) async fn held(
    state: &crate::state::State,
    log: &mut CallLog,
    principal: &Principal,
    request: &mut Request,
    decision: &Decision,
    target: &str,
    target_id: String,
    unknown: Error,
) -> Result<(), Error> {
    log.decision = Some("approval_required");
    let arguments = Value::Object(request.arguments.clone());
    let arguments_sha256 = log
        .arguments_sha256
        .clone()
        .unwrap_or_else(|| crate::audit::canonical_sha256(&arguments));
    let held = crate::approvals::Held {
        subject: portcullis_registry::approval::ApprovalSubject {
            tenant_id: principal.tenant.clone(),
            principal_id: principal.id.clone(),
            chain: principal.chain.clone(),
            on_behalf_of: principal.on_behalf_of.clone(),
            action: request.action.as_str().to_owned(),
            target_id,
            arguments_sha256,
        },
        target_name: target,
        arguments,
        policies: &decision.reasons,
        obligations: decision
            .obligations
            .iter()
            .map(|o| o.as_str().to_owned())
            .collect(),
    };
    crate::approvals::gate(state, log, held).await?;
    // Consumed: decided again as approved, and allowed only if the policies allow it now.
    request.approval.approved = true;
    let (verdict, decision) = decide(&state.engine, request);
    log.reasons.clone_from(&decision.reasons);
    if verdict != Verdict::Allow {
        log.decision = Some("deny");
        return Err(unknown);
    }
    log.decision = Some("approved");
    Ok(())
}
