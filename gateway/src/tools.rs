//! tools/list (fan-out and merge) and tools/call up to the decision: steps 4 to 6.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use pingora::proxy::Session;
use serde_json::{Value, json};

use crate::authn::Principal;
use crate::decide::{self, Verdict};
use crate::jsonrpc::{self};
use crate::lookup::ToolEntry;
use crate::mcp::Conversation;
use crate::respond::Reply;
use crate::state::{CallLog, State};
use crate::upstream::UpstreamError;

/// The tools the caller may call (a denied tool is not listed: it looks unknown).
pub(crate) async fn tools_list(
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
pub(crate) async fn upstream_definitions(
    state: &State,
) -> HashMap<String, Arc<HashMap<String, Value>>> {
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
                let request = decide::call_request(principal, t, serde_json::Map::new(), true);
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
    let mut call = jsonrpc::tool_call(id, params).map_err(Refusal::BadParams)?;
    log.tool = Some(call.name.clone());
    let catalog = state.catalog.load();
    let Some(tool) = catalog.tool(&principal.tenant, &call.name).cloned() else {
        log.decision = Some("unknown");
        return Err(Refusal::Unknown(call.name));
    };
    drop(catalog);
    log.arguments_sha256 = Some(crate::audit::canonical_sha256(&call.arguments));
    let invalid = state.validators.check(&tool, &call.arguments).err();
    // The arguments move into the policy request and back out of it afterwards.
    let arguments = match std::mem::take(&mut call.arguments) {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let mut request = decide::call_request(principal, &tool, arguments, invalid.is_none());
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
            request.input_valid = true;
            if decide::decide(&state.engine, &request).0 == Verdict::Deny {
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
    call.arguments = Value::Object(std::mem::take(&mut request.arguments));
    Ok(Planned {
        upstream: tool.upstream.clone(),
        body: Bytes::from(jsonrpc::upstream_call(id, &tool.upstream_name, &call)),
    })
}

pub(crate) async fn tools_call(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
    principal: &Principal,
    conversation: &Conversation,
    id: Value,
    params: Option<Value>,
) -> Option<Reply> {
    match plan_call(state, log, principal, &id, params) {
        Ok(planned) => {
            crate::forward::forward(state, session, log, conversation, &planned, &id).await
        }
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
