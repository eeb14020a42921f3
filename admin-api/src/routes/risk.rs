//! Risk: `GET /nhi/risk-summary` (the tenant at a glance) and `POST /nhi/risk/recompute` (now,
//! rather than after the next write or the periodic sweep). Each NHI's own assessment (score,
//! level, factors) is on its record (`risk`).

use std::collections::{BTreeMap, HashSet};

use axum::extract::State;
use portcullis_registry::campaign::{Campaign, CampaignStatus};
use portcullis_registry::vault::VaultKind;
use portcullis_registry::{Lifecycle, NhiKind};
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(recompute))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RiskSummary {
    total_count: usize,
    /// `service_account`, `ai_agent`, `tool`.
    by_type: BTreeMap<&'static str, usize>,
    /// `low`, `medium`, `high`, `critical`: the higher of the level an admin set and the
    /// computed one.
    by_risk_level: BTreeMap<&'static str, usize>,
    /// NHIs with an undecided item in an active certification campaign.
    pending_certification: usize,
    /// Active or inactive NHIs unused (never used: created) 30 days ago or more.
    inactive_30_days: usize,
    /// NHIs with a secret expiring within 7 days.
    expiring_7_days: usize,
}

/// The tenant's NHIs by type and risk, and what needs attention.
#[utoipa::path(get, path = "/nhi/risk-summary", tag = "nhi",
    responses((status = 200, body = RiskSummary), (status = 403, body = ErrorBody)))]
async fn summary(State(s): State<AppState>, caller: Caller) -> ApiResult<axum::Json<RiskSummary>> {
    caller.require_admin()?;
    let now = OffsetDateTime::now_utc();
    let mut out = RiskSummary {
        total_count: 0,
        by_type: BTreeMap::from([("ai_agent", 0), ("service_account", 0), ("tool", 0)]),
        by_risk_level: BTreeMap::from([("critical", 0), ("high", 0), ("low", 0), ("medium", 0)]),
        pending_certification: 0,
        inactive_30_days: 0,
        expiring_7_days: 0,
    };
    for kind in [NhiKind::ServiceAccount, NhiKind::Agent, NhiKind::Tool] {
        for nhi in s.store.list_nhis(&caller.tenant, kind).await? {
            out.total_count += 1;
            *out.by_type
                .entry(crate::routes::nhi_type_name(kind))
                .or_default() += 1;
            *out.by_risk_level
                .entry(crate::governance::effective_level(&nhi).as_str())
                .or_default() += 1;
            let c = nhi.common();
            if matches!(c.lifecycle_state, Lifecycle::Active | Lifecycle::Inactive)
                && now - c.last_used_at.unwrap_or(c.created_at) >= Duration::days(30)
            {
                out.inactive_30_days += 1;
            }
        }
    }
    let mut pending = HashSet::new();
    for (_, _, body) in s
        .store
        .docs(
            portcullis_registry::campaign::DOC_KIND,
            Some(&caller.tenant),
        )
        .await?
    {
        if let Ok(c) = serde_json::from_str::<Campaign>(&body)
            && c.status == CampaignStatus::Active
        {
            pending.extend(
                c.items
                    .iter()
                    .filter(|i| i.decision.is_none())
                    .map(|i| i.nhi_id),
            );
        }
    }
    out.pending_certification = pending.len();
    let mut expiring = HashSet::new();
    for doc in s.store.vaults(&caller.tenant, VaultKind::Secret).await? {
        if let Ok(secret) = doc.secret()
            && secret
                .expires_at
                .is_some_and(|at| at > now && at - now <= Duration::days(7))
        {
            expiring.insert(secret.nhi_id);
        }
    }
    out.expiring_7_days = expiring.len();
    Ok(axum::Json(out))
}

/// Recompute every NHI's risk in the tenant now; answers how many records changed.
#[utoipa::path(post, path = "/nhi/risk/recompute", tag = "nhi",
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
async fn recompute(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<serde_json::Value>> {
    caller.require_admin()?;
    let changed = crate::governance::recompute_risk(&s.store, &caller.tenant).await?;
    Ok(axum::Json(serde_json::json!({"changed": changed})))
}
