//! Human approvals: a call the policies hold until a person approves exactly that call.
//!
//! An [`Approval`] is bound to one call — tenant, principal, delegation chain, the user it is
//! made for, the target and the SHA-256 of the canonical arguments — by its `binding` (the
//! SHA-256 of those fields). At most one approval per binding is live at a time (pending,
//! approved or denied, and unexpired); an approved one lets exactly one identical call
//! through and is then consumed. Approvals are not registry records: writing one moves no
//! revision and reaches no snapshot, and the gateway reads them from the store only for the
//! calls that need one.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

/// How approvals behave (`[approvals]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalConfig {
    /// How long a request may wait for a decision, in seconds.
    pub ttl_secs: u64,
    /// How long an approval may be used once given, in seconds.
    pub use_within_secs: u64,
    /// How long the gateway holds a call open for a decision, in milliseconds (0: it answers
    /// at once that approval is required).
    pub hold_ms: u64,
    /// How many approvals one principal may have pending at once (more are refused).
    pub max_pending_per_principal: usize,
    /// How long spent (consumed, denied, expired) approvals are kept, in seconds.
    pub keep_secs: u64,
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        Self {
            ttl_secs: 3600,
            use_within_secs: 900,
            hold_ms: 3000,
            max_pending_per_principal: 100,
            keep_secs: 30 * 24 * 3600,
        }
    }
}

/// Where an approval stands. `expired` is not stored: a pending or approved approval past
/// its `expires_at` is expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Denied,
    /// Approved, and the one call it allowed has gone through.
    Consumed,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Consumed => "consumed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "denied" => Self::Denied,
            "consumed" => Self::Consumed,
            _ => return None,
        })
    }
}

/// The call an approval is for: everything its binding covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalSubject {
    pub tenant_id: String,
    /// The acting agent or service account.
    pub principal_id: String,
    /// Earlier agents of its delegation chain, earliest first.
    #[serde(default)]
    pub chain: Vec<String>,
    /// The user the call is made for, if any.
    #[serde(default)]
    pub on_behalf_of: Option<String>,
    /// The policy action (`call_tool`, ...).
    pub action: String,
    /// The registry id of the tool (or the server's target) the call acts on.
    pub target_id: String,
    /// SHA-256 (hex) of the arguments' canonical JSON.
    pub arguments_sha256: String,
}

impl ApprovalSubject {
    /// The binding: SHA-256 (hex) over every field, each length-prefixed, so no two
    /// different subjects share one.
    pub fn binding(&self) -> String {
        let mut h = Sha256::new();
        let mut field = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        field(&self.tenant_id);
        field(&self.principal_id);
        field(&self.chain.len().to_string());
        for actor in &self.chain {
            field(actor);
        }
        field(self.on_behalf_of.as_deref().map_or("-", |_| "+"));
        field(self.on_behalf_of.as_deref().unwrap_or_default());
        field(&self.action);
        field(&self.target_id);
        field(&self.arguments_sha256);
        h.finalize()
            .iter()
            .fold(String::with_capacity(64), |mut out, b| {
                use std::fmt::Write as _;
                let _ = write!(out, "{b:02x}");
                out
            })
    }
}

/// One approval request and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub id: Uuid,
    #[serde(flatten)]
    pub subject: ApprovalSubject,
    /// [`ApprovalSubject::binding`] of `subject`.
    pub binding: String,
    /// The name the caller used for the target (the tool's exposed name).
    pub target_name: String,
    /// The arguments, as decided on (shown to approvers with secret fields masked).
    pub arguments: serde_json::Value,
    /// The policies that asked for the approval.
    #[serde(default)]
    pub policies: Vec<String>,
    pub status: ApprovalStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Pending: until when it may be decided; approved: until when its call may be made.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    /// The approver (a token subject).
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub consumed_at: Option<OffsetDateTime>,
    /// Counts its writes (1 when created); the store sets it.
    #[serde(skip)]
    pub version: u64,
}

impl Approval {
    /// A new pending approval for `subject`, open until `expires_at`.
    pub fn pending(
        subject: ApprovalSubject,
        target_name: String,
        arguments: serde_json::Value,
        policies: Vec<String>,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Self {
        Self {
            id: Uuid::new_v4(),
            binding: subject.binding(),
            subject,
            target_name,
            arguments,
            policies,
            status: ApprovalStatus::Pending,
            created_at: now,
            expires_at,
            decided_at: None,
            decided_by: None,
            comment: None,
            consumed_at: None,
            version: 0,
        }
    }

    pub fn tenant(&self) -> &str {
        &self.subject.tenant_id
    }

    /// Whether it still stands for its binding at `now`: not consumed, not expired (a
    /// denied one stands until it expires: the same call is not asked again before).
    pub fn live_at(&self, now: OffsetDateTime) -> bool {
        self.status != ApprovalStatus::Consumed && now < self.expires_at
    }

    /// Its state as shown: the stored status, or `expired` for a pending or approved one
    /// past its expiry.
    pub fn state_at(&self, now: OffsetDateTime) -> &'static str {
        match self.status {
            ApprovalStatus::Pending | ApprovalStatus::Approved if now >= self.expires_at => {
                "expired"
            }
            s => s.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> ApprovalSubject {
        ApprovalSubject {
            tenant_id: "acme".into(),
            principal_id: "a-1".into(),
            chain: vec!["planner".into()],
            on_behalf_of: Some("alice".into()),
            action: "call_tool".into(),
            target_id: "t-1".into(),
            arguments_sha256: "00ff".into(),
        }
    }

    #[test]
    fn every_field_is_in_the_binding() {
        let base = subject().binding();
        assert_eq!(base, subject().binding(), "stable");
        let changes: [fn(&mut ApprovalSubject); 8] = [
            |s| s.tenant_id = "globex".into(),
            |s| s.principal_id = "a-2".into(),
            |s| s.chain.clear(),
            |s| s.chain.push("x".into()),
            |s| s.on_behalf_of = None,
            |s| s.on_behalf_of = Some(String::new()),
            |s| s.target_id = "t-2".into(),
            |s| s.arguments_sha256 = "00fe".into(),
        ];
        for change in changes {
            let mut s = subject();
            change(&mut s);
            assert_ne!(s.binding(), base, "{s:?}");
        }
        // Length prefixes: moving a byte between fields changes the binding.
        let mut a = subject();
        a.principal_id = "a-1p".into();
        a.chain = vec!["lanner".into()];
        assert_ne!(a.binding(), base);
    }

    #[test]
    fn expiry_and_liveness() {
        let now = OffsetDateTime::now_utc();
        let mut a = Approval::pending(
            subject(),
            "files_write".into(),
            serde_json::json!({}),
            vec![],
            now,
            now + time::Duration::minutes(5),
        );
        assert!(a.live_at(now));
        assert_eq!(a.state_at(now), "pending");
        let later = now + time::Duration::minutes(6);
        assert!(!a.live_at(later));
        assert_eq!(a.state_at(later), "expired");
        a.status = ApprovalStatus::Denied;
        assert!(a.live_at(now), "a denial stands until it expires");
        assert_eq!(a.state_at(later), "denied");
        a.status = ApprovalStatus::Consumed;
        assert!(!a.live_at(now));
    }
}
