//! Certification campaigns: a periodic review in which a reviewer certifies or revokes each
//! NHI in scope.
//!
//! A campaign is created in `draft`, launched (`active`, with one [`Item`] per NHI in scope),
//! and `completed` once every item is decided; `cancelled` ends a draft or active one. Items
//! still open at the due date are decided by the campaign's [`DueRule`]. Campaigns are
//! governance documents (see [`Store::put_doc`](crate::Store::put_doc)): writing one moves
//! no registry revision; the remediation a revoke makes (lifecycle, grants, leases) does.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::model::NhiKind;
use portcullis_policy::RiskLevel;

/// The document kind campaigns are stored under.
pub const DOC_KIND: &str = "campaign";

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Active,
    Completed,
    Cancelled,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// What becomes of an item nobody decided by the due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueRule {
    /// Revoked, with the same remediation as a reviewer's revoke (the default: access nobody
    /// vouches for is removed).
    #[default]
    Revoke,
    /// Certified as it is.
    Certify,
}

/// A reviewer's (or the due-date rule's) decision on one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Certified,
    Revoked,
}

/// Which NHIs a campaign reviews, besides their kinds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Only NHIs rated at least this risky.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_min: Option<RiskLevel>,
    /// Only NHIs unused (or, never used, created) at least this many days ago.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_days: Option<u32>,
}

/// A tool an NHI may call (or, for a tool, an NHI that may call it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    pub name: String,
    /// Whether the gateway saw it used in the last 30 days.
    pub used_30_days: bool,
}

/// One NHI under review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub nhi_id: Uuid,
    pub nhi_type: NhiKind,
    pub name: String,
    /// Who decides it: the campaign's reviewer, else the NHI's owner (an admin always may).
    pub reviewer_id: Option<String>,
    pub grants: Vec<Grant>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// Grants not used in the last 30 days (ids).
    pub unused_grants: Vec<String>,
    pub decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    /// Decided by the due-date rule, not a person.
    #[serde(default)]
    pub by_rule: bool,
}

/// A certification campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: Uuid,
    pub tenant_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub nhi_types: Vec<NhiKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub due_date: OffsetDateTime,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub due_rule: DueRule,
    pub status: CampaignStatus,
    #[serde(default)]
    pub items: Vec<Item>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub launched_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// The stored version (not part of the document).
    #[serde(skip)]
    pub version: u64,
}

impl Campaign {
    /// Launches a draft with these items; with none it is completed at once.
    pub fn launch(&mut self, items: Vec<Item>, now: OffsetDateTime) -> Result<(), String> {
        if self.status != CampaignStatus::Draft {
            return Err(format!(
                "only a draft campaign can be launched; this one is {}",
                self.status.as_str()
            ));
        }
        self.items = items;
        self.status = CampaignStatus::Active;
        self.launched_at = Some(now);
        self.complete_if_decided(now);
        Ok(())
    }

    /// Records a decision on the item of `nhi`. `Err` names why it cannot be made: the
    /// campaign is not active, the NHI is not in it, or its item is decided already.
    pub fn decide(
        &mut self,
        nhi: Uuid,
        decision: Decision,
        by: &str,
        comment: Option<String>,
        by_rule: bool,
        now: OffsetDateTime,
    ) -> Result<&Item, DecideError> {
        if self.status != CampaignStatus::Active {
            return Err(DecideError::NotActive(self.status));
        }
        let item = self
            .items
            .iter_mut()
            .find(|i| i.nhi_id == nhi)
            .ok_or(DecideError::NotInCampaign)?;
        if let Some(d) = item.decision {
            return Err(DecideError::Decided(d));
        }
        item.decision = Some(decision);
        item.decided_by = Some(by.to_owned());
        item.decided_at = Some(now);
        item.comment = comment;
        item.by_rule = by_rule;
        let decided = item.clone();
        self.complete_if_decided(now);
        self.items
            .iter()
            .find(|i| i.nhi_id == decided.nhi_id)
            .ok_or(DecideError::NotInCampaign)
    }

    /// Ends a draft or active campaign.
    pub fn cancel(&mut self, now: OffsetDateTime) -> Result<(), String> {
        match self.status {
            CampaignStatus::Draft | CampaignStatus::Active => {
                self.status = CampaignStatus::Cancelled;
                self.ended_at = Some(now);
                Ok(())
            }
            other => Err(format!("a {} campaign cannot be cancelled", other.as_str())),
        }
    }

    /// The items nobody decided, once the campaign is past its due date.
    pub fn overdue(&self, now: OffsetDateTime) -> Vec<Uuid> {
        if self.status != CampaignStatus::Active || now < self.due_date {
            return Vec::new();
        }
        self.items
            .iter()
            .filter(|i| i.decision.is_none())
            .map(|i| i.nhi_id)
            .collect()
    }

    fn complete_if_decided(&mut self, now: OffsetDateTime) {
        if self.status == CampaignStatus::Active && self.items.iter().all(|i| i.decision.is_some())
        {
            self.status = CampaignStatus::Completed;
            self.ended_at = Some(now);
        }
    }

    /// How many items are decided, and how many there are.
    pub fn progress(&self) -> (usize, usize) {
        let decided = self.items.iter().filter(|i| i.decision.is_some()).count();
        (decided, self.items.len())
    }
}

/// Why a decision cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    #[error("the campaign is {}, not active", .0.as_str())]
    NotActive(CampaignStatus),
    #[error("the NHI is not part of this campaign")]
    NotInCampaign,
    #[error("the NHI is decided already ({0:?})")]
    Decided(Decision),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign() -> Campaign {
        Campaign {
            id: Uuid::nil(),
            tenant_id: "t".into(),
            name: "q3".into(),
            description: String::new(),
            nhi_types: vec![NhiKind::Agent],
            reviewer_id: None,
            due_date: OffsetDateTime::UNIX_EPOCH + time::Duration::days(10),
            scope: Scope::default(),
            due_rule: DueRule::Revoke,
            status: CampaignStatus::Draft,
            items: Vec::new(),
            created_by: "alice".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            launched_at: None,
            ended_at: None,
            version: 0,
        }
    }

    fn item(n: u128) -> Item {
        Item {
            nhi_id: Uuid::from_u128(n),
            nhi_type: NhiKind::Agent,
            name: format!("a{n}"),
            reviewer_id: None,
            grants: Vec::new(),
            last_used_at: None,
            unused_grants: Vec::new(),
            decision: None,
            comment: None,
            decided_by: None,
            decided_at: None,
            by_rule: false,
        }
    }

    #[test]
    fn draft_active_completed() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut c = campaign();
        assert_eq!(
            c.decide(
                Uuid::from_u128(1),
                Decision::Certified,
                "bob",
                None,
                false,
                now
            )
            .unwrap_err(),
            DecideError::NotActive(CampaignStatus::Draft)
        );
        c.launch(vec![item(1), item(2)], now).unwrap();
        assert!(c.launch(Vec::new(), now).is_err(), "launched once");
        c.decide(
            Uuid::from_u128(1),
            Decision::Certified,
            "bob",
            None,
            false,
            now,
        )
        .unwrap();
        assert_eq!(
            c.decide(
                Uuid::from_u128(1),
                Decision::Revoked,
                "bob",
                None,
                false,
                now
            )
            .unwrap_err(),
            DecideError::Decided(Decision::Certified)
        );
        assert_eq!(
            c.decide(
                Uuid::from_u128(9),
                Decision::Revoked,
                "bob",
                None,
                false,
                now
            )
            .unwrap_err(),
            DecideError::NotInCampaign
        );
        assert_eq!(c.status, CampaignStatus::Active);
        c.decide(
            Uuid::from_u128(2),
            Decision::Revoked,
            "bob",
            None,
            false,
            now,
        )
        .unwrap();
        assert_eq!(c.status, CampaignStatus::Completed);
        assert_eq!(c.progress(), (2, 2));
        assert!(
            c.cancel(now).is_err(),
            "a completed campaign stays completed"
        );
    }

    #[test]
    fn empty_scope_completes_at_launch_and_cancel_ends_drafts() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut c = campaign();
        c.launch(Vec::new(), now).unwrap();
        assert_eq!(c.status, CampaignStatus::Completed);
        let mut d = campaign();
        d.cancel(now).unwrap();
        assert_eq!(d.status, CampaignStatus::Cancelled);
        assert!(d.launch(Vec::new(), now).is_err());
    }

    #[test]
    fn only_open_items_of_an_active_campaign_are_overdue() {
        let mut c = campaign();
        let start = OffsetDateTime::UNIX_EPOCH;
        c.launch(vec![item(1), item(2)], start).unwrap();
        c.decide(
            Uuid::from_u128(1),
            Decision::Certified,
            "bob",
            None,
            false,
            start,
        )
        .unwrap();
        assert!(c.overdue(start).is_empty(), "not yet due");
        let late = c.due_date + time::Duration::seconds(1);
        assert_eq!(c.overdue(late), vec![Uuid::from_u128(2)]);
    }
}
