//! `/nhi/{nhi_id}/vault/secrets` and `/nhi/{nhi_id}/vault/leases`

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use portcullis_registry::vault::{Lease, Secret, VaultKind};
use portcullis_registry::{Lifecycle, Nhi, NhiKind};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::Json;
use crate::nhi;
use crate::state::AppState;
use crate::vault::{self, LeaseView, SecretView};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_secret, list_secrets))
        .routes(routes!(get_secret, delete_secret))
        .routes(routes!(rotate_secret))
        .routes(routes!(create_lease, list_leases))
        .routes(routes!(revoke_lease))
        .routes(routes!(renew_lease))
}

/// The largest secret value accepted, in bytes.
const MAX_VALUE: usize = 64 * 1024;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecretCreate {
    name: String,
    /// The value; stored sealed, never shown again.
    #[schema(value_type = String)]
    secret_value: Zeroizing<String>,
    #[serde(default = "generic")]
    secret_type: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    expires_at: Option<OffsetDateTime>,
    rotation_interval_days: Option<u32>,
}

fn generic() -> String {
    "generic".into()
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rotate {
    #[schema(value_type = String)]
    new_value: Zeroizing<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LeaseCreate {
    secret_id: String,
    ttl_seconds: u64,
    consumer_nhi_id: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Renew {
    /// From now; default: the lease's original length.
    ttl_seconds: Option<u64>,
}

fn value_ok(value: &str) -> ApiResult<()> {
    if value.is_empty() {
        return Err(ApiError::BadRequest(
            "the secret value must not be empty".into(),
        ));
    }
    if value.len() > MAX_VALUE {
        return Err(ApiError::PayloadTooLarge(format!(
            "a secret value is at most {MAX_VALUE} bytes"
        )));
    }
    Ok(())
}

/// The NHI a vault path names (admins only; 404 for another tenant's).
async fn owner(s: &AppState, caller: &Caller, nhi_id: &str) -> ApiResult<Nhi> {
    caller.require_admin()?;
    nhi::load(s, caller, None, nhi_id).await
}

/// Store a new secret of an NHI (sealed; only metadata comes back).
#[utoipa::path(post, path = "/nhi/{nhi_id}/vault/secrets", params(("nhi_id" = String, Path, description = "the NHI's id")), tag = "vault", request_body = SecretCreate,
    responses((status = 201, body = SecretView), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn create_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path(nhi_id): Path<String>,
    Json(b): Json<SecretCreate>,
) -> ApiResult<(StatusCode, axum::Json<SecretView>)> {
    let keys = s.vault.keys()?;
    let owner = owner(&s, &caller, &nhi_id).await?;
    let name = nhi::check_name(&b.name)?;
    nhi::check_text("secret_type", &b.secret_type)?;
    value_ok(&b.secret_value)?;
    let existing = s.store.vaults(&caller.tenant, VaultKind::Secret).await?;
    for doc in existing {
        let other = doc.secret()?;
        if other.nhi_id == owner.id() && other.name == name {
            return Err(ApiError::Conflict(format!(
                "the NHI already has a secret named `{name}`"
            )));
        }
    }
    let now = OffsetDateTime::now_utc();
    let mut secret = Secret {
        id: Uuid::now_v7(),
        tenant_id: caller.tenant.clone(),
        nhi_id: owner.id(),
        name,
        secret_type: b.secret_type,
        expires_at: b.expires_at,
        rotation_interval_days: b.rotation_interval_days,
        current_version: 1,
        created_at: now,
        updated_at: now,
        versions: Vec::new(),
    };
    secret
        .versions
        .push(vault::seal(keys, &secret, 1, b.secret_value.as_bytes())?);
    vault::store_secret(&s.store, &secret, None).await?;
    Ok((StatusCode::CREATED, axum::Json(SecretView::from(&secret))))
}

/// The secrets of an NHI (metadata only).
#[utoipa::path(get, path = "/nhi/{nhi_id}/vault/secrets", params(("nhi_id" = String, Path, description = "the NHI's id"), crate::list::PageQuery), tag = "vault",
    responses((status = 200, body = crate::list::List<SecretView>), (status = 503, body = ErrorBody)))]
async fn list_secrets(
    State(s): State<AppState>,
    caller: Caller,
    Path(nhi_id): Path<String>,
    crate::query::Query(q): crate::query::Query<crate::list::PageQuery>,
) -> ApiResult<axum::Json<crate::list::List<SecretView>>> {
    s.vault.keys()?;
    let owner = owner(&s, &caller, &nhi_id).await?;
    let mut out = Vec::new();
    for doc in s.store.vaults(&caller.tenant, VaultKind::Secret).await? {
        let secret = doc.secret()?;
        if secret.nhi_id == owner.id() {
            out.push(SecretView::from(&secret));
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(axum::Json(crate::list::List::of(out, &q)?))
}

/// One secret's metadata.
#[utoipa::path(get, path = "/nhi/{nhi_id}/vault/secrets/{secret_id}", params(("nhi_id" = String, Path, description = "the NHI's id"), ("secret_id" = String, Path, description = "the secret's id")), tag = "vault",
    responses((status = 200, body = SecretView), (status = 404, body = ErrorBody)))]
async fn get_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path((nhi_id, secret_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<SecretView>> {
    s.vault.keys()?;
    let owner = owner(&s, &caller, &nhi_id).await?;
    let (secret, _) = vault::load_secret(&s.store, &caller.tenant, owner.id(), &secret_id).await?;
    Ok(axum::Json(SecretView::from(&secret)))
}

/// A new version; the previous ones are kept for `vault.keep_versions_secs`, then destroyed.
#[utoipa::path(post, path = "/nhi/{nhi_id}/vault/secrets/{secret_id}/rotate", params(("nhi_id" = String, Path, description = "the NHI's id"), ("secret_id" = String, Path, description = "the secret's id")), tag = "vault", request_body = Rotate,
    responses((status = 200, body = SecretView), (status = 404, body = ErrorBody)))]
async fn rotate_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path((nhi_id, secret_id)): Path<(String, String)>,
    Json(b): Json<Rotate>,
) -> ApiResult<axum::Json<SecretView>> {
    let keys = s.vault.keys()?;
    let owner = owner(&s, &caller, &nhi_id).await?;
    value_ok(&b.new_value)?;
    let (mut secret, version) =
        vault::load_secret(&s.store, &caller.tenant, owner.id(), &secret_id).await?;
    let now = OffsetDateTime::now_utc();
    let keep = Duration::from_secs(s.vault.config.keep_versions_secs);
    for old in secret
        .versions
        .iter_mut()
        .filter(|v| v.destroy_at.is_none())
    {
        old.destroy_at = Some(now + keep);
    }
    let next = secret.current_version + 1;
    secret
        .versions
        .push(vault::seal(keys, &secret, next, b.new_value.as_bytes())?);
    secret.current_version = next;
    secret.updated_at = now;
    vault::store_secret(&s.store, &secret, Some(version)).await?;
    Ok(axum::Json(SecretView::from(&secret)))
}

/// Delete a secret with every version; leases on it are revoked.
#[utoipa::path(delete, path = "/nhi/{nhi_id}/vault/secrets/{secret_id}", params(("nhi_id" = String, Path, description = "the NHI's id"), ("secret_id" = String, Path, description = "the secret's id")), tag = "vault",
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path((nhi_id, secret_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.vault.keys()?;
    let owner = owner(&s, &caller, &nhi_id).await?;
    let (secret, _) = vault::load_secret(&s.store, &caller.tenant, owner.id(), &secret_id).await?;
    for doc in s.store.vaults(&caller.tenant, VaultKind::Lease).await? {
        let mut lease = doc.lease()?;
        if lease.secret_id == secret.id && lease.revoked_at.is_none() {
            lease.revoked_at = Some(OffsetDateTime::now_utc());
            lease.revoked_reason = Some("the secret was deleted".into());
            vault::store_lease(&s.store, &lease, Some(doc.version)).await?;
        }
    }
    s.store
        .delete_vault(&caller.tenant, VaultKind::Secret, &secret.id.to_string())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lease a secret of this NHI to another NHI, for `ttl_seconds` (at most
/// `vault.max_lease_ttl_secs`, which also bounds every renewal).
#[utoipa::path(post, path = "/nhi/{nhi_id}/vault/leases", params(("nhi_id" = String, Path, description = "the NHI's id")), tag = "vault", request_body = LeaseCreate,
    responses((status = 201, body = LeaseView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_lease(
    State(s): State<AppState>,
    caller: Caller,
    Path(nhi_id): Path<String>,
    Json(b): Json<LeaseCreate>,
) -> ApiResult<(StatusCode, axum::Json<LeaseView>)> {
    s.vault.keys()?;
    let owner = owner(&s, &caller, &nhi_id).await?;
    let (secret, _) =
        vault::load_secret(&s.store, &caller.tenant, owner.id(), &b.secret_id).await?;
    let consumer = nhi::load(&s, &caller, None, &b.consumer_nhi_id).await?;
    if consumer.kind() == NhiKind::Tool {
        return Err(ApiError::BadRequest(
            "`consumer_nhi_id` must be an agent or a service account".into(),
        ));
    }
    for (who, n) in [("the secret's NHI", &owner), ("the consumer", &consumer)] {
        if n.common().lifecycle_state != Lifecycle::Active {
            return Err(ApiError::Conflict(format!(
                "{who} is {}: only active NHIs take part in leases",
                n.common().lifecycle_state.as_str()
            )));
        }
    }
    let max = s.vault.config.max_lease_ttl_secs;
    if b.ttl_seconds == 0 || b.ttl_seconds > max {
        return Err(ApiError::BadRequest(format!(
            "`ttl_seconds` must be 1 to {max}"
        )));
    }
    let now = OffsetDateTime::now_utc();
    let lease = Lease {
        id: Uuid::now_v7(),
        tenant_id: caller.tenant.clone(),
        nhi_id: owner.id(),
        secret_id: secret.id,
        consumer_nhi_id: consumer.id(),
        issued_at: now,
        expires_at: now + Duration::from_secs(b.ttl_seconds),
        max_expires_at: now + Duration::from_secs(max),
        revoked_at: None,
        revoked_reason: None,
    };
    vault::store_lease(&s.store, &lease, None).await?;
    Ok((StatusCode::CREATED, axum::Json(lease.into())))
}

/// The leases this NHI holds or grants.
#[utoipa::path(get, path = "/nhi/{nhi_id}/vault/leases", params(("nhi_id" = String, Path, description = "the NHI's id"), crate::list::PageQuery), tag = "vault",
    responses((status = 200, body = crate::list::List<LeaseView>)))]
async fn list_leases(
    State(s): State<AppState>,
    caller: Caller,
    Path(nhi_id): Path<String>,
    crate::query::Query(q): crate::query::Query<crate::list::PageQuery>,
) -> ApiResult<axum::Json<crate::list::List<LeaseView>>> {
    s.vault.keys()?;
    let owner = owner(&s, &caller, &nhi_id).await?;
    let mut out: Vec<Lease> = Vec::new();
    for doc in s.store.vaults(&caller.tenant, VaultKind::Lease).await? {
        let lease = doc.lease()?;
        if lease.involves(owner.id()) {
            out.push(lease);
        }
    }
    out.sort_by_key(|l| (l.issued_at, l.id));
    Ok(axum::Json(
        crate::list::List::of(out, &q)?.map(LeaseView::from),
    ))
}

/// The lease `lease_id`, granted by this NHI.
async fn granted(
    s: &AppState,
    caller: &Caller,
    nhi_id: &str,
    lease_id: &str,
) -> ApiResult<(Lease, u64)> {
    let owner = owner(s, caller, nhi_id).await?;
    let (lease, version) = vault::load_lease(&s.store, &caller.tenant, lease_id).await?;
    if lease.nhi_id != owner.id() {
        return Err(ApiError::NotFound(format!("lease `{lease_id}` not found")));
    }
    Ok((lease, version))
}

/// Extend a lease from now, never past its maximum (409 beyond it).
#[utoipa::path(post, path = "/nhi/{nhi_id}/vault/leases/{lease_id}/renew", params(("nhi_id" = String, Path, description = "the NHI's id"), ("lease_id" = String, Path, description = "the lease's id")), tag = "vault", request_body = Renew,
    responses((status = 200, body = LeaseView), (status = 409, body = ErrorBody)))]
async fn renew_lease(
    State(s): State<AppState>,
    caller: Caller,
    Path((nhi_id, lease_id)): Path<(String, String)>,
    Json(b): Json<Renew>,
) -> ApiResult<axum::Json<LeaseView>> {
    s.vault.keys()?;
    let (mut lease, version) = granted(&s, &caller, &nhi_id, &lease_id).await?;
    let now = OffsetDateTime::now_utc();
    if !lease.active_at(now) {
        return Err(ApiError::Conflict(
            "the lease is revoked or expired: issue a new one".into(),
        ));
    }
    let ttl = b
        .ttl_seconds
        .map_or(lease.expires_at - lease.issued_at, |t| {
            time::Duration::seconds(i64::try_from(t).unwrap_or(i64::MAX))
        });
    let until = now + ttl;
    if until > lease.max_expires_at {
        return Err(ApiError::Conflict(format!(
            "a renewal cannot reach past the lease's maximum ({})",
            lease
                .max_expires_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        )));
    }
    lease.expires_at = until;
    vault::store_lease(&s.store, &lease, Some(version)).await?;
    Ok(axum::Json(lease.into()))
}

/// Revoke a lease at once.
#[utoipa::path(delete, path = "/nhi/{nhi_id}/vault/leases/{lease_id}", params(("nhi_id" = String, Path, description = "the NHI's id"), ("lease_id" = String, Path, description = "the lease's id")), tag = "vault",
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_lease(
    State(s): State<AppState>,
    caller: Caller,
    Path((nhi_id, lease_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.vault.keys()?;
    let (mut lease, version) = granted(&s, &caller, &nhi_id, &lease_id).await?;
    if lease.revoked_at.is_none() {
        lease.revoked_at = Some(OffsetDateTime::now_utc());
        lease.revoked_reason = Some("revoked".into());
        vault::store_lease(&s.store, &lease, Some(version)).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
