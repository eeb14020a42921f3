//! The routers, one per resource group, and helpers they share.

pub(crate) mod agents;
pub(crate) mod approvals;
pub(crate) mod audit;
pub(crate) mod certifications;
pub(crate) mod clients;
pub(crate) mod inactivity;
pub(crate) mod mcp_discovery;
pub(crate) mod relations;
pub(crate) mod risk;
pub(crate) mod service_accounts;
pub(crate) mod tools;
pub(crate) mod vault;

use portcullis_registry::{Lifecycle, Nhi, NhiKind, PermissionLevel};

use crate::auth::Caller;
use crate::body::Reason;
use crate::error::{ApiError, ApiResult};
use crate::nhi;
use crate::state::AppState;

/// The name a kind has in governance answers (the seed's: `ai_agent` for agents).
pub(crate) fn nhi_type_name(k: NhiKind) -> &'static str {
    k.type_name()
}

/// A kind by its seed name (`agent` accepted too).
pub(crate) fn parse_nhi_type(t: &str) -> ApiResult<NhiKind> {
    match t {
        "service_account" => Ok(NhiKind::ServiceAccount),
        "ai_agent" | "agent" => Ok(NhiKind::Agent),
        "tool" => Ok(NhiKind::Tool),
        other => Err(ApiError::BadRequest(format!(
            "unknown nhi type `{}`: use service_account, ai_agent or tool",
            other.chars().take(64).collect::<String>()
        ))),
    }
}

/// Suspend or reactivate, with a required reason.
pub(crate) async fn set_state(
    s: &AppState,
    caller: &Caller,
    kind: Option<NhiKind>,
    id: &str,
    to: Lifecycle,
    body: Reason,
) -> ApiResult<Nhi> {
    let reason = body.reason.trim().to_owned();
    if reason.is_empty() {
        return Err(ApiError::BadRequest("`reason` must not be empty".into()));
    }
    nhi::check_text("reason", &reason)?;
    nhi::modify_as(s, caller, kind, id, None, PermissionLevel::Admin, |n| {
        nhi::transition(n, to, Some(reason.clone()))
    })
    .await
}
