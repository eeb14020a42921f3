//! User-to-NHI permissions (`/nhi/{id}/users/...`, `/nhi/users/{user_id}/accessible`, `/nhi`)
//! and NHI-to-NHI permissions (`/nhi/{id}/call/...`, `/nhi/{id}/callers`, `/nhi/{id}/callees`).

use axum::extract::{Path, State};
use portcullis_registry::{Nhi, NhiKind, PermissionLevel, PermissionType, RelationKind};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::body::{EdgeGrant, ListQuery, UserGrant};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::Json;
use crate::list::{List, PageQuery};
use crate::nhi::{self, Page};
use crate::query::Query;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(all))
        .routes(routes!(grant_user))
        .routes(routes!(revoke_user))
        .routes(routes!(users))
        .routes(routes!(accessible))
        .routes(routes!(grant_edge))
        .routes(routes!(revoke_edge))
        .routes(routes!(callers))
        .routes(routes!(callees))
}

#[derive(Serialize, utoipa::ToSchema)]
struct UserPermission {
    user_id: String,
    #[schema(value_type = String)]
    permission_level: PermissionLevel,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Accessible {
    #[schema(value_type = Object)]
    nhi: Nhi,
    #[schema(value_type = String)]
    permission_level: PermissionLevel,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Edge {
    #[schema(value_type = Object)]
    nhi: Nhi,
    #[schema(value_type = String)]
    permission_type: PermissionType,
}

/// Every NHI the caller may see, of all kinds (`kind`, `status`, `search`, `limit`, `offset`).
#[utoipa::path(get, path = "/nhi", tag = "nhi", params(ListQuery), responses((status = 200, body = Page)))]
async fn all(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Page>> {
    Ok(axum::Json(nhi::list(&s, &caller, None, &q).await?))
}

/// Give a user a permission level (`use`, `manage`, `admin`) on an NHI.
#[utoipa::path(post, path = "/nhi/{id}/users/{user_id}/grant", params(("id" = String, Path, description = "the record's id"), ("user_id" = String, Path, description = "the user's id")), tag = "nhi", request_body = UserGrant,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn grant_user(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
    Json(b): Json<UserGrant>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    caller.require_admin()?;
    let target = nhi::load(&s, &caller, None, &id).await?;
    let user_id = nhi::check_name(&user_id)?;
    let mut rel = nhi::relation(
        &caller,
        RelationKind::User,
        &target.id().to_string(),
        &user_id,
    );
    rel.level = Some(b.permission_level);
    let created = s.store.put_relation(rel).await?;
    Ok(axum::Json(
        serde_json::json!({"nhi_id": target.id(), "user_id": user_id,
        "permission_level": b.permission_level, "granted": true, "created": created}),
    ))
}

/// Remove a user's permission on an NHI (200 with `"revoked": false` when the user holds
/// none).
#[utoipa::path(post, path = "/nhi/{id}/users/{user_id}/revoke", params(("id" = String, Path, description = "the record's id"), ("user_id" = String, Path, description = "the user's id")), tag = "nhi",
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn revoke_user(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    caller.require_admin()?;
    let target = nhi::load(&s, &caller, None, &id).await?;
    let rel = nhi::relation(
        &caller,
        RelationKind::User,
        &target.id().to_string(),
        &user_id,
    );
    let revoked = s.store.delete_relation(&rel).await?;
    Ok(axum::Json(
        serde_json::json!({"nhi_id": target.id(), "user_id": user_id,
        "granted": false, "revoked": revoked}),
    ))
}

/// The users holding a permission on an NHI.
#[utoipa::path(get, path = "/nhi/{id}/users", params(("id" = String, Path, description = "the record's id"), PageQuery), tag = "nhi", responses((status = 200, body = List<UserPermission>), (status = 404, body = ErrorBody)))]
async fn users(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<axum::Json<List<UserPermission>>> {
    let target = nhi::load(&s, &caller, None, &id).await?;
    let grants = s
        .store
        .relations(
            &caller.tenant,
            RelationKind::User,
            Some(&target.id().to_string()),
            None,
        )
        .await?;
    let mut all: Vec<UserPermission> = grants
        .into_iter()
        .map(|r| UserPermission {
            user_id: r.target,
            permission_level: r.level.unwrap_or(PermissionLevel::Use),
        })
        .collect();
    all.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    Ok(axum::Json(List::of(all, &q)?))
}

/// The NHIs a user can access, with the level. Non-admins may only ask about themselves.
#[utoipa::path(get, path = "/nhi/users/{user_id}/accessible", params(("user_id" = String, Path, description = "the user's id"), PageQuery), tag = "nhi", responses((status = 200, body = List<Accessible>), (status = 403, body = ErrorBody)))]
async fn accessible(
    State(s): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<axum::Json<List<Accessible>>> {
    if !caller.is_admin() && caller.sub != user_id {
        return Err(ApiError::Forbidden(
            "only admins may list another user's access".into(),
        ));
    }
    let grants = s
        .store
        .relations(&caller.tenant, RelationKind::User, None, Some(&user_id))
        .await?;
    let mut out = Vec::new();
    for g in grants {
        if let Some(n) = s
            .store
            .get_nhi(&caller.tenant, nhi::parse_id(&g.source)?)
            .await?
        {
            out.push(Accessible {
                nhi: n,
                permission_level: g.level.unwrap_or(PermissionLevel::Use),
            });
        }
    }
    out.sort_by(|a, b| (&a.nhi.common().name, a.nhi.id()).cmp(&(&b.nhi.common().name, b.nhi.id())));
    Ok(axum::Json(List::of(out, &q)?))
}

fn edge_kind(t: PermissionType) -> RelationKind {
    match t {
        PermissionType::Calling => RelationKind::Calling,
        PermissionType::Delegation => RelationKind::Delegation,
    }
}

/// Let `id` call (send tasks to) or delegate to `target_id`.
#[utoipa::path(post, path = "/nhi/{id}/call/{target_id}/grant", params(("id" = String, Path, description = "the record's id"), ("target_id" = String, Path, description = "the other NHI's id")), tag = "nhi", request_body = EdgeGrant,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn grant_edge(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, target_id)): Path<(String, String)>,
    Json(b): Json<EdgeGrant>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    caller.require_admin()?;
    let source = nhi::load(&s, &caller, None, &id).await?;
    let target = nhi::load(&s, &caller, None, &target_id).await?;
    // "Grant agent A permission to call tool B": a calling permission on a tool is a tool
    // grant, the same as `/nhi/agents/{id}/tools/{tool_id}/grant`.
    if b.permission_type == PermissionType::Calling
        && source.kind() != NhiKind::Tool
        && target.kind() == NhiKind::Tool
    {
        let created = s
            .store
            .put_relation(nhi::relation(
                &caller,
                RelationKind::ToolGrant,
                &source.id().to_string(),
                &target.id().to_string(),
            ))
            .await?;
        return Ok(axum::Json(serde_json::json!({"source_id": source.id(),
            "target_id": target.id(), "permission_type": b.permission_type, "granted": true,
            "created": created, "tool_grant": true})));
    }
    let ok = match b.permission_type {
        PermissionType::Calling => {
            source.kind() != NhiKind::Tool && target.kind() == NhiKind::Agent
        }
        PermissionType::Delegation => {
            source.kind() == NhiKind::Agent && target.kind() == NhiKind::Agent
        }
    };
    if !ok {
        return Err(ApiError::BadRequest(match b.permission_type {
            PermissionType::Calling => {
                "`calling` goes from an agent or service account to an agent".into()
            }
            PermissionType::Delegation => "`delegation` goes from an agent to an agent".into(),
        }));
    }
    if source.id() == target.id() {
        return Err(ApiError::BadRequest(
            "an NHI cannot be granted a permission on itself".into(),
        ));
    }
    let rel = nhi::relation(
        &caller,
        edge_kind(b.permission_type),
        &source.id().to_string(),
        &target.id().to_string(),
    );
    let created = s.store.put_relation(rel).await?;
    Ok(axum::Json(
        serde_json::json!({"source_id": source.id(), "target_id": target.id(),
            "permission_type": b.permission_type, "granted": true, "created": created}),
    ))
}

/// Remove a calling or delegation permission (200 with `"revoked": false` when none is held).
#[utoipa::path(post, path = "/nhi/{id}/call/{target_id}/revoke", params(("id" = String, Path, description = "the record's id"), ("target_id" = String, Path, description = "the other NHI's id")), tag = "nhi", request_body(content = Option<EdgeGrant>,
    description = "optional when the NHI holds only one kind of permission on the target"),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn revoke_edge(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, target_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<serde_json::Value>> {
    caller.require_admin()?;
    let source = nhi::load(&s, &caller, None, &id).await?;
    let target = nhi::parse_id(&target_id)?;
    let (from, to) = (source.id().to_string(), target.to_string());
    // The body is optional when the source holds only one kind of permission on the target.
    let named: Option<PermissionType> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let b: EdgeGrant = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid body: {e}")))?;
        Some(b.permission_type)
    };
    let mut held = Vec::new();
    for (t, kind) in [
        (PermissionType::Calling, RelationKind::ToolGrant),
        (PermissionType::Calling, RelationKind::Calling),
        (PermissionType::Delegation, RelationKind::Delegation),
    ] {
        if named.is_some_and(|n| n != t) {
            continue;
        }
        if !s
            .store
            .relations(&caller.tenant, kind, Some(&from), Some(&to))
            .await?
            .is_empty()
        {
            held.push((t, kind));
        }
    }
    let (permission_type, kind) = match held.as_slice() {
        [] => {
            return Ok(axum::Json(serde_json::json!({"source_id": source.id(),
                "target_id": target, "permission_type": named, "granted": false,
                "revoked": false})));
        }
        [one] => *one,
        _ => {
            return Err(ApiError::BadRequest(
                "`{id}` holds both a calling and a delegation permission on the target: name \
                 `permission_type`"
                    .replace("{id}", &id),
            ));
        }
    };
    let revoked = s
        .store
        .delete_relation(&nhi::relation(&caller, kind, &from, &to))
        .await?;
    Ok(axum::Json(
        serde_json::json!({"source_id": source.id(), "target_id": target,
            "permission_type": permission_type, "granted": false, "revoked": revoked}),
    ))
}

async fn edges(s: &AppState, caller: &Caller, id: &str, incoming: bool) -> ApiResult<Vec<Edge>> {
    let me = nhi::load(s, caller, None, id).await?.id().to_string();
    let mut out = Vec::new();
    for t in [PermissionType::Calling, PermissionType::Delegation] {
        let (source, target) = if incoming {
            (None, Some(me.as_str()))
        } else {
            (Some(me.as_str()), None)
        };
        for r in s
            .store
            .relations(&caller.tenant, edge_kind(t), source, target)
            .await?
        {
            let other = if incoming { &r.source } else { &r.target };
            if let Some(n) = s
                .store
                .get_nhi(&caller.tenant, nhi::parse_id(other)?)
                .await?
            {
                out.push(Edge {
                    nhi: n,
                    permission_type: t,
                });
            }
        }
    }
    // Stable for paging: by name and id, calling before delegation.
    out.sort_by(|a, b| {
        (
            &a.nhi.common().name,
            a.nhi.id(),
            a.permission_type == PermissionType::Delegation,
        )
            .cmp(&(
                &b.nhi.common().name,
                b.nhi.id(),
                b.permission_type == PermissionType::Delegation,
            ))
    });
    Ok(out)
}

/// The NHIs that may call or delegate to this one.
#[utoipa::path(get, path = "/nhi/{id}/callers", params(("id" = String, Path, description = "the record's id"), PageQuery), tag = "nhi", responses((status = 200, body = List<Edge>), (status = 404, body = ErrorBody)))]
async fn callers(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<axum::Json<List<Edge>>> {
    Ok(axum::Json(List::of(
        edges(&s, &caller, &id, true).await?,
        &q,
    )?))
}

/// The NHIs this one may call or delegate to.
#[utoipa::path(get, path = "/nhi/{id}/callees", params(("id" = String, Path, description = "the record's id"), PageQuery), tag = "nhi", responses((status = 200, body = List<Edge>), (status = 404, body = ErrorBody)))]
async fn callees(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<axum::Json<List<Edge>>> {
    Ok(axum::Json(List::of(
        edges(&s, &caller, &id, false).await?,
        &q,
    )?))
}
