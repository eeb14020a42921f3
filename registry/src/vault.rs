//! Vault records: secrets (their metadata and sealed versions) and leases.
//!
//! The stores keep each as one versioned JSON document ([`VaultDoc`]) per tenant, written with
//! optimistic concurrency and carried in every [`Snapshot`](crate::Snapshot), so the gateway
//! opens secrets once per registry revision and never reads the store on a call. Values are
//! only ever stored sealed ([`portcullis_vault::Sealed`]).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::StoreError;

/// What a vault document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VaultKind {
    Secret,
    Lease,
    /// How an agent or service account authenticates at the token endpoint (id: the NHI's).
    Client,
}

impl VaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Secret => "secret",
            Self::Lease => "lease",
            Self::Client => "client",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "secret" => Some(Self::Secret),
            "lease" => Some(Self::Lease),
            "client" => Some(Self::Client),
            _ => None,
        }
    }
}

/// One stored vault document: its body is a [`Secret`] or a [`Lease`] as JSON, `version`
/// counts its writes (1 when created).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultDoc {
    pub tenant_id: String,
    pub kind: VaultKind,
    pub id: String,
    pub version: u64,
    pub body: String,
}

impl VaultDoc {
    /// A new document (version 0 until stored) for `record`.
    pub fn new<T: Serialize>(
        tenant_id: &str,
        kind: VaultKind,
        id: &str,
        record: &T,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            tenant_id: tenant_id.to_owned(),
            kind,
            id: id.to_owned(),
            version: 0,
            body: serde_json::to_string(record)?,
        })
    }

    pub fn secret(&self) -> Result<Secret, StoreError> {
        Ok(serde_json::from_str(&self.body)?)
    }

    pub fn lease(&self) -> Result<Lease, StoreError> {
        Ok(serde_json::from_str(&self.body)?)
    }

    pub fn client(&self) -> Result<ClientCredentials, StoreError> {
        Ok(serde_json::from_str(&self.body)?)
    }
}

/// How an agent or service account proves who it is at the token endpoint: a client
/// secret (kept only as its Argon2id hash) and/or a public key (a JWK) that verifies the
/// JWT assertions it signs (RFC 7523).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientCredentials {
    pub tenant_id: String,
    pub nhi_id: Uuid,
    #[serde(default)]
    pub secret_hash: Option<String>,
    #[serde(default)]
    pub public_jwk: Option<serde_json::Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A secret of an NHI: metadata, and its versions (sealed values, never plaintext).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Secret {
    pub id: Uuid,
    pub tenant_id: String,
    /// The NHI the secret belongs to.
    pub nhi_id: Uuid,
    pub name: String,
    pub secret_type: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub rotation_interval_days: Option<u32>,
    /// The version calls use.
    pub current_version: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Every version still kept, oldest first.
    #[serde(default)]
    pub versions: Vec<SecretVersion>,
}

impl Secret {
    /// The current version, if it is still kept.
    pub fn current(&self) -> Option<&SecretVersion> {
        self.versions
            .iter()
            .find(|v| v.version == self.current_version)
    }

    /// Whether the secret has passed its expiry at `now`.
    pub fn expired_at(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }
}

/// One version of a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretVersion {
    pub version: u64,
    pub sealed: portcullis_vault::Sealed,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When a superseded version is destroyed; `None` while it is current.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub destroy_at: Option<OffsetDateTime>,
}

/// A lease: `consumer_nhi_id` may use secret `secret_id` of NHI `nhi_id` until `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    pub id: Uuid,
    pub tenant_id: String,
    /// The NHI whose secret is leased (the grantor).
    pub nhi_id: Uuid,
    pub secret_id: Uuid,
    /// The NHI that may use it (the holder).
    pub consumer_nhi_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Renewals never reach past this.
    #[serde(with = "time::serde::rfc3339")]
    pub max_expires_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Why it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_reason: Option<String>,
}

impl Lease {
    /// Whether the lease allows use at `now`.
    pub fn active_at(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }

    /// Whether `nhi` holds or grants it.
    pub fn involves(&self, nhi: Uuid) -> bool {
        self.nhi_id == nhi || self.consumer_nhi_id == nhi
    }
}
