//! Step 8: inject — the credential an upstream needs, from the vault, presented only for a
//! caller who holds an active lease on it. The caller's own token never goes upstream.
//!
//! An upstream's configuration names a secret (by its name in the caller's tenant) and how
//! to present it (`header`, `format` with `{secret}`). Secrets are opened once per registry
//! revision, off the request path, and their presented headers kept in memory; a call only
//! looks up its tenant's header and checks the caller's lease (expiry included): no store
//! read, no key derivation. Values are never logged, audited, or put in an error.

use std::collections::HashMap;
use std::sync::Arc;

use http::{HeaderName, HeaderValue};
use portcullis_registry::vault::VaultKind;
use portcullis_registry::{Lifecycle, Nhi, Snapshot};
use portcullis_vault::{Binding, MasterKeys};
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::config::{CredentialConfig, GatewayConfig};
use crate::error::Error;

/// A credential as sent: the header and its value (marked sensitive: never printed).
pub(crate) struct Presented {
    pub(crate) header: HeaderName,
    pub(crate) value: HeaderValue,
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Presented({}: ..)", self.header)
    }
}

/// What the vault holds for one (tenant, upstream).
#[derive(Debug)]
enum Entry {
    Ready {
        secret: Uuid,
        presented: Arc<Presented>,
        expires_at: Option<OffsetDateTime>,
    },
    /// Why no credential can be presented (no such secret, two of that name, not openable…).
    Unusable(String),
}

/// One lease's window.
#[derive(Debug, Clone, Copy)]
struct Window {
    expires_at: OffsetDateTime,
    revoked: bool,
}

/// The credentials of one registry revision. Nested by tenant so a call looks them up with
/// borrowed keys, allocating nothing.
#[derive(Debug, Default)]
pub(crate) struct Credentials {
    /// Tenant → upstream → what it can present.
    by_upstream: HashMap<String, HashMap<String, Entry>>,
    /// Tenant → (holder, secret) → its leases.
    leases: HashMap<String, HashMap<(Uuid, Uuid), Vec<Window>>>,
}

impl Credentials {
    /// Opens what the configured upstreams need from `snapshot` (nothing without `keys`).
    pub(crate) fn build(
        snapshot: &Snapshot,
        config: &GatewayConfig,
        keys: Option<&MasterKeys>,
    ) -> Self {
        let mut out = Self::default();
        let wanted: Vec<(&str, &CredentialConfig)> = config
            .upstreams
            .iter()
            .filter_map(|u| Some((u.name.as_str(), u.credential.as_ref()?)))
            .chain(
                config
                    .a2a_upstreams
                    .iter()
                    .filter_map(|u| Some((u.name.as_str(), u.credential.as_ref()?))),
            )
            .collect();
        if wanted.is_empty() {
            return out;
        }
        let active: HashMap<Uuid, bool> = snapshot
            .nhis
            .iter()
            .map(|n: &Nhi| (n.id(), n.common().lifecycle_state == Lifecycle::Active))
            .collect();
        // (tenant, name) → every secret of that name.
        let mut secrets: HashMap<(String, String), Vec<portcullis_registry::vault::Secret>> =
            HashMap::new();
        for doc in &snapshot.vault {
            match doc.kind {
                VaultKind::Secret => {
                    if let Ok(secret) = doc.secret() {
                        secrets
                            .entry((secret.tenant_id.clone(), secret.name.clone()))
                            .or_default()
                            .push(secret);
                    }
                }
                VaultKind::Lease => {
                    if let Ok(lease) = doc.lease() {
                        out.leases
                            .entry(lease.tenant_id.clone())
                            .or_default()
                            .entry((lease.consumer_nhi_id, lease.secret_id))
                            .or_default()
                            .push(Window {
                                expires_at: lease.expires_at,
                                revoked: lease.revoked_at.is_some()
                                    || !active.get(&lease.nhi_id).copied().unwrap_or(false),
                            });
                    }
                }
                VaultKind::Client => {}
            }
        }
        let tenants: std::collections::BTreeSet<&str> =
            snapshot.nhis.iter().map(Nhi::tenant).collect();
        for tenant in tenants {
            for (upstream, wants) in &wanted {
                let entry = match secrets
                    .get(&(tenant.to_owned(), wants.secret.clone()))
                    .map(Vec::as_slice)
                {
                    None | Some([]) => Entry::Unusable(format!(
                        "upstream `{upstream}` needs the secret `{}`, which this tenant's vault does not hold",
                        wants.secret
                    )),
                    Some([secret]) => open(keys, secret, wants, upstream),
                    Some(_) => Entry::Unusable(format!(
                        "upstream `{upstream}` names the secret `{}`, which several NHIs of this tenant hold: rename all but one",
                        wants.secret
                    )),
                };
                out.by_upstream
                    .entry(tenant.to_owned())
                    .or_default()
                    .insert((*upstream).to_owned(), entry);
            }
        }
        out
    }

    /// The credential to present on `principal`'s requests to `upstream`: none when the
    /// upstream needs none; an error naming what is missing when it needs one the caller
    /// may not use (no active lease, an expired secret…).
    pub(crate) fn for_call(
        &self,
        tenant: &str,
        principal: &str,
        upstream: &str,
        needs: Option<&CredentialConfig>,
    ) -> Result<Option<Arc<Presented>>, Error> {
        let Some(needs) = needs else {
            return Ok(None);
        };
        let entry = self
            .by_upstream
            .get(tenant)
            .and_then(|upstreams| upstreams.get(upstream))
            .ok_or_else(|| {
                Error::Credential(format!(
                    "upstream `{upstream}` needs the secret `{}`, which this tenant's vault does not hold",
                    needs.secret
                ))
            })?;
        let (secret, presented, expires_at) = match entry {
            Entry::Ready {
                secret,
                presented,
                expires_at,
            } => (secret, presented, expires_at),
            Entry::Unusable(why) => return Err(Error::Credential(why.clone())),
        };
        let now = OffsetDateTime::now_utc();
        if expires_at.is_some_and(|e| e <= now) {
            return Err(Error::Credential(format!(
                "the secret `{}` that upstream `{upstream}` needs has expired",
                needs.secret
            )));
        }
        let leased = Uuid::parse_str(principal).is_ok_and(|holder| {
            self.leases
                .get(tenant)
                .and_then(|leases| leases.get(&(holder, *secret)))
                .is_some_and(|w| w.iter().any(|w| !w.revoked && now < w.expires_at))
        });
        if !leased {
            return Err(Error::Credential(format!(
                "no active lease on the secret `{}` for `{principal}`: upstream `{upstream}` needs it",
                needs.secret
            )));
        }
        Ok(Some(presented.clone()))
    }
}

/// The current version of `secret`, opened and presented as `wants` says.
fn open(
    keys: Option<&MasterKeys>,
    secret: &portcullis_registry::vault::Secret,
    wants: &CredentialConfig,
    upstream: &str,
) -> Entry {
    let unusable = |why: &str| {
        Entry::Unusable(format!(
            "upstream `{upstream}` needs the secret `{}`, which cannot be used now: {why}",
            wants.secret
        ))
    };
    let Some(keys) = keys else {
        return unusable("the gateway has no vault master key");
    };
    let Some(version) = secret.current() else {
        return unusable("its current version is missing");
    };
    let (tenant, nhi, id) = (
        secret.tenant_id.clone(),
        secret.nhi_id.to_string(),
        secret.id.to_string(),
    );
    let binding = Binding {
        tenant: &tenant,
        nhi: &nhi,
        secret: &id,
        version: version.version,
    };
    let plain = match keys.open(&binding, &version.sealed) {
        Ok(plain) => plain,
        Err(e) => {
            tracing::error!(%upstream, secret = %secret.id, "a secret does not open: {e}");
            return unusable("it does not open with the configured master keys");
        }
    };
    let Ok(text) = std::str::from_utf8(&plain) else {
        return unusable("it is not text");
    };
    let formatted = Zeroizing::new(wants.format.replace("{secret}", text));
    let Ok(header) = HeaderName::from_bytes(wants.header.as_bytes()) else {
        return unusable("the configured header name is invalid");
    };
    let Ok(mut value) = HeaderValue::from_str(&formatted) else {
        return unusable("its value cannot be sent in an HTTP header");
    };
    value.set_sensitive(true);
    Entry::Ready {
        secret: secret.id,
        presented: Arc::new(Presented { header, value }),
        expires_at: secret.expires_at,
    }
}
