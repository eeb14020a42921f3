//! Prompts: `prompts/list` merged across the caller's upstreams and filtered per caller,
//! `prompts/get` decided like a tool call. Clients name a prompt `<prefix><name>`, as tools.

use serde_json::{Map, Value, json};

use crate::authn::Principal;
use crate::decide::{self, Verdict};
use crate::discovery::Family;
use crate::error::Error;
use crate::federate;
use crate::forward::{Planned, Target};
use crate::jsonrpc;
use crate::respond::Reply;
use crate::session::Conversation;
use crate::state::{CallLog, State};
use portcullis_policy::Action;

/// One page of the prompts the caller may get (a denied prompt is not listed).
pub(crate) async fn list(
    state: &State,
    to: Target<'_>,
    id: &Value,
    params: Option<&Map<String, Value>>,
) -> Result<Reply, Error> {
    let page = federate::page(state, to, Family::Prompts, params).await?;
    let mut prompts = Vec::with_capacity(page.items.len());
    for (upstream, mut prompt) in page.items {
        let Some(name) = prompt
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            continue;
        };
        let request = prompt_request(to.principal, &upstream, &name, Map::new());
        if decide::decide(&state.engine, &request).0 == Verdict::Deny {
            continue;
        }
        let Some(up) = state.config.upstream(&upstream) else {
            continue;
        };
        if let Some(obj) = prompt.as_object_mut() {
            obj.insert(
                "name".into(),
                Value::String(format!("{}{name}", up.prefix())),
            );
        }
        prompts.push(prompt);
    }
    Ok(Reply::rpc_result(
        id,
        &list_result("prompts", prompts, page.next, to.conversation),
    ))
}

/// A list result: the items, the next cursor, and in the 2026-07-28 era how long it holds
/// (a list filtered for its caller is the caller's own).
pub(crate) fn list_result(
    key: &str,
    items: Vec<Value>,
    next: Option<String>,
    conversation: &Conversation,
) -> Value {
    let mut result = Map::new();
    result.insert(key.into(), Value::Array(items));
    if let Some(next) = next {
        result.insert("nextCursor".into(), Value::String(next));
    }
    if matches!(conversation, Conversation::Stateless) {
        result.insert("ttlMs".into(), json!(30_000));
        result.insert("cacheScope".into(), json!("private"));
    }
    Value::Object(result)
}

fn prompt_request(
    principal: &Principal,
    upstream: &str,
    name: &str,
    arguments: Map<String, Value>,
) -> portcullis_policy::Request {
    let target = portcullis_policy::Target {
        name: name.to_owned(),
        uri: String::new(),
    };
    decide::server_request(principal, Action::GetPrompt, upstream, target, arguments)
}

/// `prompts/get`: the prompt found by its prefix, decided, its arguments checked against
/// the ones it declares; a denied prompt is refused exactly like an unknown one.
pub(crate) async fn plan_get(
    state: &State,
    log: &mut CallLog,
    principal: &Principal,
    params: Option<Map<String, Value>>,
) -> Result<Planned, Error> {
    let mut params = params
        .ok_or_else(|| Error::InvalidParams("prompts/get needs `params` with `name`".into()))?;
    let Some(Value::String(exposed)) = params.remove("name") else {
        return Err(Error::InvalidParams(
            "prompts/get needs a string `name`".into(),
        ));
    };
    if exposed.len() > jsonrpc::MAX_NAME {
        return Err(Error::InvalidParams(format!(
            "the prompt name is longer than {} bytes",
            jsonrpc::MAX_NAME
        )));
    }
    log.target = Some(exposed.clone());
    let arguments = match params.remove("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(Error::InvalidParams("`arguments` must be an object".into())),
    };
    log.arguments_sha256 = Some(crate::audit::canonical_sha256(&Value::Object(
        arguments.clone(),
    )));
    let unknown = || Error::UnknownPrompt(exposed.clone());
    let (upstream, name) = state.config.route_name(&exposed).ok_or_else(unknown)?;
    let (upstream, name) = (upstream.name.clone(), name.to_owned());
    let Some(declared) =
        crate::discovery::find(state, &upstream, Family::Prompts, "name", &name).await
    else {
        log.decision = Some("unknown");
        return Err(unknown());
    };
    let mut request = prompt_request(principal, &upstream, &name, arguments);
    let (verdict, decision) = decide::decide(&state.engine, &request);
    decide::settle(
        state,
        log,
        principal,
        &mut request,
        verdict,
        &decision,
        &exposed,
        format!("prompt {upstream} {name}"),
        unknown(),
    )
    .await?;
    let arguments = request.arguments;
    if let Err(e) = check_arguments(&exposed, &declared, &arguments) {
        log.decision = Some("invalid");
        return Err(e);
    }
    log.upstream = Some(upstream.clone());
    let mut forwarded = Map::new();
    forwarded.insert("name".into(), Value::String(name));
    if !arguments.is_empty() {
        forwarded.insert("arguments".into(), Value::Object(arguments));
    }
    if let Some(Value::Object(meta)) = params.remove("_meta") {
        forwarded.insert("_meta".into(), Value::Object(meta));
    }
    Ok(Planned {
        upstream,
        method: "prompts/get",
        params: forwarded,
    })
}

/// The arguments against the prompt's declared ones: every required one given, nothing
/// undeclared, every value a string (as MCP defines prompt arguments).
fn check_arguments(
    exposed: &str,
    declared: &Value,
    given: &Map<String, Value>,
) -> Result<(), Error> {
    let declared: Vec<(&str, bool)> = declared
        .get("arguments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let name = a.get("name")?.as_str()?;
            Some((
                name,
                a.get("required").and_then(Value::as_bool).unwrap_or(false),
            ))
        })
        .collect();
    let bad = |why: String| Err(Error::InvalidParams(format!("prompt `{exposed}`: {why}")));
    for (name, value) in given {
        if !declared.iter().any(|(d, _)| d == name) {
            return bad(format!(
                "no argument `{}` is declared",
                name.chars().take(64).collect::<String>()
            ));
        }
        if !value.is_string() {
            return bad(format!("argument `{name}` must be a string"));
        }
    }
    if let Some((missing, _)) = declared
        .iter()
        .find(|(d, required)| *required && !given.contains_key(*d))
    {
        return bad(format!("argument `{missing}` is required"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::check_arguments;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn prompt_arguments_are_checked_against_the_declaration() {
        let declared = json!({"name": "p", "arguments": [{"name": "city", "required": true}, {"name": "style"}]});
        assert!(check_arguments("x_p", &declared, &args(json!({"city": "Oslo"}))).is_ok());
        assert!(
            check_arguments(
                "x_p",
                &declared,
                &args(json!({"city": "Oslo", "style": "terse"}))
            )
            .is_ok()
        );
        for (given, needle) in [
            (json!({}), "`city` is required"),
            (
                json!({"city": "Oslo", "shell": "rm"}),
                "no argument `shell`",
            ),
            (json!({"city": 5}), "must be a string"),
        ] {
            let err = check_arguments("x_p", &declared, &args(given))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle) && err.contains("`x_p`"), "{err}");
        }
        // A prompt that declares no arguments takes none.
        assert!(check_arguments("x_q", &json!({"name": "q"}), &args(json!({"a": "b"}))).is_err());
        assert!(check_arguments("x_q", &json!({"name": "q"}), &Map::new()).is_ok());
    }
}
