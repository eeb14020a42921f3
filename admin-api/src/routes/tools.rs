//! `/nhi/tools`

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use portcullis_registry::{
    Common, Nhi, NhiKind, PermissionLevel, RelationKind, Tool, ToolFields, validate_input_schema,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::body::{ListQuery, NhiPatch, ToolCreate};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::Json;
use crate::nhi::{self, Page};
use crate::query::Query;
use crate::state::AppState;

const KIND: Option<NhiKind> = Some(NhiKind::Tool);

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, patch, delete))
        .routes(routes!(agents))
}

/// Register a tool. An `input_schema` that is not a valid JSON Schema answers 422.
#[utoipa::path(post, path = "/nhi/tools", tag = "tools", request_body = ToolCreate,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Json(b): Json<ToolCreate>,
) -> ApiResult<(StatusCode, axum::Json<Nhi>)> {
    let mut common = Common::new(&caller.tenant, &nhi::check_name(&b.name)?);
    common.description = b.description;
    common.owner_id = b.owner_id;
    common.backup_owner_id = b.backup_owner_id;
    common.risk_level = b.risk_level.unwrap_or_default();
    let defaults = ToolFields::default();
    let input_schema = b.input_schema.unwrap_or(defaults.input_schema);
    validate_input_schema(&input_schema).map_err(ApiError::Unprocessable)?;
    let fields = ToolFields {
        category: b.category,
        requires_approval: b.requires_approval,
        input_schema,
        annotations: b.annotations,
        upstream: b.upstream,
        definition_sha256: None,
    };
    let created = nhi::create(&s, &caller, Nhi::Tool(Tool { common, fields })).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// List tools (`limit`, `offset`, `category`, `risk_level`, `requires_approval`, `status`, `search`).
#[utoipa::path(get, path = "/nhi/tools", tag = "tools", params(ListQuery), responses((status = 200, body = Page)))]
async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Page>> {
    Ok(axum::Json(nhi::list(&s, &caller, KIND, &q).await?))
}

/// Read one tool.
#[utoipa::path(get, path = "/nhi/tools/{id}", tag = "tools", responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Nhi>> {
    Ok(axum::Json(nhi::load(&s, &caller, KIND, &id).await?))
}

/// Update fields; `version` or `If-Match` makes it conditional (409 when stale).
#[utoipa::path(patch, path = "/nhi/tools/{id}", tag = "tools", request_body = NhiPatch,
    responses((status = 200, body = Object), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(p): Json<NhiPatch>,
) -> ApiResult<axum::Json<Nhi>> {
    let expected = nhi::expected_version(p.version, &headers)?;
    Ok(axum::Json(
        nhi::modify_as(
            &s,
            &caller,
            KIND,
            &id,
            expected,
            PermissionLevel::Manage,
            |n| nhi::apply_patch(n, &p),
        )
        .await?,
    ))
}

/// Delete a tool and every grant of it.
#[utoipa::path(delete, path = "/nhi/tools/{id}", tag = "tools", responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    nhi::delete(
        &s,
        &caller,
        NhiKind::Tool,
        &id,
        nhi::expected_version(None, &headers)?,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The agents and service accounts granted this tool.
#[utoipa::path(get, path = "/nhi/tools/{id}/agents", tag = "tools", responses((status = 200, body = Vec<Object>), (status = 404, body = ErrorBody)))]
async fn agents(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<Nhi>>> {
    let tool = nhi::load(&s, &caller, KIND, &id).await?;
    let grants = s
        .store
        .relations(
            &caller.tenant,
            RelationKind::ToolGrant,
            None,
            Some(&tool.id().to_string()),
        )
        .await?;
    let mut out = Vec::new();
    for g in grants {
        if let Some(a) = s
            .store
            .get_nhi(&caller.tenant, nhi::parse_id(&g.source)?)
            .await?
        {
            out.push(a);
        }
    }
    Ok(axum::Json(out))
}
