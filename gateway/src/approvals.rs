//! Step 6½: a call the policies hold for a human approval.
//!
//! The call's binding (tenant, principal, chain, the user it is for, the tool, the SHA-256 of
//! its canonical arguments) names one approval in the store: found if one is live, opened
//! otherwise. An approved one is consumed — a compare-and-swap on its version, so of two
//! identical calls racing for it exactly one goes through — and only then is the call
//! decided again with `approval.approved` set. Anything else answers that approval is
//! required, with the approval's id, status and where to watch it; the gateway may first
//! hold the call open a few seconds for an approver to decide.
//!
//! Only these calls read the store; every other call is decided from memory.

use std::time::Duration;

use portcullis_registry::StoreError;
use portcullis_registry::approval::{Approval, ApprovalStatus, ApprovalSubject};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ApprovalTicket, Error};
use crate::state::{CallLog, State};

/// How often a held call looks at its approval again.
const POLL: Duration = Duration::from_millis(200);

/// The call that is held.
pub(crate) struct Held<'a> {
    pub(crate) subject: ApprovalSubject,
    /// The name the caller used.
    pub(crate) target_name: &'a str,
    pub(crate) arguments: Value,
    pub(crate) policies: &'a [String],
    pub(crate) obligations: Vec<String>,
}

/// The id of the approval consumed for this call, or why it may not go through yet.
pub(crate) async fn gate(state: &State, log: &mut CallLog, held: Held<'_>) -> Result<Uuid, Error> {
    let required = |ticket: Option<Box<ApprovalTicket>>| Error::ApprovalRequired {
        target: held.target_name.to_owned(),
        obligations: held.obligations.clone(),
        policies: held.policies.to_vec(),
        ticket,
    };
    let Some(store) = state.store.as_ref() else {
        // Nowhere to keep an approval: nothing can ever approve this call.
        return Err(required(None));
    };
    let config = &state.config.approvals;
    let tenant = held.subject.tenant_id.clone();
    // At most two rounds: an approved approval another identical call consumed first sends
    // this one back to open (or find) the next.
    for _ in 0..2 {
        let now = OffsetDateTime::now_utc();
        let fresh = Approval::pending(
            held.subject.clone(),
            held.target_name.to_owned(),
            held.arguments.clone(),
            held.policies.to_vec(),
            now,
            now + secs(config.ttl_secs),
        );
        let (mut approval, created) = match store
            .open_approval(fresh, config.max_pending_per_principal)
            .await
        {
            Ok(found) => found,
            Err(StoreError::Limit(why)) => return Err(Error::ApprovalLimit(why)),
            Err(e) => return Err(Error::Unavailable(format!("approvals: {e}"))),
        };
        log.approval = Some(approval.id.to_string());
        if created {
            state
                .metrics
                .approvals
                .with_label_values(&["requested"])
                .inc();
            tracing::info!(approval = %approval.id, tenant = %tenant, "approval requested");
        }
        if approval.status == ApprovalStatus::Pending && config.hold_ms > 0 {
            approval = hold(state, &tenant, approval, config.hold_ms).await?;
        }
        match approval.status {
            ApprovalStatus::Approved if approval.live_at(OffsetDateTime::now_utc()) => {
                match consume(state, approval).await? {
                    Some(id) => return Ok(id),
                    None => continue,
                }
            }
            _ => return Err(required(Some(Box::new(ticket(state, &approval))))),
        }
    }
    Err(required(None))
}

/// Waits (bounded, and only while few calls are held) for an approver to decide.
async fn hold(
    state: &State,
    tenant: &str,
    approval: Approval,
    hold_ms: u64,
) -> Result<Approval, Error> {
    let Ok(_permit) = state.holds.try_acquire() else {
        return Ok(approval);
    };
    let Some(store) = state.store.as_ref() else {
        return Ok(approval);
    };
    let deadline = tokio::time::Instant::now() + Duration::from_millis(hold_ms);
    let mut latest = approval;
    while tokio::time::Instant::now() + POLL <= deadline {
        tokio::time::sleep(POLL).await;
        match store.approval(tenant, latest.id).await {
            Ok(Some(now)) => {
                latest = now;
                if latest.status != ApprovalStatus::Pending {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => return Err(Error::Unavailable(format!("approvals: {e}"))),
        }
    }
    Ok(latest)
}

/// Consumes an approved approval: `Some(id)` if this call won it, `None` if another did.
async fn consume(state: &State, approval: Approval) -> Result<Option<Uuid>, Error> {
    let Some(store) = state.store.as_ref() else {
        return Ok(None);
    };
    let id = approval.id;
    let version = approval.version;
    let mut spent = approval;
    spent.status = ApprovalStatus::Consumed;
    spent.consumed_at = Some(OffsetDateTime::now_utc());
    match store.update_approval(spent, version).await {
        Ok(_) => {
            state
                .metrics
                .approvals
                .with_label_values(&["consumed"])
                .inc();
            Ok(Some(id))
        }
        Err(StoreError::Conflict { .. }) => Ok(None),
        Err(e) => Err(Error::Unavailable(format!("approvals: {e}"))),
    }
}

/// What the caller is told of its approval.
fn ticket(state: &State, approval: &Approval) -> ApprovalTicket {
    let now = OffsetDateTime::now_utc();
    let status = approval.state_at(now);
    ApprovalTicket {
        id: approval.id,
        status,
        expires_at: approval.expires_at,
        status_url: format!("{}/approvals/{}", crate::oauth::base(state), approval.id),
        retry_after_secs: (status == "pending" || status == "approved").then_some(5),
    }
}

fn secs(n: u64) -> time::Duration {
    time::Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX / 2))
}

/// `GET /approvals/{id}` on the gateway listener: the status of one of the caller's own
/// approvals (any other id, another principal's or another tenant's, is not found).
pub(crate) async fn status(
    state: &State,
    session: &pingora::proxy::Session,
    log: &mut CallLog,
    id: &str,
) -> Result<crate::respond::Answer, Error> {
    log.method = Some("approvals/status".into());
    let principal = crate::authn::caller(state, session, log).await?;
    let not_found = || Error::NoRoute;
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let store = state.store.as_ref().ok_or_else(not_found)?;
    let approval = store
        .approval(&principal.tenant, id)
        .await
        .map_err(|e| Error::Unavailable(format!("approvals: {e}")))?
        .filter(|a| a.subject.principal_id == principal.id)
        .ok_or_else(not_found)?;
    let t = ticket(state, &approval);
    let body = serde_json::json!({
        "id": t.id,
        "status": t.status,
        "tool": approval.target_name,
        "arguments_sha256": approval.subject.arguments_sha256,
        "created_at": approval.created_at.format(&time::format_description::well_known::Rfc3339).ok(),
        "expires_at": t.expires_at.format(&time::format_description::well_known::Rfc3339).ok(),
        "decided_at": approval.decided_at.and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok()),
        "comment": approval.comment,
    });
    Ok(crate::respond::Reply::json(200, serde_json::to_vec(&body).unwrap_or_default()).into())
}
