//! `/nhi/tools`

use axum::extract::{Path, State};
use axum::http::StatusCode;
use portcullis_registry::{
    Common, Nhi, NhiKind, RelationKind, Tool, ToolFields, validate_input_schema,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::body::ToolCreate;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::Json;
use crate::nhi::{self};
use crate::state::AppState;

const KIND: Option<NhiKind> = Some(NhiKind::Tool);

super::kind_handlers! {
    kind: NhiKind::Tool,
    tag: "tools",
    collection: "/nhi/tools",
    item: "/nhi/tools/{id}",
    suspend: "/nhi/tools/{id}/suspend",
    reactivate: "/nhi/tools/{id}/reactivate",
}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, patch, delete))
        .routes(routes!(suspend))
        .routes(routes!(reactivate))
        .routes(routes!(agents))
}

/// Register a tool. An `input_schema` that is not a valid JSON Schema answers 422.
#[utoipa::path(post, path = "/nhi/tools", tag = "tools", request_body = ToolCreate,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Json(b): Json<ToolCreate>,
) -> ApiResult<(StatusCode, axum::Json<serde_json::Value>)> {
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
    Ok((StatusCode::CREATED, nhi::written(&s, &caller, &created)?))
}

/// The agents and service accounts granted this tool.
#[utoipa::path(get, path = "/nhi/tools/{id}/agents", params(("id" = String, Path, description = "the record's id"), crate::list::PageQuery), tag = "tools", responses((status = 200, body = crate::nhi::Page), (status = 404, body = ErrorBody)))]
async fn agents(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    crate::query::Query(q): crate::query::Query<crate::list::PageQuery>,
) -> ApiResult<axum::Json<crate::nhi::Page>> {
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
    nhi::sort(&mut out);
    Ok(axum::Json(crate::list::List::of(out, &q)?.into()))
}
