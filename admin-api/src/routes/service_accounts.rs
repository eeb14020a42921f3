//! `/nhi/service-accounts`

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use portcullis_registry::{Common, Lifecycle, Nhi, NhiKind, PermissionLevel, ServiceAccount};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::body::{ListQuery, NhiPatch, Reason, ServiceAccountCreate, Transfer};
use crate::error::{ApiResult, ErrorBody};
use crate::json::Json;
use crate::nhi::{self, Page};
use crate::query::Query;
use crate::state::AppState;

const KIND: Option<NhiKind> = Some(NhiKind::ServiceAccount);

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(summary))
        .routes(routes!(get_one, patch, delete))
        .routes(routes!(suspend))
        .routes(routes!(reactivate))
        .routes(routes!(transfer))
}

/// Create a service account.
#[utoipa::path(post, path = "/nhi/service-accounts", tag = "service-accounts", request_body = ServiceAccountCreate,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Json(b): Json<ServiceAccountCreate>,
) -> ApiResult<(StatusCode, axum::Json<Nhi>)> {
    let mut common = Common::new(&caller.tenant, &nhi::check_name(&b.name)?);
    common.description = b.description;
    common.owner_id = b.owner_id;
    common.backup_owner_id = b.backup_owner_id;
    common.risk_level = b.risk_level.unwrap_or_default();
    nhi::check_text("purpose", &b.purpose)?;
    let created = nhi::create(
        &s,
        &caller,
        Nhi::ServiceAccount(ServiceAccount {
            common,
            purpose: b.purpose,
        }),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// List service accounts (`limit`, `offset`, `status`, `search`).
#[utoipa::path(get, path = "/nhi/service-accounts", tag = "service-accounts", params(ListQuery),
    responses((status = 200, body = Page)))]
async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Page>> {
    Ok(axum::Json(nhi::list(&s, &caller, KIND, &q).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Summary {
    total: usize,
    by_status: BTreeMap<&'static str, usize>,
    by_risk_level: BTreeMap<&'static str, usize>,
}

/// Counts of the caller's service accounts by status and by risk level.
#[utoipa::path(get, path = "/nhi/service-accounts/summary", tag = "service-accounts", responses((status = 200, body = Summary)))]
async fn summary(State(s): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Summary>> {
    let all = nhi::matching(&s, &caller, KIND, &ListQuery::default()).await?;
    let mut by_status = BTreeMap::new();
    let mut by_risk_level = BTreeMap::new();
    for n in &all {
        *by_status
            .entry(n.common().lifecycle_state.as_str())
            .or_insert(0) += 1;
        *by_risk_level
            .entry(n.common().risk_level.as_str())
            .or_insert(0) += 1;
    }
    Ok(axum::Json(Summary {
        total: all.len(),
        by_status,
        by_risk_level,
    }))
}

/// Read one service account.
#[utoipa::path(get, path = "/nhi/service-accounts/{id}", tag = "service-accounts",
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Nhi>> {
    Ok(axum::Json(nhi::load(&s, &caller, KIND, &id).await?))
}

/// Update fields; `version` or `If-Match` makes it conditional (409 when stale).
#[utoipa::path(patch, path = "/nhi/service-accounts/{id}", tag = "service-accounts", request_body = NhiPatch,
    responses((status = 200, body = Object), (status = 409, body = ErrorBody)))]
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

/// Delete a service account and every grant and permission naming it.
#[utoipa::path(delete, path = "/nhi/service-accounts/{id}", tag = "service-accounts",
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    nhi::delete(
        &s,
        &caller,
        NhiKind::ServiceAccount,
        &id,
        nhi::expected_version(None, &headers)?,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Suspend (requires a `reason`).
#[utoipa::path(post, path = "/nhi/service-accounts/{id}/suspend", tag = "service-accounts", request_body = Reason,
    responses((status = 200, body = Object), (status = 409, body = ErrorBody)))]
async fn suspend(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(b): Json<Reason>,
) -> ApiResult<axum::Json<Nhi>> {
    Ok(axum::Json(
        super::set_state(&s, &caller, KIND, &id, Lifecycle::Suspended, b).await?,
    ))
}

/// Reactivate (requires a `reason`).
#[utoipa::path(post, path = "/nhi/service-accounts/{id}/reactivate", tag = "service-accounts", request_body = Reason,
    responses((status = 200, body = Object), (status = 409, body = ErrorBody)))]
async fn reactivate(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(b): Json<Reason>,
) -> ApiResult<axum::Json<Nhi>> {
    Ok(axum::Json(
        super::set_state(&s, &caller, KIND, &id, Lifecycle::Active, b).await?,
    ))
}

/// Transfer ownership to `new_owner_id`.
#[utoipa::path(post, path = "/nhi/service-accounts/{id}/transfer", tag = "service-accounts", request_body = Transfer,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn transfer(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(b): Json<Transfer>,
) -> ApiResult<axum::Json<Nhi>> {
    let owner = nhi::check_name(&b.new_owner_id).map_err(|_| {
        crate::error::ApiError::BadRequest("`new_owner_id` must not be empty".into())
    })?;
    Ok(axum::Json(
        nhi::modify_as(&s, &caller, KIND, &id, None, PermissionLevel::Admin, |n| {
            n.common_mut().owner_id = Some(owner.clone());
            Ok(())
        })
        .await?,
    ))
}
