//! `/nhi/agents`

use axum::extract::{Path, State};
use axum::http::StatusCode;
use portcullis_registry::{Agent, AgentFields, Common, Nhi, NhiKind, RelationKind};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::body::AgentCreate;
use crate::error::{ApiResult, ErrorBody};
use crate::json::Json;
use crate::nhi::{self};
use crate::state::AppState;

const KIND: Option<NhiKind> = Some(NhiKind::Agent);

super::kind_handlers! {
    kind: NhiKind::Agent,
    tag: "agents",
    collection: "/nhi/agents",
    item: "/nhi/agents/{id}",
    suspend: "/nhi/agents/{id}/suspend",
    reactivate: "/nhi/agents/{id}/reactivate",
}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, patch, delete))
        .routes(routes!(suspend))
        .routes(routes!(reactivate))
        .routes(routes!(grant_tool))
        .routes(routes!(revoke_tool))
        .routes(routes!(tools))
}

/// Create an agent.
#[utoipa::path(post, path = "/nhi/agents", tag = "agents", request_body = AgentCreate,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Json(b): Json<AgentCreate>,
) -> ApiResult<(StatusCode, axum::Json<Nhi>)> {
    let mut common = Common::new(&caller.tenant, &nhi::check_name(&b.name)?);
    common.description = b.description;
    common.owner_id = b.owner_id;
    common.backup_owner_id = b.backup_owner_id;
    common.risk_level = b.risk_level.unwrap_or_default();
    let fields = AgentFields {
        agent_type: b.agent_type,
        model_provider: b.model_provider,
        model_name: b.model_name,
        requires_human_approval: b.requires_human_approval,
        max_delegation_depth: b.max_delegation_depth,
        a2a_upstream: match b.a2a_upstream {
            Some(u) => {
                nhi::check_text("a2a_upstream", &u)?;
                Some(u).filter(|u| !u.is_empty())
            }
            None => None,
        },
    };
    let created = nhi::create(&s, &caller, Nhi::Agent(Agent { common, fields })).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// Grant the agent a tool.
#[utoipa::path(post, path = "/nhi/agents/{id}/tools/{tool_id}/grant", params(("id" = String, Path, description = "the record's id"), ("tool_id" = String, Path, description = "the tool's id")), tag = "agents",
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn grant_tool(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, tool_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    caller.require_admin()?;
    let agent = nhi::load(&s, &caller, KIND, &id).await?;
    let tool = nhi::load(&s, &caller, Some(NhiKind::Tool), &tool_id).await?;
    let created = s
        .store
        .put_relation(nhi::relation(
            &caller,
            RelationKind::ToolGrant,
            &agent.id().to_string(),
            &tool.id().to_string(),
        ))
        .await?;
    Ok(axum::Json(
        serde_json::json!({"agent_id": agent.id(), "tool_id": tool.id(), "granted": true, "created": created}),
    ))
}

/// Revoke a tool from the agent. Revoking a grant the agent does not hold answers 200 with
/// `"revoked": false`, as granting one it holds answers `"created": false`.
#[utoipa::path(post, path = "/nhi/agents/{id}/tools/{tool_id}/revoke", params(("id" = String, Path, description = "the record's id"), ("tool_id" = String, Path, description = "the tool's id")), tag = "agents",
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn revoke_tool(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, tool_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    caller.require_admin()?;
    let agent = nhi::load(&s, &caller, KIND, &id).await?;
    let tool = nhi::parse_id(&tool_id)?;
    let removed = s
        .store
        .delete_relation(&nhi::relation(
            &caller,
            RelationKind::ToolGrant,
            &agent.id().to_string(),
            &tool.to_string(),
        ))
        .await?;
    Ok(axum::Json(
        serde_json::json!({"agent_id": agent.id(), "tool_id": tool, "granted": false, "revoked": removed}),
    ))
}

/// The tools granted to the agent.
#[utoipa::path(get, path = "/nhi/agents/{id}/tools", params(("id" = String, Path, description = "the record's id"), crate::list::PageQuery), tag = "agents",
    responses((status = 200, body = crate::nhi::Page), (status = 404, body = ErrorBody)))]
async fn tools(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    crate::query::Query(q): crate::query::Query<crate::list::PageQuery>,
) -> ApiResult<axum::Json<crate::nhi::Page>> {
    let agent = nhi::load(&s, &caller, KIND, &id).await?;
    let grants = s
        .store
        .relations(
            &caller.tenant,
            RelationKind::ToolGrant,
            Some(&agent.id().to_string()),
            None,
        )
        .await?;
    let mut out = Vec::new();
    for g in grants {
        if let Some(t) = s
            .store
            .get_nhi(&caller.tenant, nhi::parse_id(&g.target)?)
            .await?
        {
            out.push(t);
        }
    }
    nhi::sort(&mut out);
    Ok(axum::Json(crate::list::List::of(out, &q)?.into()))
}
