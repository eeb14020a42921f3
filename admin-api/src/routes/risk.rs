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
        .routes(routes!(trend))
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
    /// The inactive ones, least recently used first (at most [`MAX_LISTED`]).
    inactive: Vec<Named>,
    /// The ones with a secret expiring within 7 days, soonest first (at most [`MAX_LISTED`]).
    expiring: Vec<Named>,
}

/// How many NHIs each of the summary's lists names at most (the counts are complete).
const MAX_LISTED: usize = 50;

/// An NHI the summary points at, and since or until when.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Named {
    #[schema(value_type = String)]
    id: uuid::Uuid,
    name: String,
    /// `service_account`, `ai_agent`, `tool`.
    nhi_type: &'static str,
    /// Inactive: when it was last used (or created, never used). Expiring: when its secret
    /// expires.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    at: OffsetDateTime,
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
        inactive: Vec::new(),
        expiring: Vec::new(),
    };
    let mut names = std::collections::HashMap::new();
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
            let nhi_type = crate::routes::nhi_type_name(kind);
            let used = c.last_used_at.unwrap_or(c.created_at);
            if matches!(c.lifecycle_state, Lifecycle::Active | Lifecycle::Inactive)
                && now - used >= Duration::days(30)
            {
                out.inactive_30_days += 1;
                out.inactive.push(Named {
                    id: c.id,
                    name: c.name.clone(),
                    nhi_type,
                    at: used,
                });
            }
            names.insert(c.id, (c.name.clone(), nhi_type));
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
    // Each NHI once, at its soonest expiry.
    let mut expiring: std::collections::HashMap<uuid::Uuid, OffsetDateTime> =
        std::collections::HashMap::new();
    for doc in s.store.vaults(&caller.tenant, VaultKind::Secret).await? {
        if let Ok(secret) = doc.secret()
            && let Some(at) = secret
                .expires_at
                .filter(|at| *at > now && *at - now <= Duration::days(7))
        {
            let soonest = expiring.entry(secret.nhi_id).or_insert(at);
            *soonest = (*soonest).min(at);
        }
    }
    out.expiring = expiring
        .into_iter()
        .filter_map(|(id, at)| {
            let (name, nhi_type) = names.get(&id)?;
            Some(Named {
                id,
                name: name.clone(),
                nhi_type,
                at,
            })
        })
        .collect();
    // Counted once matched to the tenant's NHIs, so the count and the list agree.
    out.expiring_7_days = out.expiring.len();
    out.expiring.sort_by_key(|n| (n.at, n.id));
    out.expiring.truncate(MAX_LISTED);
    out.inactive.sort_by_key(|n| (n.at, n.id));
    out.inactive.truncate(MAX_LISTED);
    Ok(axum::Json(out))
}

/// The tenant's risk picture day by day, newest first (`limit` days, default 50; the last 90
/// are kept): each day as its last recomputation that day left it (after every admin write,
/// and every 10 minutes).
#[utoipa::path(get, path = "/nhi/risk-trend", tag = "nhi", params(crate::list::PageQuery),
    responses((status = 200, body = crate::list::List<crate::governance::RiskDay>), (status = 403, body = ErrorBody)))]
async fn trend(
    State(s): State<AppState>,
    caller: Caller,
    crate::query::Query(q): crate::query::Query<crate::list::PageQuery>,
) -> ApiResult<axum::Json<crate::list::List<crate::governance::RiskDay>>> {
    caller.require_admin()?;
    let mut days: Vec<crate::governance::RiskDay> = s
        .store
        .doc(
            crate::governance::RISK_DAY,
            &caller.tenant,
            crate::governance::RISK_DAYS_ID,
        )
        .await?
        .and_then(|(_, body)| serde_json::from_str(&body).ok())
        .unwrap_or_default();
    days.sort_by(|a, b| b.date.cmp(&a.date));
    Ok(axum::Json(crate::list::List::of(days, &q)?))
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
