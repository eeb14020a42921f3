//! Resources: lists merged across the caller's upstreams and filtered per caller; reads and
//! subscriptions routed to the upstream that offers the URI and decided like a call.
//!
//! URIs stay as the upstreams give them. A URI goes to the upstream that listed it: the
//! gateway remembers which upstream each URI of a list it merged came from (per client
//! session, or per principal outside one), and otherwise looks at what each upstream lists
//! (exact URIs, then the literal start of its resource templates). With one upstream every
//! URI goes to it. A URI that two upstreams both offer is a configuration error: refused,
//! naming both — give each upstream distinct URIs.

use std::collections::BTreeSet;
use std::sync::Arc;

use portcullis_policy::Action;
use serde_json::{Map, Value};

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

/// A remembered route that two upstreams claimed.
const AMBIGUOUS: &str = "";

/// Whose routes a conversation learns: its client session, or the principal outside one.
fn scope(to: Target<'_>) -> String {
    match to.conversation {
        Conversation::Session { id, .. } => id.clone(),
        Conversation::Stateless => format!("{}\0{}", to.principal.tenant, to.principal.id),
    }
}

pub(crate) fn read_request(
    principal: &Principal,
    upstream: &str,
    uri: &str,
) -> portcullis_policy::Request {
    let target = portcullis_policy::Target {
        name: String::new(),
        uri: uri.to_owned(),
    };
    decide::server_request(
        principal,
        Action::ReadResource,
        upstream,
        target,
        Map::new(),
    )
}

/// One page of `resources/list` or `resources/templates/list`: what the caller may read.
pub(crate) async fn list(
    state: &State,
    to: Target<'_>,
    family: Family,
    id: &Value,
    params: Option<&Map<String, Value>>,
) -> Result<Reply, Error> {
    let page = federate::page(state, to, family, params).await?;
    let field = if family == Family::Templates {
        "uriTemplate"
    } else {
        "uri"
    };
    let scope = scope(to);
    let mut items = Vec::with_capacity(page.items.len());
    for (upstream, item) in page.items {
        let Some(uri) = item.get(field).and_then(Value::as_str) else {
            continue;
        };
        if uri.len() > jsonrpc::MAX_URI {
            continue;
        }
        let request = read_request(to.principal, &upstream, uri);
        if decide::decide(&state.engine, &request).0 == Verdict::Deny {
            continue;
        }
        if family == Family::Resources {
            let key = (scope.clone(), uri.to_owned());
            let route = match state.routes.get(&key) {
                Some(known) if known.as_ref() != upstream.as_str() => Arc::from(AMBIGUOUS),
                _ => Arc::from(upstream.as_str()),
            };
            state.routes.insert(key, route);
        }
        items.push(item);
    }
    Ok(Reply::rpc_result(
        id,
        &crate::prompts::list_result(family.key(), items, page.next, to.conversation),
    ))
}

/// `resources/read`, `resources/subscribe` or `resources/unsubscribe`: routed, decided
/// (`read_resource` for all three), and re-serialized with only `uri` (and `_meta`).
pub(crate) async fn plan(
    state: &State,
    log: &mut CallLog,
    to: Target<'_>,
    method: &'static str,
    params: Option<Map<String, Value>>,
) -> Result<Planned, Error> {
    let mut params = params
        .ok_or_else(|| Error::InvalidParams(format!("{method} needs `params` with `uri`")))?;
    let uri = uri_param(&mut params, method)?;
    log.target = Some(uri.clone());
    let upstream = route(state, to, &uri).await?;
    let mut request = read_request(to.principal, &upstream, &uri);
    let (verdict, decision) = decide::decide(&state.engine, &request);
    decide::settle(
        state,
        log,
        to.principal,
        &mut request,
        verdict,
        &decision,
        &uri,
        format!("resource {upstream} {uri}"),
        Error::UnknownResource(uri.clone()),
    )
    .await?;
    log.upstream = Some(upstream.clone());
    let mut forwarded = Map::new();
    forwarded.insert("uri".into(), Value::String(uri));
    if let Some(Value::Object(meta)) = params.remove("_meta") {
        forwarded.insert("_meta".into(), Value::Object(meta));
    }
    Ok(Planned {
        upstream,
        method,
        params: forwarded,
    })
}

/// The `uri` of a request, bounded.
pub(crate) fn uri_param(params: &mut Map<String, Value>, method: &str) -> Result<String, Error> {
    let Some(Value::String(uri)) = params.remove("uri") else {
        return Err(Error::InvalidParams(format!(
            "{method} needs a string `uri`"
        )));
    };
    if uri.len() > jsonrpc::MAX_URI {
        return Err(Error::InvalidParams(format!(
            "the URI is longer than {} bytes",
            jsonrpc::MAX_URI
        )));
    }
    Ok(uri)
}

/// The upstream a resource URI goes to (see the module's documentation).
pub(crate) async fn route(state: &State, to: Target<'_>, uri: &str) -> Result<String, Error> {
    if state.upstreams.len() == 1
        && let Some(only) = state.upstreams.keys().next()
    {
        return Ok(only.clone());
    }
    if let Some(known) = state.routes.get(&(scope(to), uri.to_owned())) {
        if known.as_ref() == AMBIGUOUS {
            return Err(ambiguous(
                uri,
                &["two upstreams of this session".to_owned()],
            ));
        }
        return Ok(known.to_string());
    }
    let listed: BTreeSet<String> = crate::discovery::all(state, Family::Resources)
        .await
        .into_iter()
        .filter(|(_, items)| {
            items
                .iter()
                .any(|i| i.get("uri").and_then(Value::as_str) == Some(uri))
        })
        .map(|(upstream, _)| upstream)
        .collect();
    match listed.len() {
        1 => return Ok(listed.into_iter().next().unwrap_or_default()),
        0 => {}
        _ => return Err(ambiguous(uri, &listed.into_iter().collect::<Vec<_>>())),
    }
    template_owner(state, uri, |template| {
        uri.starts_with(literal_start(template))
    })
    .await?
    .ok_or_else(|| Error::UnknownResource(uri.to_owned()))
}

/// The upstream whose resource template `matches`, preferring the longest literal start.
pub(crate) async fn template_owner(
    state: &State,
    uri: &str,
    matches: impl Fn(&str) -> bool,
) -> Result<Option<String>, Error> {
    let mut best: Option<(usize, BTreeSet<String>)> = None;
    for (upstream, templates) in crate::discovery::all(state, Family::Templates).await {
        for template in templates
            .iter()
            .filter_map(|t| t.get("uriTemplate")?.as_str())
        {
            if !matches(template) {
                continue;
            }
            let len = literal_start(template).len();
            match &mut best {
                Some((best_len, owners)) if *best_len == len => {
                    owners.insert(upstream.clone());
                }
                Some((best_len, _)) if *best_len > len => {}
                _ => best = Some((len, BTreeSet::from([upstream.clone()]))),
            }
        }
    }
    match best {
        None => Ok(None),
        Some((_, owners)) if owners.len() == 1 => Ok(owners.into_iter().next()),
        Some((_, owners)) => Err(ambiguous(uri, &owners.into_iter().collect::<Vec<_>>())),
    }
}

/// The part of a URI template before its first expression.
fn literal_start(template: &str) -> &str {
    template.split('{').next().unwrap_or_default()
}

fn ambiguous(uri: &str, upstreams: &[String]) -> Error {
    Error::Misconfigured(format!(
        "resource `{uri}` is offered by more than one upstream ({}): give each upstream distinct URIs",
        upstreams.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::literal_start;

    #[test]
    fn a_template_matches_by_its_literal_start() {
        assert_eq!(
            literal_start("demo://resource/dynamic/text/{id}"),
            "demo://resource/dynamic/text/"
        );
        assert_eq!(literal_start("file:///{+path}"), "file:///");
        assert_eq!(
            literal_start("plain://no-expression"),
            "plain://no-expression"
        );
    }
}
