//! `completion/complete`: routed to the upstream that owns the prompt (by its prefix) or the
//! resource template (by what the upstreams list), decided (`complete`), re-serialized.

use portcullis_policy::Action;
use serde_json::{Map, Value, json};

use crate::decide;
use crate::discovery::Family;
use crate::error::Error;
use crate::forward::{Planned, Target};
use crate::jsonrpc;
use crate::state::{CallLog, State};

/// What a completion is for.
enum Ref {
    Prompt { exposed: String },
    Template { uri: String },
}

fn string(obj: &Map<String, Value>, key: &str, what: &str, max: usize) -> Result<String, Error> {
    match obj.get(key) {
        Some(Value::String(s)) if s.len() <= max => Ok(s.clone()),
        Some(Value::String(_)) => Err(Error::InvalidParams(format!(
            "`{what}.{key}` is longer than {max} bytes"
        ))),
        _ => Err(Error::InvalidParams(format!(
            "completion/complete needs a string `{what}.{key}`"
        ))),
    }
}

pub(crate) async fn plan(
    state: &State,
    log: &mut CallLog,
    to: Target<'_>,
    params: Option<Map<String, Value>>,
) -> Result<Planned, Error> {
    let params =
        params.ok_or_else(|| Error::InvalidParams("completion/complete needs `params`".into()))?;
    let object = |key: &str| match params.get(key) {
        Some(Value::Object(o)) => Ok(o),
        _ => Err(Error::InvalidParams(format!(
            "completion/complete needs an object `{key}`"
        ))),
    };
    let reference = object("ref")?;
    let reference = match reference.get("type").and_then(Value::as_str) {
        Some("ref/prompt") => Ref::Prompt {
            exposed: string(reference, "name", "ref", jsonrpc::MAX_NAME)?,
        },
        Some("ref/resource") => Ref::Template {
            uri: string(reference, "uri", "ref", jsonrpc::MAX_URI)?,
        },
        _ => {
            return Err(Error::InvalidParams(
                "`ref.type` must be `ref/prompt` or `ref/resource`".into(),
            ));
        }
    };
    let argument = object("argument")?;
    let argument = json!({
        "name": string(argument, "name", "argument", jsonrpc::MAX_NAME)?,
        "value": string(argument, "value", "argument", jsonrpc::MAX_URI)?,
    });
    let context_arguments: Map<String, Value> = match params.get("context") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(c)) => match c.get("arguments") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(a)) if a.values().all(Value::is_string) => a.clone(),
            _ => {
                return Err(Error::InvalidParams(
                    "`context.arguments` must map names to strings".into(),
                ));
            }
        },
        Some(_) => return Err(Error::InvalidParams("`context` must be an object".into())),
    };
    log.arguments_sha256 = Some(crate::audit::canonical_sha256(
        &json!({"argument": argument, "context": context_arguments}),
    ));
    let (upstream, target, forwarded_ref, unknown) = match reference {
        Ref::Prompt { exposed } => {
            log.target = Some(exposed.clone());
            let unknown = Error::UnknownPrompt(exposed.clone());
            let Some((up, name)) = state.config.route_name(&exposed) else {
                return Err(unknown);
            };
            let (upstream, name) = (up.name.clone(), name.to_owned());
            if crate::discovery::find(state, &upstream, Family::Prompts, "name", &name)
                .await
                .is_none()
            {
                return Err(unknown);
            }
            let target = portcullis_policy::Target {
                name: name.clone(),
                uri: String::new(),
            };
            (
                upstream,
                target,
                json!({"type": "ref/prompt", "name": name}),
                unknown,
            )
        }
        Ref::Template { uri } => {
            log.target = Some(uri.clone());
            let unknown = Error::UnknownResource(uri.clone());
            let owner = if state.upstreams.len() == 1 {
                state.upstreams.keys().next().cloned()
            } else {
                crate::resources::template_owner(state, &uri, |t| t == uri).await?
            };
            let Some(upstream) = owner else {
                return Err(unknown);
            };
            let target = portcullis_policy::Target {
                name: String::new(),
                uri: uri.clone(),
            };
            (
                upstream,
                target,
                json!({"type": "ref/resource", "uri": uri}),
                unknown,
            )
        }
    };
    let mut request = decide::server_request(
        to.principal,
        Action::Complete,
        &upstream,
        target,
        context_arguments,
    );
    let (verdict, decision) = decide::decide(&state.engine, &request);
    let named = log.target.clone().unwrap_or_default();
    decide::settle(
        state,
        log,
        to.principal,
        &mut request,
        verdict,
        &decision,
        &named,
        format!("completion {upstream} {named}"),
        unknown,
    )
    .await?;
    log.upstream = Some(upstream.clone());
    let mut forwarded = Map::new();
    forwarded.insert("ref".into(), forwarded_ref);
    forwarded.insert("argument".into(), argument);
    if !request.arguments.is_empty() {
        forwarded.insert("context".into(), json!({"arguments": request.arguments}));
    }
    Ok(Planned {
        upstream,
        method: "completion/complete",
        params: forwarded,
    })
}
