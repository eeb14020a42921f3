//! RFC 8693 token exchange: an authenticated agent trades a subject token (a user's, or
//! another agent's) for a token that says it acts for that subject. The new chain is the
//! subject's chain with the agent added; it is issued only if the registry and the policies
//! allow every hop — a user to an agent they hold a permission on, an agent to an agent it
//! may delegate to, no deeper than each delegator's `max_delegation_depth`.

use std::collections::HashMap;

use portcullis_identity::{ACCESS_TTL_SECS, AgentTokens, Claims};
use portcullis_registry::NhiKind;

use crate::error::Error;
use crate::oauth::Client;
use crate::state::State;

const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

fn invalid(code: &'static str, why: impl Into<String>) -> Error {
    Error::OAuth {
        status: 400,
        code,
        description: why.into(),
    }
}

/// The token for `client` acting for the subject of `params["subject_token"]`.
pub(crate) async fn exchange(
    state: &State,
    tokens: &AgentTokens,
    client: &Client,
    params: &HashMap<String, String>,
) -> Result<(String, Claims), Error> {
    let subject_token = params
        .get("subject_token")
        .ok_or_else(|| invalid("invalid_request", "`subject_token` is missing"))?;
    match params.get("subject_token_type").map(String::as_str) {
        Some(ACCESS_TOKEN | JWT) => {}
        _ => {
            return Err(invalid(
                "invalid_request",
                format!("`subject_token_type` must be `{ACCESS_TOKEN}` or `{JWT}`"),
            ));
        }
    }
    if client.kind != NhiKind::Agent {
        return Err(invalid(
            "invalid_grant",
            "only agents act for others: delegation chains are made of agents",
        ));
    }
    // The subject token: one this gateway accepts (its own, or a configured issuer's).
    let catalog = state.catalog.load();
    let subject =
        crate::authn::verify_token(subject_token, &state.tokens, &state.issuers, Some(tokens))
            .await
            .map_err(|e| invalid("invalid_grant", format!("the subject token: {e}")))?;
    if subject.tenant != client.tenant {
        return Err(invalid(
            "invalid_grant",
            "the subject token is for another tenant",
        ));
    }
    let mut actors: Vec<String> = subject.actors().into_iter().map(str::to_owned).collect();
    if actors.contains(&client.id) {
        return Err(invalid(
            "invalid_grant",
            "the agent is in the subject's chain already",
        ));
    }
    if actors.len() >= crate::authn::MAX_ACTORS {
        return Err(invalid(
            "invalid_grant",
            "the delegation chain would be too long",
        ));
    }
    // A first actor that is not an NHI is the user the chain acts for.
    let user = actors
        .first()
        .filter(|first| catalog.principal(&client.tenant, first).is_none())
        .cloned();
    let agents: Vec<String> = actors
        .iter()
        .skip(usize::from(user.is_some()))
        .cloned()
        .collect();
    match (&user, agents.first()) {
        // A user hands over to the first agent: only to one they hold a permission on.
        (Some(user), first) => {
            let first = first.unwrap_or(&client.id);
            if !catalog.user_may_use(&client.tenant, user, first) {
                return Err(invalid(
                    "invalid_grant",
                    format!(
                        "user `{user}` holds no permission on `{first}`: it may not act for them"
                    ),
                ));
            }
        }
        (None, None) => {}
        (None, Some(_)) => {}
    }
    if !agents.is_empty() {
        let decision = state
            .engine
            .decide_delegation(&client.tenant, &agents, &client.id);
        if !decision.allow {
            let why = if decision.reasons.is_empty() {
                "no policy allows it".to_owned()
            } else {
                format!("refused by {}", decision.reasons.join(", "))
            };
            return Err(invalid(
                "invalid_grant",
                format!("delegation to `{}` is not allowed: {why}", client.id),
            ));
        }
    }
    actors.push(client.id.clone());
    let sub = actors.remove(0);
    let now = crate::session::now();
    let ttl = subject.exp.saturating_sub(now).min(ACCESS_TTL_SECS);
    if ttl == 0 {
        return Err(invalid("invalid_grant", "the subject token has expired"));
    }
    tokens
        .issue(&sub, &actors, &client.tenant, ttl)
        .map_err(|e| Error::Internal(e.to_string()))
}
