//! `POST /nhi/inactivity/detect`: NHIs unused past a threshold, and (when asked) suspended.
//!
//! Idle time counts from the last use the gateway recorded, or from creation for an NHI
//! never used. An NHI idle for `threshold_days` is reported; one idle for `threshold_days +
//! grace_days` is suspended when `dry_run` is false (the default is a dry run, which only
//! says what would happen). Suspension revokes its leases like any suspension, and is
//! audited.

use axum::extract::State;
use portcullis_registry::{Lifecycle, NhiKind};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::Json;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(detect))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Detect {
    /// Idle this many days: reported (default 30).
    threshold_days: u32,
    /// Idle `threshold_days + grace_days`: suspended unless a dry run (default 7).
    grace_days: u32,
    /// Only report (default true).
    dry_run: bool,
    /// `service_account`, `ai_agent` (or `agent`), `tool`; default: service accounts and
    /// agents (the NHIs that act).
    nhi_types: Vec<String>,
}

impl Default for Detect {
    fn default() -> Self {
        Self {
            threshold_days: 30,
            grace_days: 7,
            dry_run: true,
            nhi_types: Vec::new(),
        }
    }
}

/// One idle NHI.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Idle {
    id: String,
    name: String,
    nhi_type: &'static str,
    #[schema(value_type = Option<String>)]
    last_used_at: Option<String>,
    idle_days: i64,
    /// `reported`, `would_suspend` (a dry run) or `suspended`.
    action: &'static str,
    /// When it is suspended if it stays idle (for a reported one).
    #[schema(value_type = Option<String>)]
    suspend_after: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Report {
    threshold_days: u32,
    grace_days: u32,
    dry_run: bool,
    inactive: Vec<Idle>,
    suspended: usize,
}

fn rfc3339(t: OffsetDateTime) -> Option<String> {
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// Report idle NHIs; suspend those past the grace period unless it is a dry run.
#[utoipa::path(post, path = "/nhi/inactivity/detect", tag = "nhi", request_body = Detect,
    responses((status = 200, body = Report), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn detect(
    State(s): State<AppState>,
    caller: Caller,
    Json(b): Json<Detect>,
) -> ApiResult<axum::Json<Report>> {
    caller.require_admin()?;
    if b.threshold_days == 0 {
        return Err(ApiError::BadRequest(
            "`threshold_days` must be at least 1".into(),
        ));
    }
    let kinds = if b.nhi_types.is_empty() {
        vec![NhiKind::ServiceAccount, NhiKind::Agent]
    } else {
        b.nhi_types
            .iter()
            .map(|t| crate::routes::parse_nhi_type(t))
            .collect::<ApiResult<Vec<_>>>()?
    };
    let now = OffsetDateTime::now_utc();
    let threshold = time::Duration::days(i64::from(b.threshold_days));
    let suspend_at = threshold + time::Duration::days(i64::from(b.grace_days));
    let mut report = Report {
        threshold_days: b.threshold_days,
        grace_days: b.grace_days,
        dry_run: b.dry_run,
        inactive: Vec::new(),
        suspended: 0,
    };
    for kind in kinds {
        for nhi in s.store.list_nhis(&caller.tenant, kind).await? {
            let c = nhi.common();
            if !matches!(c.lifecycle_state, Lifecycle::Active | Lifecycle::Inactive) {
                continue;
            }
            let since = c.last_used_at.unwrap_or(c.created_at);
            let idle = now - since;
            if idle < threshold {
                continue;
            }
            let due = idle >= suspend_at;
            let action = match (due, b.dry_run) {
                (false, _) => "reported",
                (true, true) => "would_suspend",
                (true, false) => {
                    let reason = format!(
                        "unused for {} days (threshold {} + grace {})",
                        idle.whole_days(),
                        b.threshold_days,
                        b.grace_days
                    );
                    let id = c.id.to_string();
                    let changed = crate::nhi::modify(&s, &caller, Some(kind), &id, None, |n| {
                        crate::nhi::transition(n, Lifecycle::Suspended, Some(reason.clone()))
                    })
                    .await;
                    match changed {
                        Ok(_) => {
                            crate::governance::audit(
                                &s.store,
                                &caller.tenant,
                                serde_json::json!({"event": "inactivity.suspended",
                                    "actor": caller.sub, "nhi": id, "reason": reason}),
                            )
                            .await;
                            report.suspended += 1;
                            "suspended"
                        }
                        // Changed meanwhile (used, or its state changed): left alone.
                        Err(ApiError::Conflict(_)) => "reported",
                        Err(e) => return Err(e),
                    }
                }
            };
            report.inactive.push(Idle {
                id: c.id.to_string(),
                name: c.name.clone(),
                nhi_type: crate::routes::nhi_type_name(kind),
                last_used_at: c.last_used_at.and_then(rfc3339),
                idle_days: idle.whole_days(),
                action,
                suspend_after: (!due).then(|| rfc3339(since + suspend_at)).flatten(),
            });
        }
    }
    report
        .inactive
        .sort_by(|a, b| b.idle_days.cmp(&a.idle_days).then(a.name.cmp(&b.name)));
    Ok(axum::Json(report))
}
