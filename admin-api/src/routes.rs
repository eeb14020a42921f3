//! The routers, one per resource group, and helpers they share.

pub(crate) mod agents;
pub(crate) mod approvals;
pub(crate) mod certifications;
pub(crate) mod clients;
pub(crate) mod relations;
pub(crate) mod service_accounts;
pub(crate) mod tools;
pub(crate) mod vault;

use portcullis_registry::{Lifecycle, Nhi, NhiKind};

use crate::auth::Caller;
use crate::body::Reason;
use crate::error::{ApiError, ApiResult};
use crate::nhi;
use crate::state::AppState;

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
    nhi::modify(s, caller, kind, id, None, |n| {
        nhi::transition(n, to, Some(reason.clone()))
    })
    .await
}
