//! The NHI service: create, read with visibility, list with filters, conditional update.

use std::collections::HashSet;

use axum::http::HeaderMap;
use portcullis_registry::{
    Nhi, NhiKind, PermissionLevel, Relation, RelationKind, StoreError, check_transition,
};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Caller;
use crate::body::{ListQuery, NhiPatch};
use crate::error::{ApiError, ApiResult};
use crate::list::List;
use crate::state::AppState;

const MAX_TEXT: usize = 4096;
const MAX_NAME: usize = 200;

/// One page of NHIs (the shape of every list: [`List`]).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Page {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Nhi>,
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
}

impl From<List<Nhi>> for Page {
    fn from(l: List<Nhi>) -> Self {
        Self {
            items: l.items,
            total: l.total,
            limit: l.limit,
            offset: l.offset,
        }
    }
}

/// What the caller should know about a record it just wrote: a tool that no request can
/// reach through this gateway, because it names no `upstream` or one the gateway is not
/// configured with. (Such a tool is kept: the registry may be shared by gateways configured
/// differently, or the upstream added later; `/readyz` counts them as `unroutable_tools`.)
/// The configured upstreams are named to admins only (MCP discovery is theirs too); a user
/// with `manage` on the tool is told only that its upstream is not configured.
pub(crate) fn warnings(state: &AppState, caller: &Caller, nhi: &Nhi) -> Vec<String> {
    let Nhi::Tool(t) = nhi else {
        return Vec::new();
    };
    let Some(configured) = state.discovery.as_ref().and_then(|d| d.upstream_names()) else {
        return Vec::new();
    };
    let list = if !caller.is_admin() {
        "ask an admin which are".to_owned()
    } else if configured.is_empty() {
        "none".to_owned()
    } else {
        configured
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match t.fields.upstream.as_deref() {
        Some(u) if configured.iter().any(|c| c == u) => Vec::new(),
        Some(u) => vec![format!(
            "upstream `{}` is not configured in this gateway (configured: {list}): the tool \
             cannot be called until it is",
            u.chars().take(128).collect::<String>()
        )],
        None => vec![format!(
            "the tool names no `upstream`: it cannot be called until it names a configured \
             one ({list})"
        )],
    }
}

/// `nhi` as the answer to a write: the record, with `warnings` when there are any.
pub(crate) fn written(
    state: &AppState,
    caller: &Caller,
    nhi: &Nhi,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let mut body = serde_json::to_value(nhi)
        .map_err(|e| ApiError::Internal(format!("cannot render the record: {e}")))?;
    let warnings = warnings(state, caller, nhi);
    if !warnings.is_empty()
        && let Some(obj) = body.as_object_mut()
    {
        obj.insert("warnings".into(), warnings.into());
    }
    Ok(axum::Json(body))
}

/// NHIs in a stable order for paging: by name, then id.
pub(crate) fn sort(nhis: &mut [Nhi]) {
    nhis.sort_by(|a, b| {
        a.common()
            .name
            .cmp(&b.common().name)
            .then_with(|| a.id().cmp(&b.id()))
    });
}

pub(crate) fn parse_id(id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id)
        .map_err(|_| ApiError::BadRequest(format!("`{id}` is not a valid id (a UUID)")))
}

pub(crate) fn check_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::BadRequest("`name` must not be empty".into()));
    }
    if name.len() > MAX_NAME {
        return Err(ApiError::BadRequest(format!(
            "`name` is longer than {MAX_NAME} bytes"
        )));
    }
    Ok(name.to_owned())
}

pub(crate) fn check_text(field: &str, value: &str) -> ApiResult<()> {
    if value.len() > MAX_TEXT {
        return Err(ApiError::BadRequest(format!(
            "`{field}` is longer than {MAX_TEXT} bytes"
        )));
    }
    Ok(())
}

/// The ids of the NHIs a non-admin caller holds a user permission on.
async fn visible_ids(state: &AppState, caller: &Caller) -> ApiResult<Option<HashSet<String>>> {
    if caller.is_admin() {
        return Ok(None);
    }
    let grants = state
        .store
        .relations(&caller.tenant, RelationKind::User, None, Some(&caller.sub))
        .await?;
    Ok(Some(grants.into_iter().map(|r| r.source).collect()))
}

/// Loads an NHI of `kind` the caller may see; anything else is 404.
pub(crate) async fn load(
    state: &AppState,
    caller: &Caller,
    kind: Option<NhiKind>,
    id: &str,
) -> ApiResult<Nhi> {
    let uuid = parse_id(id)?;
    let label = kind.map_or("NHI", NhiKind::label);
    let not_found = || ApiError::NotFound(format!("{label} `{id}` not found"));
    let nhi = state
        .store
        .get_nhi(&caller.tenant, uuid)
        .await?
        .ok_or_else(not_found)?;
    if kind.is_some_and(|k| k != nhi.kind()) {
        return Err(not_found());
    }
    if let Some(visible) = visible_ids(state, caller).await?
        && !visible.contains(&nhi.id().to_string())
    {
        return Err(not_found());
    }
    Ok(nhi)
}

pub(crate) async fn create(state: &AppState, caller: &Caller, nhi: Nhi) -> ApiResult<Nhi> {
    caller.require_admin()?;
    let c = nhi.common();
    for (field, value) in [
        ("description", Some(&c.description)),
        ("owner_id", c.owner_id.as_ref()),
        ("backup_owner_id", c.backup_owner_id.as_ref()),
    ] {
        if let Some(v) = value {
            check_text(field, v)?;
        }
    }
    Ok(state.store.insert_nhi(nhi).await?)
}

/// Filters, searches and pages the NHIs of `kind` (all kinds when `None`) the caller sees.
pub(crate) async fn list(
    state: &AppState,
    caller: &Caller,
    kind: Option<NhiKind>,
    q: &ListQuery,
) -> ApiResult<Page> {
    let matching = matching(state, caller, kind, q).await?;
    Ok(List::page(matching, q.limit, q.offset)?.into())
}

/// Every NHI of `kind` (all kinds when `None`) the caller sees that matches the filters.
pub(crate) async fn matching(
    state: &AppState,
    caller: &Caller,
    kind: Option<NhiKind>,
    q: &ListQuery,
) -> ApiResult<Vec<Nhi>> {
    let tool_filters =
        q.category.is_some() || q.risk_level.is_some() || q.requires_approval.is_some();
    if tool_filters && kind.is_some_and(|k| k != NhiKind::Tool) {
        return Err(ApiError::BadRequest(
            "`category`, `risk_level` and `requires_approval` filter tools only".into(),
        ));
    }
    let kinds = match kind.or(q.kind) {
        Some(k) => vec![k],
        None => vec![NhiKind::ServiceAccount, NhiKind::Agent, NhiKind::Tool],
    };
    let visible = visible_ids(state, caller).await?;
    let search = q.search.as_deref().map(str::to_lowercase);
    let mut matching = Vec::new();
    for k in kinds {
        for nhi in state.store.list_nhis(&caller.tenant, k).await? {
            let c = nhi.common();
            let keep = visible
                .as_ref()
                .is_none_or(|v| v.contains(&c.id.to_string()))
                && q.status.is_none_or(|s| s == c.lifecycle_state)
                && q.risk_level.is_none_or(|r| r == c.risk_level)
                && search.as_deref().is_none_or(|s| {
                    c.name.to_lowercase().contains(s) || c.description.to_lowercase().contains(s)
                })
                && match &nhi {
                    Nhi::Tool(t) => {
                        q.category
                            .as_deref()
                            .is_none_or(|cat| t.fields.category == cat)
                            && q.requires_approval
                                .is_none_or(|r| t.fields.requires_approval == r)
                    }
                    _ => !tool_filters,
                };
            if keep {
                matching.push(nhi);
            }
        }
    }
    Ok(matching)
}

/// The version an update is conditional on: the body's `version`, else `If-Match`.
pub(crate) fn expected_version(body: Option<u64>, headers: &HeaderMap) -> ApiResult<Option<u64>> {
    if body.is_some() {
        return Ok(body);
    }
    let Some(value) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    text.parse().map(Some).map_err(|_| {
        ApiError::BadRequest(format!("`If-Match` must be a record version, got `{text}`"))
    })
}

/// Applies `change` to the current record and stores it. With an expected version a stale
/// read is a 409; without one a concurrent write is retried on the fresh record, so two
/// concurrent updates never silently lose one.
pub(crate) async fn modify(
    state: &AppState,
    caller: &Caller,
    kind: Option<NhiKind>,
    id: &str,
    expected: Option<u64>,
    change: impl Fn(&mut Nhi) -> ApiResult<()>,
) -> ApiResult<Nhi> {
    caller.require_admin()?;
    modify_as(
        state,
        caller,
        kind,
        id,
        expected,
        PermissionLevel::Admin,
        change,
    )
    .await
}

/// As [`modify`], for a caller holding the admin role or at least `need` on the NHI.
pub(crate) async fn modify_as(
    state: &AppState,
    caller: &Caller,
    kind: Option<NhiKind>,
    id: &str,
    expected: Option<u64>,
    need: PermissionLevel,
    change: impl Fn(&mut Nhi) -> ApiResult<()>,
) -> ApiResult<Nhi> {
    for _ in 0..8 {
        let current = load(state, caller, kind, id).await?;
        require_level(state, caller, &current, need).await?;
        if let Some(v) = expected.filter(|&v| v != current.version()) {
            return Err(StoreError::Conflict {
                expected: v,
                actual: current.version(),
            }
            .into());
        }
        let mut next = current.clone();
        change(&mut next)?;
        next.common_mut().updated_at = OffsetDateTime::now_utc();
        match state.store.update_nhi(next, current.version()).await {
            Err(StoreError::Conflict { .. }) if expected.is_none() => continue,
            Ok(updated) => {
                revoke_leases_on_leaving(state, &current, &updated).await?;
                return Ok(updated);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(
        "the record keeps changing; retry".into(),
    ))
}

/// Suspending, deprecating or archiving an NHI revokes every lease it holds or grants.
async fn revoke_leases_on_leaving(state: &AppState, before: &Nhi, after: &Nhi) -> ApiResult<()> {
    use portcullis_registry::Lifecycle;
    let (from, to) = (
        before.common().lifecycle_state,
        after.common().lifecycle_state,
    );
    if from != to
        && matches!(
            to,
            Lifecycle::Suspended | Lifecycle::Deprecated | Lifecycle::Archived
        )
    {
        let reason = format!("the NHI became {}", to.as_str());
        let revoked =
            crate::vault::revoke_involving(&state.store, after.tenant(), after.id(), &reason)
                .await?;
        if revoked > 0 {
            tracing::info!(nhi = %after.id(), revoked, "{reason}: its leases are revoked");
        }
    }
    Ok(())
}

/// A lifecycle change, checked against the allowed transitions.
pub(crate) fn transition(
    nhi: &mut Nhi,
    to: portcullis_registry::Lifecycle,
    reason: Option<String>,
) -> ApiResult<()> {
    let c = nhi.common_mut();
    check_transition(c.lifecycle_state, to).map_err(ApiError::Conflict)?;
    c.lifecycle_state = to;
    c.lifecycle_reason = reason;
    Ok(())
}

/// Applies a PATCH body to a record of any kind; fields of another kind are refused.
pub(crate) fn apply_patch(nhi: &mut Nhi, p: &NhiPatch) -> ApiResult<()> {
    let kind = nhi.kind();
    let c = nhi.common_mut();
    if let Some(name) = &p.name {
        c.name = check_name(name)?;
    }
    if let Some(d) = &p.description {
        check_text("description", d)?;
        c.description = d.clone();
    }
    if let Some(o) = &p.owner_id {
        check_text("owner_id", o)?;
        c.owner_id = Some(o.clone());
    }
    if let Some(o) = &p.backup_owner_id {
        check_text("backup_owner_id", o)?;
        c.backup_owner_id = Some(o.clone());
    }
    if let Some(r) = p.risk_level {
        c.risk_level = r;
    }
    if let Some(limit) = p.rate_limit {
        if let Some(l) = &limit {
            l.check().map_err(ApiError::BadRequest)?;
        }
        c.rate_limit = limit;
    }
    if let Some(state) = p.lifecycle_state {
        transition(nhi, state, None)?;
    }
    let agent_fields = p.agent_type.is_some()
        || p.model_provider.is_some()
        || p.model_name.is_some()
        || p.requires_human_approval.is_some()
        || p.max_delegation_depth.is_some()
        || p.a2a_upstream.is_some();
    let tool_fields = p.category.is_some()
        || p.requires_approval.is_some()
        || p.input_schema.is_some()
        || p.annotations.is_some()
        || p.upstream.is_some();
    let account_fields = p.purpose.is_some();
    match nhi {
        Nhi::Agent(a) if !tool_fields && !account_fields => {
            let f = &mut a.fields;
            if let Some(v) = &p.agent_type {
                f.agent_type = v.clone()
            }
            if let Some(v) = &p.model_provider {
                f.model_provider = v.clone()
            }
            if let Some(v) = &p.model_name {
                f.model_name = v.clone()
            }
            if let Some(v) = p.requires_human_approval {
                f.requires_human_approval = v
            }
            if let Some(v) = p.max_delegation_depth {
                f.max_delegation_depth = v
            }
            if let Some(v) = &p.a2a_upstream {
                check_text("a2a_upstream", v)?;
                f.a2a_upstream = Some(v.clone()).filter(|v| !v.is_empty());
            }
            Ok(())
        }
        Nhi::Tool(t) if !agent_fields && !account_fields => {
            let f = &mut t.fields;
            if let Some(schema) = &p.input_schema {
                portcullis_registry::validate_input_schema(schema)
                    .map_err(ApiError::Unprocessable)?;
                f.input_schema = schema.clone();
            }
            if let Some(v) = &p.category {
                f.category = v.clone()
            }
            if let Some(v) = p.requires_approval {
                f.requires_approval = v
            }
            if let Some(v) = &p.annotations {
                f.annotations = v.clone()
            }
            if let Some(v) = &p.upstream {
                f.upstream = Some(v.clone())
            }
            Ok(())
        }
        Nhi::ServiceAccount(sa) if !agent_fields && !tool_fields => {
            if let Some(v) = &p.purpose {
                check_text("purpose", v)?;
                sa.purpose = v.clone();
            }
            Ok(())
        }
        _ => Err(ApiError::BadRequest(format!(
            "the body has fields that a {} does not have",
            kind.label()
        ))),
    }
}

pub(crate) async fn delete(
    state: &AppState,
    caller: &Caller,
    kind: NhiKind,
    id: &str,
    expected: Option<u64>,
) -> ApiResult<()> {
    let current = load(state, caller, Some(kind), id).await?;
    require_level(state, caller, &current, PermissionLevel::Admin).await?;
    if let Some(v) = expected.filter(|&v| v != current.version()) {
        return Err(StoreError::Conflict {
            expected: v,
            actual: current.version(),
        }
        .into());
    }
    if state.store.delete_nhi(&caller.tenant, current.id()).await? {
        crate::vault::revoke_involving(
            &state.store,
            &caller.tenant,
            current.id(),
            "the NHI was deleted",
        )
        .await?;
        Ok(())
    } else {
        Err(ApiError::NotFound(format!(
            "{} `{id}` not found",
            kind.label()
        )))
    }
}

/// `Ok` for a caller with the admin (or super_admin) role, or a user permission of at least
/// `need` on `nhi`: `manage` configures and updates it, `admin` also changes its lifecycle and
/// deletes it (`use` only lets a call be made on the user's behalf, at the gateway).
pub(crate) async fn require_level(
    state: &AppState,
    caller: &Caller,
    nhi: &Nhi,
    need: PermissionLevel,
) -> ApiResult<()> {
    if caller.is_admin() {
        return Ok(());
    }
    let held = state
        .store
        .relations(
            &caller.tenant,
            RelationKind::User,
            Some(&nhi.id().to_string()),
            Some(&caller.sub),
        )
        .await?
        .into_iter()
        .filter_map(|r| r.level)
        .max();
    match held {
        Some(level) if level >= need => Ok(()),
        _ => Err(ApiError::Forbidden(format!(
            "this needs the `admin` role or a `{}` permission on the {}",
            need.as_str(),
            nhi.kind().label()
        ))),
    }
}

pub(crate) fn relation(
    caller: &Caller,
    kind: RelationKind,
    source: &str,
    target: &str,
) -> Relation {
    Relation::new(&caller.tenant, kind, source, target)
}
