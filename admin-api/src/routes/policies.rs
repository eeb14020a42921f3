//! `GET /policies`: the policy set this process serves, policy by policy (its `@id`, effect,
//! obligation, file and line). The set is the deployment's, shared by every tenant (a policy
//! may name tenants), so only the operators' `super_admin` role may read it; its reload status
//! is on `/readyz`.

use axum::extract::State;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::list::{List, PageQuery};
use crate::query::Query;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// One loaded policy.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PolicyView {
    /// The `@id` annotation: its name in decisions and audit records.
    id: String,
    /// `permit` or `forbid`.
    effect: &'static str,
    /// What a forbid asks for instead of refusing (`human_approval`), if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    obligation: Option<&'static str>,
    /// The file it was loaded from, and the 1-based line where it starts.
    file: String,
    line: usize,
}

/// The loaded policies, by file and line (role `super_admin`).
#[utoipa::path(get, path = "/policies", tag = "policies", params(PageQuery),
    responses((status = 200, body = List<PolicyView>), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> ApiResult<axum::Json<List<PolicyView>>> {
    if !caller.roles.iter().any(|r| r == "super_admin") {
        return Err(ApiError::Forbidden(
            "the policy set is shared by every tenant: reading it needs the `super_admin` role"
                .into(),
        ));
    }
    let engine = s
        .readiness
        .as_ref()
        .and_then(|r| r.policy.clone())
        .ok_or_else(|| ApiError::Unavailable("this process serves no policy set".into()))?;
    let mut all: Vec<PolicyView> = engine.with_bundle(|b| {
        b.policies()
            .iter()
            .map(|p| PolicyView {
                id: p.id.to_string(),
                effect: if p.forbid { "forbid" } else { "permit" },
                obligation: p.obligation.map(portcullis_policy::Obligation::as_str),
                file: p.file.display().to_string(),
                line: p.line,
            })
            .collect()
    });
    all.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Ok(axum::Json(List::of(all, &q)?))
}
