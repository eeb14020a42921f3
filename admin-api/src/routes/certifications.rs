//! `/nhi/certifications`: certification campaigns — periodic reviews in which each NHI in
//! scope is certified or revoked, a revoke taking its access away for real.
//!
//! Admins create, launch and cancel campaigns and may decide any item; an item's reviewer
//! (the campaign's, else the NHI's owner) may decide that item. Decisions on a campaign that
//! is not active are 409. Every decision is audited with its actor.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use portcullis_registry::campaign::{
    Campaign, CampaignStatus, DecideError, Decision, DueRule, Scope,
};
use portcullis_registry::{Lifecycle, NhiKind, RiskLevel, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::governance;
use crate::json::Json;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one))
        .routes(routes!(launch))
        .routes(routes!(cancel))
        .routes(routes!(certify))
        .routes(routes!(revoke))
}

/// The longest comment kept, in bytes.
const MAX_COMMENT: usize = 2000;

/// A new campaign.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CampaignCreate {
    name: String,
    #[serde(default)]
    description: String,
    /// `service_account`, `ai_agent` (or `agent`), `tool`; default: every kind.
    #[serde(default)]
    nhi_types: Vec<String>,
    /// Who reviews every item; default: each NHI's owner.
    reviewer_id: Option<String>,
    /// RFC 3339 time or `YYYY-MM-DD` (the end of that day, UTC).
    due_date: String,
    /// Only NHIs rated at least this risky.
    #[schema(value_type = Option<String>)]
    risk_min: Option<RiskLevel>,
    /// Only NHIs unused (never used: created) at least this many days ago.
    inactive_days: Option<u32>,
    /// What becomes of items still open at the due date: `revoke` (default) or `certify`.
    #[schema(value_type = Option<String>)]
    due_rule: Option<DueRule>,
}

/// A reviewer's comment on a decision.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionBody {
    #[serde(default)]
    comment: Option<String>,
}

/// A campaign as listed: without its items.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CampaignSummary {
    #[schema(value_type = String)]
    id: Uuid,
    name: String,
    status: String,
    #[schema(value_type = String)]
    due_date: String,
    items: usize,
    decided: usize,
}

fn parse_due(s: &str) -> ApiResult<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let day = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "`due_date` must be an RFC 3339 time or YYYY-MM-DD, got `{}`",
                s.chars().take(64).collect::<String>()
            ))
        })?;
    Ok(day
        .with_hms(23, 59, 59)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?
        .assume_utc())
}

/// The campaign as the API shows it: kinds under their campaign names.
fn view(c: &Campaign) -> serde_json::Value {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "nhi_types".into(),
            c.nhi_types
                .iter()
                .map(|k| crate::routes::nhi_type_name(*k))
                .collect(),
        );
        let (decided, total) = c.progress();
        obj.insert(
            "progress".into(),
            serde_json::json!({"decided": decided, "total": total}),
        );
        if let Some(serde_json::Value::Array(items)) = obj.get_mut("items") {
            for (item, source) in items.iter_mut().zip(&c.items) {
                if let Some(i) = item.as_object_mut() {
                    i.insert(
                        "nhi_type".into(),
                        crate::routes::nhi_type_name(source.nhi_type).into(),
                    );
                }
            }
        }
    }
    v
}

/// Create a campaign (`draft`).
#[utoipa::path(post, path = "/nhi/certifications", tag = "certifications", request_body = CampaignCreate,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Json(b): Json<CampaignCreate>,
) -> ApiResult<(StatusCode, axum::Json<serde_json::Value>)> {
    caller.require_admin()?;
    let name = crate::nhi::check_name(&b.name)?;
    crate::nhi::check_text("description", &b.description)?;
    if let Some(r) = &b.reviewer_id {
        crate::nhi::check_text("reviewer_id", r)?;
    }
    let mut nhi_types = b
        .nhi_types
        .iter()
        .map(|t| crate::routes::parse_nhi_type(t))
        .collect::<ApiResult<Vec<_>>>()?;
    if nhi_types.is_empty() {
        nhi_types = vec![NhiKind::ServiceAccount, NhiKind::Agent, NhiKind::Tool];
    }
    nhi_types.dedup();
    let now = OffsetDateTime::now_utc();
    let mut c = Campaign {
        id: Uuid::now_v7(),
        tenant_id: caller.tenant.clone(),
        name,
        description: b.description,
        nhi_types,
        reviewer_id: b.reviewer_id.filter(|r| !r.is_empty()),
        due_date: parse_due(&b.due_date)?,
        scope: Scope {
            risk_min: b.risk_min,
            inactive_days: b.inactive_days,
        },
        due_rule: b.due_rule.unwrap_or_default(),
        status: CampaignStatus::Draft,
        items: Vec::new(),
        created_by: caller.sub.clone(),
        created_at: now,
        launched_at: None,
        ended_at: None,
        version: 0,
    };
    governance::store_campaign(&s.store, &mut c, None).await?;
    governance::audit(
        &s.store,
        &caller.tenant,
        serde_json::json!({"event": "certification.created", "actor": caller.sub, "campaign": c.id}),
    )
    .await;
    Ok((StatusCode::CREATED, axum::Json(view(&c))))
}

/// List the tenant's campaigns, newest first (without items).
#[utoipa::path(get, path = "/nhi/certifications", tag = "certifications",
    params(crate::list::PageQuery), responses((status = 200, body = crate::list::List<CampaignSummary>)))]
async fn list(
    State(s): State<AppState>,
    caller: Caller,
    crate::query::Query(q): crate::query::Query<crate::list::PageQuery>,
) -> ApiResult<axum::Json<crate::list::List<CampaignSummary>>> {
    let mut all: Vec<Campaign> = s
        .store
        .docs(
            portcullis_registry::campaign::DOC_KIND,
            Some(&caller.tenant),
        )
        .await?
        .into_iter()
        .filter_map(|(_, _, body)| serde_json::from_str(&body).ok())
        .filter(|c| visible(&caller, c))
        .collect();
    all.sort_by_key(|c| (std::cmp::Reverse(c.created_at), c.id));
    Ok(axum::Json(crate::list::List::of(all, &q)?.map(|c| {
        let (decided, items) = c.progress();
        CampaignSummary {
            id: c.id,
            name: c.name,
            status: c.status.as_str().to_owned(),
            due_date: c
                .due_date
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            items,
            decided,
        }
    })))
}

/// Admins see every campaign; a reviewer those with an item to review.
fn visible(caller: &Caller, c: &Campaign) -> bool {
    caller.is_admin()
        || c.reviewer_id.as_deref() == Some(caller.sub.as_str())
        || c.items
            .iter()
            .any(|i| i.reviewer_id.as_deref() == Some(caller.sub.as_str()))
}

async fn load(s: &AppState, caller: &Caller, id: &str) -> ApiResult<Campaign> {
    let not_found = || ApiError::NotFound(format!("campaign `{}` not found", short(id)));
    Uuid::parse_str(id).map_err(|_| not_found())?;
    governance::load_campaign(&s.store, &caller.tenant, id)
        .await?
        .filter(|c| visible(caller, c))
        .ok_or_else(not_found)
}

/// Stores a campaign over the version it was read at (409 when it changed meanwhile).
async fn save(s: &AppState, c: &mut Campaign, version: u64) -> ApiResult<()> {
    governance::store_campaign(&s.store, c, Some(version))
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => {
                ApiError::Conflict("the campaign changed meanwhile; retry".into())
            }
            other => other.into(),
        })
}

fn short(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Show a campaign: its status and items.
#[utoipa::path(get, path = "/nhi/certifications/{campaign_id}", params(("campaign_id" = String, Path, description = "the campaign's id")), tag = "certifications",
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(campaign_id): Path<String>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    Ok(axum::Json(view(&load(&s, &caller, &campaign_id).await?)))
}

/// Launch a draft: one item per NHI in scope (`active`; `completed` at once when none is).
#[utoipa::path(post, path = "/nhi/certifications/{campaign_id}/launch", params(("campaign_id" = String, Path, description = "the campaign's id")), tag = "certifications",
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn launch(
    State(s): State<AppState>,
    caller: Caller,
    Path(campaign_id): Path<String>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    caller.require_admin()?;
    let mut c = load(&s, &caller, &campaign_id).await?;
    if c.status != CampaignStatus::Draft {
        return Err(ApiError::Conflict(format!(
            "only a draft campaign can be launched; this one is {}",
            c.status.as_str()
        )));
    }
    let now = OffsetDateTime::now_utc();
    let mut scoped = Vec::new();
    for kind in &c.nhi_types {
        for nhi in s.store.list_nhis(&caller.tenant, *kind).await? {
            let common = nhi.common();
            // Only NHIs that hold access are reviewed.
            if matches!(
                common.lifecycle_state,
                Lifecycle::Deprecated | Lifecycle::Archived
            ) {
                continue;
            }
            if let Some(min) = c.scope.risk_min
                && governance::effective_level(&nhi).default_score() < min.default_score()
            {
                continue;
            }
            if let Some(days) = c.scope.inactive_days {
                let seen = common.last_used_at.unwrap_or(common.created_at);
                if now - seen < time::Duration::days(i64::from(days)) {
                    continue;
                }
            }
            scoped.push(nhi);
        }
    }
    let items = governance::items(&s.store, &c, &scoped, now).await?;
    c.launch(items, now).map_err(ApiError::Conflict)?;
    let version = c.version;
    save(&s, &mut c, version).await?;
    governance::audit(
        &s.store,
        &caller.tenant,
        serde_json::json!({"event": "certification.launched", "actor": caller.sub,
            "campaign": c.id, "items": c.items.len()}),
    )
    .await;
    Ok(axum::Json(view(&c)))
}

/// Cancel a draft or active campaign (its decisions stand).
#[utoipa::path(post, path = "/nhi/certifications/{campaign_id}/cancel", params(("campaign_id" = String, Path, description = "the campaign's id")), tag = "certifications",
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel(
    State(s): State<AppState>,
    caller: Caller,
    Path(campaign_id): Path<String>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    caller.require_admin()?;
    let mut c = load(&s, &caller, &campaign_id).await?;
    c.cancel(OffsetDateTime::now_utc())
        .map_err(ApiError::Conflict)?;
    let version = c.version;
    save(&s, &mut c, version).await?;
    governance::audit(
        &s.store,
        &caller.tenant,
        serde_json::json!({"event": "certification.cancelled", "actor": caller.sub, "campaign": c.id}),
    )
    .await;
    Ok(axum::Json(view(&c)))
}

/// Certify an NHI: it keeps its access.
#[utoipa::path(post, path = "/nhi/certifications/{campaign_id}/certify/{nhi_id}", params(("campaign_id" = String, Path, description = "the campaign's id"), ("nhi_id" = String, Path, description = "the NHI's id")), tag = "certifications",
    request_body = DecisionBody,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn certify(
    State(s): State<AppState>,
    caller: Caller,
    Path((campaign_id, nhi_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<serde_json::Value>> {
    decide(
        &s,
        &caller,
        &campaign_id,
        &nhi_id,
        Decision::Certified,
        body,
    )
    .await
}

/// Revoke an NHI: it is deprecated, its grants and edges removed, its leases revoked.
#[utoipa::path(post, path = "/nhi/certifications/{campaign_id}/revoke/{nhi_id}", params(("campaign_id" = String, Path, description = "the campaign's id"), ("nhi_id" = String, Path, description = "the NHI's id")), tag = "certifications",
    request_body = DecisionBody,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn revoke(
    State(s): State<AppState>,
    caller: Caller,
    Path((campaign_id, nhi_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<serde_json::Value>> {
    decide(&s, &caller, &campaign_id, &nhi_id, Decision::Revoked, body).await
}

async fn decide(
    s: &AppState,
    caller: &Caller,
    campaign_id: &str,
    nhi_id: &str,
    decision: Decision,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<serde_json::Value>> {
    // The body is optional: none, or `{"comment": ...}`.
    let body: DecisionBody = if body.iter().all(u8::is_ascii_whitespace) {
        DecisionBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid body: {e}")))?
    };
    let comment = body.comment.filter(|c| !c.is_empty());
    if let Some(c) = &comment {
        if c.len() > MAX_COMMENT {
            return Err(ApiError::BadRequest(format!(
                "`comment` is longer than {MAX_COMMENT} bytes"
            )));
        }
        crate::nhi::check_text("comment", c)?;
    }
    let c = load(s, caller, campaign_id).await?;
    let nhi = Uuid::parse_str(nhi_id).map_err(|_| {
        ApiError::NotFound(format!("NHI `{}` is not in this campaign", short(nhi_id)))
    })?;
    if c.status != CampaignStatus::Active {
        return Err(ApiError::Conflict(
            DecideError::NotActive(c.status).to_string(),
        ));
    }
    let item = c.items.iter().find(|i| i.nhi_id == nhi).ok_or_else(|| {
        ApiError::NotFound(format!("NHI `{}` is not in this campaign", short(nhi_id)))
    })?;
    let reviewer = item.reviewer_id.as_deref();
    if !caller.is_admin() && reviewer != Some(caller.sub.as_str()) {
        return Err(ApiError::Forbidden(
            "only the item's reviewer or an admin decides it".into(),
        ));
    }
    let outcome = governance::decide(
        &s.store,
        &caller.tenant,
        campaign_id,
        nhi,
        decision,
        &caller.sub,
        comment,
        false,
    )
    .await?;
    match outcome {
        Ok((c, remediation)) => {
            let mut v = view(&c);
            if let (Some(obj), Some(r)) = (v.as_object_mut(), remediation) {
                obj.insert(
                    "remediation".into(),
                    serde_json::to_value(r).unwrap_or_default(),
                );
            }
            Ok(axum::Json(v))
        }
        Err(DecideError::NotInCampaign) => Err(ApiError::NotFound(format!(
            "NHI `{}` is not in this campaign",
            short(nhi_id)
        ))),
        Err(e) => Err(ApiError::Conflict(e.to_string())),
    }
}
