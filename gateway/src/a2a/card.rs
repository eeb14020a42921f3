//! Agent cards: `GET /.well-known/agents/{agent_id}` (public) serves a registered, active
//! agent's card with the gateway as its endpoint.
//!
//! An agent served by an A2A upstream has the upstream's card fetched (at most 256 KiB, no
//! redirects followed, kept 5 minutes) and rewritten: every JSON-RPC interface points at
//! `{public_url}/a2a/{agent_id}`, other bindings are dropped (the gateway carries JSON-RPC
//! only), and the security schemes become the gateway's bearer token. A card carrying JWS
//! `signatures` cannot be rewritten without breaking them: it is served unmodified, with the
//! gateway endpoint beside it in the `Portcullis-A2A-Endpoint` and `Link` headers. An agent
//! without an upstream gets a card built from the registry.

use std::sync::Arc;

use pingora::proxy::Session;
use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::lookup::AgentEntry;
use crate::respond::{Answer, Reply};
use crate::state::{CallLog, State};
use crate::upstream::UpstreamError;

/// The largest card the gateway reads from an upstream.
const MAX_CARD: usize = 256 * 1024;
/// The name of the gateway's security scheme in the cards it serves.
const SCHEME: &str = "portcullis";

/// Where clients send an agent's tasks.
pub(crate) fn endpoint(state: &State, agent: &str) -> String {
    format!("{}/a2a/{agent}", crate::oauth::base(state))
}

/// Handles `GET /.well-known/agents/{agent_id}`.
pub(crate) async fn get(
    state: &State,
    _session: &Session,
    log: &mut CallLog,
    id: &str,
) -> Result<Answer, Error> {
    log.method = Some("agent/card".into());
    let agent = state
        .catalog
        .load()
        .agent_anywhere(id)
        .cloned()
        .filter(|a| a.lifecycle == portcullis_policy::Lifecycle::Active)
        .ok_or_else(|| Error::UnknownAgent(id.chars().take(64).collect()))?;
    let Some(upstream) = agent.upstream.clone() else {
        let card = registry_card(state, &agent);
        return Ok(Reply::json(200, serde_json::to_vec(&card).unwrap_or_default()).into());
    };
    let card = fetch(state, &upstream).await?;
    let here = endpoint(state, &agent.id);
    if signed(&card) {
        let reply = Reply::json(200, serde_json::to_vec(&*card).unwrap_or_default())
            .with_header("portcullis-a2a-endpoint", here.clone())
            .with_header("link", format!("<{here}>; rel=\"service\""));
        return Ok(reply.into());
    }
    let card = rewrite(state, &agent, (*card).clone());
    Ok(Reply::json(200, serde_json::to_vec(&card).unwrap_or_default()).into())
}

/// The upstream's card, from the cache or fetched.
async fn fetch(state: &State, upstream: &str) -> Result<Arc<Value>, Error> {
    let Some(up) = state.a2a.get(upstream) else {
        return Err(Error::upstream(
            upstream,
            UpstreamError::Connect("not configured".into()),
        ));
    };
    state
        .cards
        .try_get_with(upstream.to_owned(), async {
            let mut ex = up
                .card
                .get(&state.connector, &[("accept", "application/json")])
                .await?;
            let status = ex.status();
            if status != 200 {
                ex.drain().await;
                ex.release().await;
                return Err(if (300..400).contains(&status) {
                    UpstreamError::Protocol(format!(
                        "the agent card answered HTTP {status}; redirects are not followed"
                    ))
                } else {
                    UpstreamError::Status(status)
                });
            }
            let mut raw = Vec::new();
            while let Some(chunk) = ex.chunk().await? {
                if raw.len() + chunk.len() > MAX_CARD {
                    return Err(UpstreamError::Protocol(format!(
                        "the agent card is larger than {MAX_CARD} bytes"
                    )));
                }
                raw.extend_from_slice(&chunk);
            }
            ex.release().await;
            let card: Value = serde_json::from_slice(&raw)
                .map_err(|e| UpstreamError::Protocol(format!("the agent card is not JSON: {e}")))?;
            if !card.is_object() {
                return Err(UpstreamError::Protocol(
                    "the agent card is not a JSON object".into(),
                ));
            }
            Ok(Arc::new(card))
        })
        .await
        .map_err(|e: Arc<UpstreamError>| Error::upstream(upstream, (*e).clone()))
}

/// The card with the gateway as its only endpoint and its bearer token as its security.
/// (An authenticated extended card is rewritten the same way.)
pub(crate) fn rewrite(state: &State, agent: &AgentEntry, card: Value) -> Value {
    rewrite_to(card, &endpoint(state, &agent.id))
}

/// Whether a card carries JWS signatures (which a rewrite would break).
fn signed(card: &Value) -> bool {
    card.get("signatures")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty())
}

/// The card with `here` as its only JSON-RPC endpoint and the gateway's security.
fn rewrite_to(mut card: Value, here: &str) -> Value {
    let here = here.to_owned();
    let Some(obj) = card.as_object_mut() else {
        return card;
    };
    let v10 = obj.contains_key("supportedInterfaces");
    let jsonrpc = |list: Option<Value>, binding: &str| -> Vec<Value> {
        let Some(Value::Array(list)) = list else {
            return Vec::new();
        };
        list.into_iter()
            .filter_map(|mut i| {
                let keep = i.get(binding).and_then(Value::as_str) == Some("JSONRPC");
                let entry = i.as_object_mut()?;
                entry.insert("url".into(), Value::String(here.clone()));
                entry.remove("tenant");
                keep.then_some(i)
            })
            .collect()
    };
    let interfaces = jsonrpc(obj.remove("supportedInterfaces"), "protocolBinding");
    if v10 {
        obj.insert("supportedInterfaces".into(), Value::Array(interfaces));
    }
    let additional = jsonrpc(obj.remove("additionalInterfaces"), "transport");
    if !additional.is_empty() {
        obj.insert("additionalInterfaces".into(), Value::Array(additional));
    }
    if obj.contains_key("url") || !v10 {
        obj.insert("url".into(), Value::String(here.clone()));
        obj.insert("preferredTransport".into(), Value::String("JSONRPC".into()));
    }
    obj.remove("signatures");
    secure(obj, v10);
    if let Some(Value::Array(skills)) = obj.get_mut("skills") {
        for skill in skills.iter_mut().filter_map(Value::as_object_mut) {
            skill.remove("security");
            skill.remove("securityRequirements");
        }
    }
    card
}

/// Replaces the card's security with the gateway's bearer token, in the card's version.
fn secure(obj: &mut Map<String, Value>, v10: bool) {
    obj.remove("security");
    obj.remove("securityRequirements");
    if v10 {
        obj.insert(
            "securitySchemes".into(),
            json!({SCHEME: {"httpAuthSecurityScheme": {"scheme": "Bearer", "bearerFormat": "JWT"}}}),
        );
        obj.insert(
            "securityRequirements".into(),
            json!([{"schemes": {SCHEME: {"list": []}}}]),
        );
    } else {
        obj.insert(
            "securitySchemes".into(),
            json!({SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}),
        );
        obj.insert("security".into(), json!([{SCHEME: []}]));
    }
}

/// The card of an agent the registry knows but no A2A upstream serves.
fn registry_card(state: &State, agent: &AgentEntry) -> Value {
    let here = endpoint(state, &agent.id);
    let mut card = json!({
        "name": agent.name,
        "description": agent.description,
        "version": "1.0.0",
        "supportedInterfaces": [
            {"url": here, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
            {"url": here, "protocolBinding": "JSONRPC", "protocolVersion": "0.3"},
        ],
        "url": here,
        "preferredTransport": "JSONRPC",
        "protocolVersion": "0.3",
        "capabilities": {"streaming": false, "pushNotifications": false},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [],
    });
    if let Some(obj) = card.as_object_mut() {
        secure(obj, true);
    }
    card
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const HERE: &str = "https://gw.example/a2a/a-1";

    #[test]
    fn a_v10_card_points_at_the_gateway_only() {
        let card = json!({
            "name": "echo",
            "supportedInterfaces": [
                {"url": "http://10.0.0.5:9999/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0", "tenant": "t"},
                {"url": "http://10.0.0.5:9998/", "protocolBinding": "GRPC", "protocolVersion": "1.0"},
            ],
            "url": "http://10.0.0.5:9999/",
            "securitySchemes": {"upstream-key": {"apiKeySecurityScheme": {"name": "k", "location": "header"}}},
            "securityRequirements": [{"schemes": {"upstream-key": {"list": []}}}],
            "skills": [{"id": "s", "securityRequirements": [{"schemes": {"upstream-key": {"list": []}}}]}],
        });
        let out = rewrite_to(card, HERE);
        assert_eq!(
            out["supportedInterfaces"],
            json!([{"url": HERE, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}])
        );
        assert_eq!(out["url"], HERE);
        assert!(!out.to_string().contains("10.0.0.5"), "{out}");
        assert!(!out.to_string().contains("upstream-key"), "{out}");
        assert_eq!(
            out["securitySchemes"]["portcullis"]["httpAuthSecurityScheme"]["scheme"],
            "Bearer"
        );
    }

    #[test]
    fn a_v03_card_keeps_its_shape() {
        let card = json!({
            "name": "old",
            "url": "http://10.0.0.5:9999/",
            "preferredTransport": "JSONRPC",
            "additionalInterfaces": [
                {"url": "http://10.0.0.5:9999/", "transport": "JSONRPC"},
                {"url": "http://10.0.0.5:9999/rest", "transport": "HTTP+JSON"},
            ],
            "security": [{"key": []}],
        });
        let out = rewrite_to(card, HERE);
        assert_eq!(out["url"], HERE);
        assert!(out.get("supportedInterfaces").is_none());
        assert_eq!(
            out["additionalInterfaces"],
            json!([{"url": HERE, "transport": "JSONRPC"}])
        );
        assert_eq!(out["security"], json!([{"portcullis": []}]));
        assert_eq!(out["securitySchemes"]["portcullis"]["scheme"], "bearer");
    }

    #[test]
    fn signed_cards_are_recognised() {
        assert!(signed(
            &json!({"signatures": [{"protected": "x", "signature": "y"}]})
        ));
        assert!(!signed(&json!({"signatures": []})));
        assert!(!signed(&json!({"name": "n"})));
    }
}
