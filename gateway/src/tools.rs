//! tools/list (fan-out and merge) and tools/call up to the decision: steps 4 to 6.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::decide::{self, Verdict};
use crate::discovery::Family;
use crate::error::Error;
use crate::forward::Planned;
use crate::jsonrpc;
use crate::lookup::ToolEntry;
use crate::respond::Reply;
use crate::session::Conversation;
use crate::state::{CallLog, State};

/// The tools the caller may call (a denied tool is not listed: it looks unknown).
pub(crate) async fn list(
    state: &State,
    principal: &crate::authn::Principal,
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

/// The upstreams' current tool definitions by name (their lists, kept 30 s). An upstream
/// that cannot answer is left out: its tools are listed from the registry alone.
async fn upstream_definitions(state: &State) -> HashMap<String, HashMap<String, Value>> {
    crate::discovery::all(state, Family::Tools)
        .await
        .into_iter()
        .map(|(upstream, tools)| {
            let by_name = tools
                .iter()
                .filter_map(|t| Some((t.get("name")?.as_str()?.to_owned(), t.clone())))
                .collect();
            (upstream, by_name)
        })
        .collect()
}

/// The tools `principal` may call, merged from the registry and the upstreams: a registered
/// tool its upstream no longer offers is left out; the input schema is always the registry's
/// pinned one; title, annotations and output schema come from the upstream.
pub(crate) async fn listed_tools(state: &State, principal: &crate::authn::Principal) -> Vec<Value> {
    // Read first: it also brings the pinned tools' current definitions up to date.
    let upstream = upstream_definitions(state).await;
    let allowed: Vec<Arc<ToolEntry>> = {
        let catalog = state.catalog.load();
        catalog
            .tools_of(&principal.tenant)
            .filter(|t| {
                let request = decide::call_request(principal, t, Map::new(), true);
                decide::decide(&state.engine, &request).0 != Verdict::Deny
                    && state.definitions.check(t).is_ok()
            })
            .cloned()
            .collect()
    };
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

/// Steps 4 to 6 of a tools/call: look up, validate, decide. A denied tool is refused
/// exactly like an unknown one; invalid arguments are reported only to a caller who may
/// call the tool at all.
pub(crate) async fn plan(
    state: &State,
    log: &mut CallLog,
    principal: &crate::authn::Principal,
    params: Option<Map<String, Value>>,
) -> Result<Planned, Error> {
    let call = jsonrpc::tool_call(params)?;
    log.tool = Some(call.name.clone());
    let catalog = state.catalog.load();
    let Some(tool) = catalog.tool(&principal.tenant, &call.name).cloned() else {
        log.decision = Some("unknown");
        return Err(Error::UnknownTool(call.name));
    };
    drop(catalog);
    log.tool_registered = true;
    crate::ratelimit::take(state, principal, Some(&tool)).await?;
    let arguments = Value::Object(call.arguments);
    log.arguments_sha256 = Some(crate::audit::canonical_sha256(&arguments));
    let invalid = state.validators.check(&tool, &arguments).err();
    let Value::Object(arguments) = arguments else {
        return Err(Error::Internal("arguments stopped being an object".into()));
    };
    // The arguments move into the policy request and back out of it afterwards.
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
        (Verdict::Deny, Some(invalid)) => {
            request.input_valid = true;
            if decide::decide(&state.engine, &request).0 == Verdict::Deny {
                log.decision = Some("deny");
                return Err(Error::UnknownTool(call.name));
            }
            log.decision = Some("invalid");
            return Err(invalid);
        }
        (Verdict::Deny, None) => {
            log.decision = Some("deny");
            return Err(Error::UnknownTool(call.name));
        }
        // Arguments the tool would refuse are reported first: no approver should see them.
        (Verdict::NeedsApproval, Some(invalid)) => {
            log.decision = Some("invalid");
            return Err(invalid);
        }
        (Verdict::NeedsApproval, None) => {
            // Boxed: the common path's future stays small.
            Box::pin(decide::held(
                state,
                log,
                principal,
                &mut request,
                &decision,
                &call.name,
                tool.id.clone(),
                Error::UnknownTool(call.name.clone()),
            ))
            .await?;
        }
    }
    // Allowed: and the tool is still what was approved.
    if let Err(e) = crate::pinning::verify(state, &tool).await {
        log.decision = Some("tool_changed");
        return Err(e);
    }
    if log.decision != Some("approved") {
        log.decision = Some("allow");
    }
    log.upstream = Some(tool.upstream.clone());
    Ok(Planned {
        upstream: tool.upstream.clone(),
        method: "tools/call",
        params: jsonrpc::tool_params(
            &tool.upstream_name,
            std::mem::take(&mut request.arguments),
            call.meta,
        ),
    })
}
