//! `/nhi/service-accounts`

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use portcullis_registry::{Common, Nhi, NhiKind, PermissionLevel, ServiceAccount};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::body::{ListQuery, ServiceAccountCreate, Transfer};
use crate::error::{ApiResult, ErrorBody};
use crate::json::Json;
use crate::nhi::{self};
use crate::state::AppState;

const KIND: Option<NhiKind> = Some(NhiKind::ServiceAccount);

super::kind_handlers! {
    kind: NhiKind::ServiceAccount,
    tag: "service-accounts",
    collection: "/nhi/service-accounts",
    item: "/nhi/service-accounts/{id}",
    suspend: "/nhi/service-accounts/{id}/suspend",
    reactivate: "/nhi/service-accounts/{id}/reactivate",
}

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

/// Transfer ownership to `new_owner_id`.
#[utoipa::path(post, path = "/nhi/service-accounts/{id}/transfer", params(("id" = String, Path, description = "the record's id")), tag = "service-accounts", request_body = Transfer,
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
