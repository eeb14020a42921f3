//! `/approvals`: the calls held for a human approval, and their decisions.
//!
//! An approver is a person: the token's subject must not be an agent or service account, nor
//! the principal that asked, an actor of its chain, or the user it acts for. Approvers hold
//! the `admin` role, or a `manage`/`admin` user permission on the requesting NHI or on the
//! tool. Everyone else sees no approval at all (404). Every decision is audited.

use std::collections::HashSet;

use axum::extract::{Path, Query, State};
use portcullis_registry::approval::{Approval, ApprovalStatus};
use portcullis_registry::{AuditRecord, Nhi, PermissionLevel, RelationKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::Json;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(approve))
        .routes(routes!(deny))
}

/// The longest comment kept, in bytes.
const MAX_COMMENT: usize = 2000;
/// What a masked argument shows instead of its value.
const MASK: &str = "***";

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApprovalQuery {
    /// `pending`, `approved`, `denied`, `consumed` or `expired`.
    status: Option<String>,
    /// The tool: its id or the name the caller used.
    tool: Option<String>,
    /// The requesting agent or service account (its id).
    agent: Option<String>,
    /// 1..=500, default 50.
    limit: Option<usize>,
    offset: Option<usize>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Decide {
    /// Why (kept with the decision and in the audit log).
    #[serde(default)]
    comment: Option<String>,
}

/// An approval as approvers see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ApprovalView {
    #[schema(value_type = String)]
    id: Uuid,
    /// `pending`, `approved`, `denied`, `consumed` or `expired`.
    status: &'static str,
    principal_id: String,
    chain: Vec<String>,
    on_behalf_of: Option<String>,
    action: String,
    tool_id: String,
    tool: String,
    /// Shown only on `GET /approvals/{id}`, with the fields the tool's schema marks
    /// `writeOnly` or secret masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    arguments: Option<Value>,
    arguments_sha256: String,
    policies: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    decided_at: Option<OffsetDateTime>,
    decided_by: Option<String>,
    comment: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    consumed_at: Option<OffsetDateTime>,
}

fn view(a: &Approval, now: OffsetDateTime, arguments: Option<Value>) -> ApprovalView {
    ApprovalView {
        id: a.id,
        status: a.state_at(now),
        principal_id: a.subject.principal_id.clone(),
        chain: a.subject.chain.clone(),
        on_behalf_of: a.subject.on_behalf_of.clone(),
        action: a.subject.action.clone(),
        tool_id: a.subject.target_id.clone(),
        tool: a.target_name.clone(),
        arguments,
        arguments_sha256: a.subject.arguments_sha256.clone(),
        policies: a.policies.clone(),
        created_at: a.created_at,
        expires_at: a.expires_at,
        decided_at: a.decided_at,
        decided_by: a.decided_by.clone(),
        comment: a.comment.clone(),
        consumed_at: a.consumed_at,
    }
}

/// The NHIs the caller holds a `manage` or `admin` permission on (none needed by admins).
async fn managed(s: &AppState, caller: &Caller) -> ApiResult<Option<HashSet<String>>> {
    if caller.is_admin() {
        return Ok(None);
    }
    let held = s
        .store
        .relations(&caller.tenant, RelationKind::User, None, Some(&caller.sub))
        .await?;
    Ok(Some(
        held.into_iter()
            .filter(|r| {
                matches!(
                    r.level,
                    Some(PermissionLevel::Manage | PermissionLevel::Admin)
                )
            })
            .map(|r| r.source)
            .collect(),
    ))
}

/// Whether the caller may see (and, if otherwise allowed, decide) `a`.
fn may_see(managed: Option<&HashSet<String>>, a: &Approval) -> bool {
    managed.is_none_or(|m| m.contains(&a.subject.principal_id) || m.contains(&a.subject.target_id))
}

/// One approval the caller may see, else 404.
async fn load(s: &AppState, caller: &Caller, id: &str) -> ApiResult<(Approval, bool)> {
    let not_found = || ApiError::NotFound(format!("approval `{id}` not found"));
    let uuid = Uuid::parse_str(id).map_err(|_| not_found())?;
    let a = s
        .store
        .approval(&caller.tenant, uuid)
        .await?
        .ok_or_else(not_found)?;
    let managed = managed(s, caller).await?;
    if !may_see(managed.as_ref(), &a) {
        return Err(not_found());
    }
    Ok((a, managed.is_none()))
}

/// The calls held for approval in the caller's tenant that it may see, newest first.
#[utoipa::path(get, path = "/approvals", tag = "approvals", params(ApprovalQuery),
    responses((status = 200, body = crate::list::List<ApprovalView>), (status = 400, body = ErrorBody)))]
async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ApprovalQuery>,
) -> ApiResult<axum::Json<crate::list::List<ApprovalView>>> {
    const STATES: [&str; 5] = ["pending", "approved", "denied", "consumed", "expired"];
    if let Some(status) = q.status.as_deref()
        && !STATES.contains(&status)
    {
        return Err(ApiError::BadRequest(format!(
            "`status` is one of {}",
            STATES.join(", ")
        )));
    }
    let now = OffsetDateTime::now_utc();
    let managed = managed(&s, &caller).await?;
    let matching: Vec<Approval> = s
        .store
        .approvals(&caller.tenant)
        .await?
        .into_iter()
        .filter(|a| may_see(managed.as_ref(), a))
        .filter(|a| q.status.as_deref().is_none_or(|st| a.state_at(now) == st))
        .filter(|a| {
            q.tool
                .as_deref()
                .is_none_or(|t| a.subject.target_id == t || a.target_name == t)
        })
        .filter(|a| {
            q.agent
                .as_deref()
                .is_none_or(|g| a.subject.principal_id == g)
        })
        .collect();
    let page = crate::list::List::page(matching, q.limit, q.offset)?;
    Ok(axum::Json(page.map(|a| view(&a, now, None))))
}

/// One approval, with its arguments (secret fields masked).
#[utoipa::path(get, path = "/approvals/{id}", params(("id" = String, Path, description = "the record's id")), tag = "approvals",
    responses((status = 200, body = ApprovalView), (status = 404, body = ErrorBody)))]
async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ApprovalView>> {
    let (a, _) = load(&s, &caller, &id).await?;
    let target = match Uuid::parse_str(&a.subject.target_id) {
        Ok(id) => s.store.get_nhi(&caller.tenant, id).await?,
        Err(_) => None,
    };
    let arguments = match target {
        Some(Nhi::Tool(t)) => mask(&a.arguments, &t.fields.input_schema),
        // A task for an agent: the approver decides on the message it carries.
        Some(Nhi::Agent(_)) if a.subject.action == "send_task" => a.arguments.clone(),
        // Without the tool's schema nothing says which fields are secret: show none.
        _ => Value::String(MASK.into()),
    };
    Ok(axum::Json(view(
        &a,
        OffsetDateTime::now_utc(),
        Some(arguments),
    )))
}

/// Approve: exactly one identical call may go through, within `approvals.use_within_secs`.
#[utoipa::path(post, path = "/approvals/{id}/approve", params(("id" = String, Path, description = "the record's id")), tag = "approvals", request_body = Decide,
    responses((status = 200, body = ApprovalView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn approve(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(b): Json<Decide>,
) -> ApiResult<axum::Json<ApprovalView>> {
    decide(&s, &caller, &id, b, ApprovalStatus::Approved).await
}

/// Deny: the identical call stays refused until the request expires.
#[utoipa::path(post, path = "/approvals/{id}/deny", params(("id" = String, Path, description = "the record's id")), tag = "approvals", request_body = Decide,
    responses((status = 200, body = ApprovalView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn deny(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(b): Json<Decide>,
) -> ApiResult<axum::Json<ApprovalView>> {
    decide(&s, &caller, &id, b, ApprovalStatus::Denied).await
}

async fn decide(
    s: &AppState,
    caller: &Caller,
    id: &str,
    b: Decide,
    to: ApprovalStatus,
) -> ApiResult<axum::Json<ApprovalView>> {
    let comment = b
        .comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if comment.as_ref().is_some_and(|c| c.len() > MAX_COMMENT) {
        return Err(ApiError::BadRequest(format!(
            "`comment` is longer than {MAX_COMMENT} bytes"
        )));
    }
    let (a, _) = load(s, caller, id).await?;
    check_approver(s, caller, &a).await?;
    let now = OffsetDateTime::now_utc();
    let state = a.state_at(now);
    if state != "pending" {
        return Err(ApiError::Conflict(format!(
            "approval `{id}` is {state}: only a pending one can be decided"
        )));
    }
    let version = a.version;
    let mut decided = a;
    decided.status = to;
    decided.decided_at = Some(now);
    decided.decided_by = Some(caller.sub.clone());
    decided.comment = comment;
    if to == ApprovalStatus::Approved {
        decided.expires_at = now + secs(s.approvals.use_within_secs);
    }
    let decided = s
        .store
        .update_approval(decided, version)
        .await
        .map_err(|e| match e {
            portcullis_registry::StoreError::Conflict { .. } => {
                ApiError::Conflict(format!("approval `{id}` was decided meanwhile"))
            }
            other => other.into(),
        })?;
    audit(s, caller, &decided, now).await;
    Ok(axum::Json(view(&decided, now, None)))
}

/// Refuses an approver that is not a person, or is party to the call.
async fn check_approver(s: &AppState, caller: &Caller, a: &Approval) -> ApiResult<()> {
    let refuse = |why: &str| Err(ApiError::Forbidden(why.to_owned()));
    if let Ok(uuid) = Uuid::parse_str(&caller.sub)
        && s.store.get_nhi(&caller.tenant, uuid).await?.is_some()
    {
        return refuse("an agent or service account never approves: approvers are people");
    }
    if caller.sub == a.subject.principal_id || a.subject.chain.contains(&caller.sub) {
        return refuse("the principal that asked (or an actor of its chain) cannot decide");
    }
    if a.subject.on_behalf_of.as_deref() == Some(caller.sub.as_str()) {
        return refuse("the user a call is made for cannot approve it");
    }
    Ok(())
}

/// Writes the decision to the audit log (a failure is logged: the decision stands).
async fn audit(s: &AppState, caller: &Caller, a: &Approval, now: OffsetDateTime) {
    let event = serde_json::json!({
        "time": now.format(&time::format_description::well_known::Rfc3339).ok(),
        "tenant": a.tenant(),
        "event": format!("approval.{}", a.status.as_str()),
        "approval": a.id,
        "approver": caller.sub,
        "comment": a.comment,
        "principal": a.subject.principal_id,
        "chain": a.subject.chain,
        "on_behalf_of": a.subject.on_behalf_of,
        "tool": a.target_name,
        "arguments_sha256": a.subject.arguments_sha256,
    });
    let at_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    match AuditRecord::new(a.tenant(), at_ms, &event) {
        Ok(record) => {
            if let Err(e) = s.store.append_audit(vec![record]).await {
                tracing::error!(approval = %a.id, "the approval decision was not audited: {e}");
            }
        }
        Err(e) => tracing::error!(approval = %a.id, "cannot encode an audit event: {e}"),
    }
    tracing::info!(approval = %a.id, approver = %caller.sub, status = a.status.as_str(), "approval decided");
}

fn secs(n: u64) -> time::Duration {
    time::Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX / 2))
}

/// `arguments` with every value the schema marks secret replaced by `***`: a property whose
/// schema says `writeOnly: true`, `format: password`, or `secret: true` / `x-secret: true`,
/// at any depth (object properties, array items).
pub(crate) fn mask(arguments: &Value, schema: &Value) -> Value {
    let secret = |s: &Value| {
        s.get("writeOnly").and_then(Value::as_bool) == Some(true)
            || s.get("secret").and_then(Value::as_bool) == Some(true)
            || s.get("x-secret").and_then(Value::as_bool) == Some(true)
            || s.get("format").and_then(Value::as_str) == Some("password")
    };
    if secret(schema) {
        return Value::String(MASK.into());
    }
    match arguments {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties").filter(|v| v.is_object());
            Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let sub = props.and_then(|p| p.get(k)).or(extra);
                        let shown = match sub {
                            Some(sub) => mask(v, sub),
                            None => v.clone(),
                        };
                        (k.clone(), shown)
                    })
                    .collect(),
            )
        }
        Value::Array(items) => {
            let sub = schema.get("items");
            Value::Array(
                items
                    .iter()
                    .map(|v| sub.map_or_else(|| v.clone(), |s| mask(v, s)))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::mask;

    #[test]
    fn secret_fields_are_masked_at_any_depth() {
        let schema = json!({"type": "object", "properties": {
            "to": {"type": "string"},
            "password": {"type": "string", "writeOnly": true},
            "card": {"type": "object", "properties": {
                "number": {"type": "string", "x-secret": true},
                "holder": {"type": "string"}}},
            "pins": {"type": "array", "items": {"type": "string", "format": "password"}},
            "token": {"type": "string", "secret": true}}});
        let args = json!({"to": "acme", "password": "hunter2",
            "card": {"number": "4111", "holder": "Zoë"}, "pins": ["1", "2"], "token": "t",
            "undeclared": "kept"});
        let shown = mask(&args, &schema);
        assert_eq!(
            shown,
            json!({"to": "acme", "password": "***",
                "card": {"number": "***", "holder": "Zoë"}, "pins": ["***", "***"],
                "token": "***", "undeclared": "kept"})
        );
        let text = shown.to_string();
        for secret in ["hunter2", "4111", "\"t\""] {
            assert!(!text.contains(secret), "{secret} shows in {text}");
        }
    }
}
