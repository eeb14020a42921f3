//! `/nhi/mcp-discovery`: what the MCP servers behind the gateway offer, importing their tools
//! as governed tools pinned to their definition, and checking them for drift.
//!
//! An imported tool keeps the SHA-256 of the upstream's whole definition; the gateway refuses
//! it as soon as the upstream offers something else under its name, until it is imported
//! again (which re-approves what the upstream offers now).

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use portcullis_registry::discovery::{UpstreamTools, definition_sha256};
use portcullis_registry::{Common, Nhi, NhiKind, Tool, ToolFields, validate_input_schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::Json;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(gateways))
        .routes(routes!(tools))
        .routes(routes!(import))
        .routes(routes!(sync_check))
}

/// The most tools one import names.
const MAX_IMPORT: usize = 500;

async fn upstreams(s: &AppState) -> ApiResult<Vec<UpstreamTools>> {
    let discovery = s.discovery.as_ref().ok_or_else(|| {
        ApiError::Unavailable("discovery needs the gateway of this process".into())
    })?;
    Ok(discovery.upstream_tools().await)
}

/// The tenant's tools registered from an upstream: (upstream, name there) → the record.
async fn registered(s: &AppState, tenant: &str) -> ApiResult<HashMap<(String, String), Tool>> {
    Ok(s.store
        .list_nhis(tenant, NhiKind::Tool)
        .await?
        .into_iter()
        .filter_map(|n| match n {
            Nhi::Tool(t) => Some(t),
            _ => None,
        })
        .filter_map(|t| Some(((t.fields.upstream.clone()?, t.common.name.clone()), t)))
        .collect())
}

fn name_of(def: &Value) -> Option<&str> {
    def.get("name").and_then(Value::as_str)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Upstream {
    name: String,
    url: String,
    prefix: String,
    healthy: bool,
    tools: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    latency_ms: f64,
}

/// The MCP upstreams the gateway is configured with, and whether each answers now.
#[utoipa::path(get, path = "/nhi/mcp-discovery/gateways", tag = "mcp-discovery",
    params(crate::list::PageQuery), responses((status = 200, body = crate::list::List<Upstream>), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn gateways(
    State(s): State<AppState>,
    caller: Caller,
    crate::query::Query(q): crate::query::Query<crate::list::PageQuery>,
) -> ApiResult<axum::Json<crate::list::List<Upstream>>> {
    caller.require_admin()?;
    Ok(axum::Json(crate::list::List::of(
        upstreams(&s)
            .await?
            .into_iter()
            .map(|u| Upstream {
                healthy: u.tools.is_ok(),
                tools: u.tools.as_ref().map_or(0, Vec::len),
                error: u.tools.err(),
                name: u.name,
                url: u.url,
                prefix: u.prefix,
                latency_ms: u.latency_ms,
            })
            .collect(),
        &q,
    )?))
}

/// The state of one offered or registered tool.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Offered {
    upstream: String,
    /// The name at the upstream.
    name: String,
    /// The name clients call it by.
    exposed_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// `new` (not registered), `pinned` (registered, matching), `changed` (registered with
    /// another definition), `unpinned` (registered by hand, never imported), `removed` (no
    /// longer offered).
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    definition: Option<Value>,
}

fn status(registered: Option<&Tool>, hash: &str) -> &'static str {
    match registered {
        None => "new",
        Some(t) => match t.fields.definition_sha256.as_deref() {
            None => "unpinned",
            Some(pin) if pin == hash => "pinned",
            Some(_) => "changed",
        },
    }
}

/// Every tool each upstream offers now, and how it stands against the registry.
#[utoipa::path(get, path = "/nhi/mcp-discovery/tools", tag = "mcp-discovery",
    params(crate::list::PageQuery), responses((status = 200, body = crate::list::List<Offered>), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn tools(
    State(s): State<AppState>,
    caller: Caller,
    crate::query::Query(q): crate::query::Query<crate::list::PageQuery>,
) -> ApiResult<axum::Json<crate::list::List<Offered>>> {
    caller.require_admin()?;
    let known = registered(&s, &caller.tenant).await?;
    let mut out = Vec::new();
    for u in upstreams(&s).await? {
        let Ok(defs) = u.tools else { continue };
        for def in defs {
            let Some(name) = name_of(&def).map(str::to_owned) else {
                continue;
            };
            let record = known.get(&(u.name.clone(), name.clone()));
            out.push(Offered {
                status: status(record, &definition_sha256(&def)),
                tool_id: record.map(|t| t.common.id.to_string()),
                exposed_name: format!("{}{name}", u.prefix),
                description: def
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                upstream: u.name.clone(),
                name,
                definition: Some(def),
            });
        }
    }
    Ok(axum::Json(crate::list::List::of(out, &q)?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Import {
    /// Tools by the name clients call them (`<prefix><name>`), or by their name at
    /// `upstream`.
    tool_names: Vec<String>,
    /// Look the names up at this upstream only.
    upstream: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Imported {
    name: String,
    upstream: String,
    tool_id: String,
    /// `created`, `updated` (pinned to what the upstream offers now) or `unchanged`.
    outcome: &'static str,
    definition_sha256: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ImportReport {
    imported: Vec<Imported>,
    /// Names no reachable upstream offers.
    not_found: Vec<String>,
}

/// Register (or re-approve) tools as the upstream offers them now: their schema,
/// description and annotations, pinned by the hash of the whole definition.
#[utoipa::path(post, path = "/nhi/mcp-discovery/import", tag = "mcp-discovery", request_body = Import,
    responses((status = 200, body = ImportReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn import(
    State(s): State<AppState>,
    caller: Caller,
    Json(b): Json<Import>,
) -> ApiResult<axum::Json<ImportReport>> {
    caller.require_admin()?;
    if b.tool_names.is_empty() || b.tool_names.len() > MAX_IMPORT {
        return Err(ApiError::BadRequest(format!(
            "`tool_names` must name 1 to {MAX_IMPORT} tools"
        )));
    }
    for n in &b.tool_names {
        crate::nhi::check_name(n)?;
    }
    let offered = upstreams(&s).await?;
    let mut report = ImportReport {
        imported: Vec::new(),
        not_found: Vec::new(),
    };
    let mut done = HashSet::new();
    for wanted in &b.tool_names {
        let found = offered
            .iter()
            .filter(|u| b.upstream.as_deref().is_none_or(|only| only == u.name))
            .filter_map(|u| Some((u, u.tools.as_ref().ok()?)))
            .find_map(|(u, defs)| {
                defs.iter().find_map(|d| {
                    let name = name_of(d)?;
                    let exposed = format!("{}{name}", u.prefix);
                    let matches = *wanted == exposed || (b.upstream.is_some() && wanted == name);
                    matches.then(|| (u, name.to_owned(), d.clone()))
                })
            });
        let Some((u, name, def)) = found else {
            report.not_found.push(wanted.clone());
            continue;
        };
        if !done.insert((u.name.clone(), name.clone())) {
            continue;
        }
        report
            .imported
            .push(register(&s, &caller, &u.name, &name, &def).await?);
    }
    Ok(axum::Json(report))
}

/// Creates or re-pins the tool `name` of `upstream` from its definition `def`.
async fn register(
    s: &AppState,
    caller: &Caller,
    upstream: &str,
    name: &str,
    def: &Value,
) -> ApiResult<Imported> {
    let hash = definition_sha256(def);
    let schema = def
        .get("inputSchema")
        .cloned()
        .unwrap_or_else(|| serde_json::json!({"type": "object"}));
    validate_input_schema(&schema)
        .map_err(|e| ApiError::Unprocessable(format!("tool `{name}` of `{upstream}`: {e}")))?;
    let description: String = def
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .chars()
        .take(4000)
        .collect();
    let annotations: Map<String, Value> = def
        .get("annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let existing = registered(s, &caller.tenant)
        .await?
        .remove(&(upstream.to_owned(), name.to_owned()));
    let (record, outcome) = match existing {
        Some(t) if t.fields.definition_sha256.as_deref() == Some(hash.as_str()) => {
            (t.common.id, "unchanged")
        }
        Some(t) => {
            let id = t.common.id.to_string();
            let updated = crate::nhi::modify(s, caller, Some(NhiKind::Tool), &id, None, |n| {
                if let Nhi::Tool(t) = n {
                    t.fields.input_schema = schema.clone();
                    t.fields.annotations = annotations.clone();
                    t.fields.definition_sha256 = Some(hash.clone());
                    description.clone_into(&mut t.common.description);
                }
                Ok(())
            })
            .await?;
            (updated.id(), "updated")
        }
        None => {
            let mut common = Common::new(&caller.tenant, name);
            common.description = description;
            let tool = Nhi::Tool(Tool {
                common,
                fields: ToolFields {
                    input_schema: schema,
                    annotations,
                    upstream: Some(upstream.to_owned()),
                    definition_sha256: Some(hash.clone()),
                    ..ToolFields::default()
                },
            });
            (crate::nhi::create(s, caller, tool).await?.id(), "created")
        }
    };
    Ok(Imported {
        name: name.to_owned(),
        upstream: upstream.to_owned(),
        tool_id: record.to_string(),
        outcome,
        definition_sha256: hash,
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SyncCheck {
    /// Offered, not registered.
    new: Vec<Offered>,
    /// Registered, no longer offered by a reachable upstream.
    removed: Vec<Offered>,
    /// Registered with a pinned definition the upstream no longer offers (the gateway
    /// refuses them until they are imported again).
    changed: Vec<Offered>,
    /// Upstreams that could not be read (their tools are in none of the lists).
    unreachable: Vec<String>,
}

/// New, removed and changed tools, upstream by upstream.
#[utoipa::path(get, path = "/nhi/mcp-discovery/sync-check", tag = "mcp-discovery",
    responses((status = 200, body = SyncCheck), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn sync_check(State(s): State<AppState>, caller: Caller) -> ApiResult<axum::Json<SyncCheck>> {
    caller.require_admin()?;
    let mut known = registered(&s, &caller.tenant).await?;
    let mut check = SyncCheck {
        new: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
        unreachable: Vec::new(),
    };
    for u in upstreams(&s).await? {
        let defs = match u.tools {
            Ok(defs) => defs,
            Err(_) => {
                known.retain(|(up, _), _| *up != u.name);
                check.unreachable.push(u.name);
                continue;
            }
        };
        for def in defs {
            let Some(name) = name_of(&def).map(str::to_owned) else {
                continue;
            };
            let record = known.remove(&(u.name.clone(), name.clone()));
            let st = status(record.as_ref(), &definition_sha256(&def));
            let item = Offered {
                status: st,
                tool_id: record.as_ref().map(|t| t.common.id.to_string()),
                exposed_name: format!("{}{name}", u.prefix),
                description: def
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                upstream: u.name.clone(),
                name,
                definition: Some(def),
            };
            match st {
                "new" => check.new.push(item),
                "changed" => check.changed.push(item),
                _ => {}
            }
        }
        // What is left of this upstream's registered tools is no longer offered.
        let gone: Vec<(String, String)> = known
            .keys()
            .filter(|(up, _)| *up == u.name)
            .cloned()
            .collect();
        for key in gone {
            if let Some(t) = known.remove(&key) {
                check.removed.push(Offered {
                    exposed_name: format!("{}{}", u.prefix, key.1),
                    upstream: key.0,
                    name: key.1,
                    description: None,
                    status: "removed",
                    tool_id: Some(t.common.id.to_string()),
                    definition: None,
                });
            }
        }
    }
    Ok(axum::Json(check))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_tool_is_pinned_changed_or_unpinned() {
        let mut t = Tool {
            common: Common::new("t", "echo"),
            fields: ToolFields::default(),
        };
        assert_eq!(status(None, "h1"), "new");
        assert_eq!(status(Some(&t), "h1"), "unpinned");
        t.fields.definition_sha256 = Some("h1".into());
        assert_eq!(status(Some(&t), "h1"), "pinned");
        assert_eq!(status(Some(&t), "h2"), "changed");
    }
}
