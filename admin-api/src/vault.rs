//! The vault's control plane: secrets of NHIs (sealed under the master keys before they are
//! stored), leases that let another NHI use a secret, and what lifecycle changes do to them.
//!
//! Without a usable master key every vault request answers 503 naming what is missing; the
//! rest of the API runs. Secret values are read from request bodies, sealed, and dropped
//! (zeroized): no response, log line or error message carries one.

use std::sync::Arc;
use std::time::Duration;

use portcullis_registry::vault::{Lease, Secret, SecretVersion, VaultDoc, VaultKind};
use portcullis_registry::{DynStore, StoreError};
use portcullis_vault::{Binding, MasterKeys, VaultError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Vault settings (`[vault]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VaultConfig {
    /// A key file of `<id> <base64 of 32 bytes>` lines (the last is current). The variable
    /// `VAULT_MASTER_KEY` gives the current key instead; the file's keys then open older
    /// versions.
    pub master_key_file: Option<std::path::PathBuf>,
    /// How long a secret's superseded versions are kept after a rotation, in seconds.
    pub keep_versions_secs: u64,
    /// The longest a lease may live from when it was issued, renewals included, in seconds.
    pub max_lease_ttl_secs: u64,
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self {
            master_key_file: None,
            keep_versions_secs: 24 * 3600,
            max_lease_ttl_secs: 24 * 3600,
        }
    }
}

/// The master keys (or why there are none) and the settings.
#[derive(Clone)]
pub struct Vault {
    keys: Result<Arc<MasterKeys>, VaultError>,
    pub config: VaultConfig,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("keys", &self.keys.as_ref().map(|k| k.current_id()))
            .finish_non_exhaustive()
    }
}

impl Vault {
    pub fn new(keys: Result<Arc<MasterKeys>, VaultError>, config: VaultConfig) -> Self {
        Self { keys, config }
    }

    /// The keys, or a 503 that says why there are none.
    pub(crate) fn keys(&self) -> ApiResult<&MasterKeys> {
        self.keys
            .as_deref()
            .map_err(|e| ApiError::VaultUnavailable(e.to_string()))
    }
}

/// The binding of one version of `secret`.
pub fn binding(secret: &Secret, version: u64) -> (String, String, String, u64) {
    (
        secret.tenant_id.clone(),
        secret.nhi_id.to_string(),
        secret.id.to_string(),
        version,
    )
}

pub(crate) fn seal(
    keys: &MasterKeys,
    secret: &Secret,
    version: u64,
    value: &[u8],
) -> ApiResult<SecretVersion> {
    let (tenant, nhi, id, version) = binding(secret, version);
    let sealed = keys
        .seal(
            &Binding {
                tenant: &tenant,
                nhi: &nhi,
                secret: &id,
                version,
            },
            value,
        )
        .map_err(|e| ApiError::Internal(format!("sealing a secret: {e}")))?;
    Ok(SecretVersion {
        version,
        sealed,
        created_at: OffsetDateTime::now_utc(),
        destroy_at: None,
    })
}

/// A secret and the version of its document.
pub(crate) async fn load_secret(
    store: &DynStore,
    tenant: &str,
    nhi: Uuid,
    id: &str,
) -> ApiResult<(Secret, u64)> {
    let not_found = || ApiError::NotFound(format!("secret `{id}` not found"));
    let doc = store
        .vault(tenant, VaultKind::Secret, id)
        .await?
        .ok_or_else(not_found)?;
    let secret = doc.secret()?;
    if secret.nhi_id != nhi {
        return Err(not_found());
    }
    Ok((secret, doc.version))
}

pub(crate) async fn load_lease(
    store: &DynStore,
    tenant: &str,
    id: &str,
) -> ApiResult<(Lease, u64)> {
    let doc = store
        .vault(tenant, VaultKind::Lease, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("lease `{id}` not found")))?;
    Ok((doc.lease()?, doc.version))
}

pub(crate) async fn store_secret(
    store: &DynStore,
    secret: &Secret,
    expected: Option<u64>,
) -> ApiResult<()> {
    let doc = VaultDoc::new(
        &secret.tenant_id,
        VaultKind::Secret,
        &secret.id.to_string(),
        secret,
    )?;
    store.put_vault(doc, expected).await?;
    Ok(())
}

pub(crate) async fn store_lease(
    store: &DynStore,
    lease: &Lease,
    expected: Option<u64>,
) -> ApiResult<()> {
    let doc = VaultDoc::new(
        &lease.tenant_id,
        VaultKind::Lease,
        &lease.id.to_string(),
        lease,
    )?;
    store.put_vault(doc, expected).await?;
    Ok(())
}

/// Revokes every active lease `nhi` holds or grants, at once (a lifecycle change, a deletion).
/// Returns how many were revoked.
pub async fn revoke_involving(
    store: &DynStore,
    tenant: &str,
    nhi: Uuid,
    reason: &str,
) -> Result<usize, StoreError> {
    let now = OffsetDateTime::now_utc();
    let mut revoked = 0;
    for mut current in store.vaults(tenant, VaultKind::Lease).await? {
        // A lease renewed meanwhile is read again and revoked all the same.
        for _ in 0..8 {
            let mut lease = current.lease()?;
            if !lease.involves(nhi) || lease.revoked_at.is_some() {
                break;
            }
            lease.revoked_at = Some(now);
            lease.revoked_reason = Some(reason.to_owned());
            let next = VaultDoc::new(tenant, VaultKind::Lease, &current.id, &lease)?;
            match store.put_vault(next, Some(current.version)).await {
                Ok(_) => {
                    revoked += 1;
                    break;
                }
                Err(StoreError::Conflict { .. }) => {
                    match store.vault(tenant, VaultKind::Lease, &current.id).await? {
                        Some(fresh) => current = fresh,
                        None => break,
                    }
                }
                Err(StoreError::NotFound(_)) => break,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(revoked)
}

/// Destroys the versions whose keeping time is over, in every tenant that has secrets.
/// Returns how many were destroyed.
pub async fn sweep(store: &DynStore) -> Result<usize, StoreError> {
    let now = OffsetDateTime::now_utc();
    let snapshot = store.snapshot().await?;
    let mut destroyed = 0;
    for doc in snapshot
        .vault
        .iter()
        .filter(|d| d.kind == VaultKind::Secret)
    {
        let mut secret = doc.secret()?;
        let before = secret.versions.len();
        secret
            .versions
            .retain(|v| v.destroy_at.is_none_or(|at| at > now));
        if secret.versions.len() == before {
            continue;
        }
        let n = before - secret.versions.len();
        let next = VaultDoc::new(&doc.tenant_id, VaultKind::Secret, &doc.id, &secret)?;
        match store.put_vault(next, Some(doc.version)).await {
            Ok(_) => destroyed += n,
            // Changed meanwhile: the next sweep sees the new document.
            Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(destroyed)
}

/// Re-wraps every secret version under the current master key. Returns how many moved.
pub async fn rewrap(store: &DynStore, keys: &MasterKeys) -> Result<usize, String> {
    let snapshot = store.snapshot().await.map_err(|e| e.to_string())?;
    let mut moved = 0;
    for doc in snapshot
        .vault
        .iter()
        .filter(|d| d.kind == VaultKind::Secret)
    {
        let mut secret = doc.secret().map_err(|e| e.to_string())?;
        let mut changed = 0;
        for i in 0..secret.versions.len() {
            let Some(version) = secret.versions.get(i) else {
                continue;
            };
            let (tenant, nhi, id, number) = binding(&secret, version.version);
            let bound = Binding {
                tenant: &tenant,
                nhi: &nhi,
                secret: &id,
                version: number,
            };
            let rewrapped = keys
                .rewrap(&bound, &version.sealed)
                .map_err(|e| format!("secret `{id}` version {number}: {e}"))?;
            if let (Some(sealed), Some(slot)) = (rewrapped, secret.versions.get_mut(i)) {
                slot.sealed = sealed;
                changed += 1;
            }
        }
        if changed > 0 {
            let next = VaultDoc::new(&doc.tenant_id, VaultKind::Secret, &doc.id, &secret)
                .map_err(|e| e.to_string())?;
            store
                .put_vault(next, Some(doc.version))
                .await
                .map_err(|e| format!("secret `{}`: {e} (run again)", doc.id))?;
            moved += changed;
        }
    }
    Ok(moved)
}

/// A lease as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct LeaseView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub lease: Lease,
    pub active: bool,
}

impl From<Lease> for LeaseView {
    fn from(lease: Lease) -> Self {
        Self {
            active: lease.active_at(OffsetDateTime::now_utc()),
            lease,
        }
    }
}

/// A secret as the API shows it: metadata only, never a value or a ciphertext.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SecretView {
    pub id: Uuid,
    pub nhi_id: Uuid,
    pub name: String,
    pub secret_type: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<OffsetDateTime>,
    pub rotation_interval_days: Option<u32>,
    /// When the next rotation is due (`rotation_interval_days` after the current version).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub rotation_due_at: Option<OffsetDateTime>,
    pub current_version: u64,
    #[schema(value_type = Vec<Object>)]
    pub versions: Vec<VersionView>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Serialize)]
pub(crate) struct VersionView {
    pub version: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub destroy_at: Option<OffsetDateTime>,
}

impl From<&Secret> for SecretView {
    fn from(s: &Secret) -> Self {
        let rotation_due_at = s
            .rotation_interval_days
            .zip(s.current())
            .map(|(days, v)| v.created_at + Duration::from_secs(u64::from(days) * 24 * 3600));
        Self {
            id: s.id,
            nhi_id: s.nhi_id,
            name: s.name.clone(),
            secret_type: s.secret_type.clone(),
            expires_at: s.expires_at,
            rotation_interval_days: s.rotation_interval_days,
            rotation_due_at,
            current_version: s.current_version,
            versions: s
                .versions
                .iter()
                .map(|v| VersionView {
                    version: v.version,
                    created_at: v.created_at,
                    destroy_at: v.destroy_at,
                })
                .collect(),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}
