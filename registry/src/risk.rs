//! Computed risk: a score from 0 to 100 per NHI, the sum of explainable factors.
//!
//! Each factor adds points and says why ([`Factor`]); the sum is capped at 100 and mapped to
//! a level (`low` < 25 ≤ `medium` < 50 ≤ `high` < 75 ≤ `critical`). The assessment is kept
//! on the record ([`Common::risk`](crate::Common::risk)), shown on its GET and given to
//! policies as `risk_score`. It is recomputed from a tenant's [`Facts`] whenever they may
//! have changed; a record is rewritten only when its assessment changed.

use std::collections::{HashMap, HashSet};

use portcullis_policy::RiskLevel;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::model::{Nhi, NhiKind, Relation};
use crate::vault::Secret;

/// One reason an NHI is risky, and how much it adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factor {
    pub factor: String,
    pub points: i64,
    pub detail: String,
}

/// An NHI's computed risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub score: i64,
    pub level: RiskLevel,
    pub factors: Vec<Factor>,
    #[serde(with = "time::serde::rfc3339")]
    pub computed_at: OffsetDateTime,
}

impl Assessment {
    /// Whether `other` says the same (the time it was computed aside).
    pub fn same_as(&self, other: &Self) -> bool {
        self.score == other.score && self.level == other.level && self.factors == other.factors
    }
}

/// The level of a score.
pub fn level_of(score: i64) -> RiskLevel {
    match score {
        ..25 => RiskLevel::Low,
        25..50 => RiskLevel::Medium,
        50..75 => RiskLevel::High,
        _ => RiskLevel::Critical,
    }
}

/// Tool categories that move money, data or infrastructure.
const RISKY_CATEGORIES: [&str; 5] = [
    "payments",
    "data-export",
    "admin",
    "infrastructure",
    "secrets",
];

/// What a tenant's risk is computed from.
#[derive(Debug, Default)]
pub struct Facts {
    pub nhis: Vec<Nhi>,
    /// Tool grants (agent or service account → tool).
    pub tool_grants: Vec<Relation>,
    /// Delegation edges (agent → agent).
    pub delegations: Vec<Relation>,
    pub secrets: Vec<Secret>,
    /// NHIs with an undecided item in an active campaign past its due date.
    pub certification_overdue: HashSet<Uuid>,
    /// Principal id → denials the gateway logged for it in the last 24 hours.
    pub denials_24h: HashMap<String, usize>,
}

/// Every NHI's assessment at `now`.
pub fn assess(f: &Facts, now: OffsetDateTime) -> HashMap<Uuid, Assessment> {
    let tools: HashMap<String, &Nhi> = f
        .nhis
        .iter()
        .filter(|n| n.kind() == NhiKind::Tool)
        .map(|n| (n.id().to_string(), n))
        .collect();
    let agents: HashMap<String, &Nhi> = f
        .nhis
        .iter()
        .filter(|n| n.kind() == NhiKind::Agent)
        .map(|n| (n.id().to_string(), n))
        .collect();
    f.nhis
        .iter()
        .map(|n| (n.id(), assess_one(f, n, &tools, &agents, now)))
        .collect()
}

fn assess_one(
    f: &Facts,
    nhi: &Nhi,
    tools: &HashMap<String, &Nhi>,
    agents: &HashMap<String, &Nhi>,
    now: OffsetDateTime,
) -> Assessment {
    let c = nhi.common();
    let id = c.id.to_string();
    let mut factors = Vec::new();
    let mut add = |factor: &str, points: i64, detail: String| {
        factors.push(Factor {
            factor: factor.to_owned(),
            points,
            detail,
        });
    };
    if c.owner_id.as_deref().is_none_or(str::is_empty) {
        add("no_owner", 15, "nobody owns it".into());
    }
    match c.last_used_at {
        Some(used) if now - used >= Duration::days(90) => add(
            "inactive",
            15,
            format!("unused for {} days", (now - used).whole_days()),
        ),
        Some(used) if now - used >= Duration::days(30) => add(
            "inactive",
            10,
            format!("unused for {} days", (now - used).whole_days()),
        ),
        None if now - c.created_at >= Duration::days(7) => add(
            "never_used",
            10,
            format!(
                "never used in the {} days since it was created",
                (now - c.created_at).whole_days()
            ),
        ),
        _ => {}
    }
    let active = c.lifecycle_state == portcullis_policy::Lifecycle::Active;
    for s in f.secrets.iter().filter(|s| s.nhi_id == c.id) {
        if let (Some(days), Some(current)) = (s.rotation_interval_days, s.current())
            && now - current.created_at > Duration::days(i64::from(days))
        {
            add(
                "secret_unrotated",
                15,
                format!(
                    "secret `{}` is past its {days}-day rotation interval",
                    s.name
                ),
            );
        }
        match s.expires_at {
            Some(at) if at <= now && active => add(
                "secret_expired",
                15,
                format!("secret `{}` has expired but its NHI is active", s.name),
            ),
            Some(at) if at > now && at - now <= Duration::days(7) => add(
                "secret_expiring",
                5,
                format!("secret `{}` expires within 7 days", s.name),
            ),
            _ => {}
        }
    }
    if nhi.kind() != NhiKind::Tool {
        let granted: Vec<&Nhi> = f
            .tool_grants
            .iter()
            .filter(|r| r.source == id)
            .filter_map(|r| tools.get(&r.target).copied())
            .collect();
        let risky_tool = |t: &&Nhi| match t {
            Nhi::Tool(t) => {
                matches!(t.common.risk_level, RiskLevel::High | RiskLevel::Critical)
                    || RISKY_CATEGORIES.contains(&t.fields.category.as_str())
            }
            _ => false,
        };
        let sensitive: Vec<&&Nhi> = granted
            .iter()
            .filter(|t| risky_tool(t) || matches!(t, Nhi::Tool(t) if t.fields.requires_approval))
            .collect();
        if !sensitive.is_empty() {
            let points = (5 * i64::try_from(sensitive.len()).unwrap_or(4)).min(20);
            add(
                "sensitive_grants",
                points,
                format!(
                    "granted {} high-risk or approval-requiring tool(s)",
                    sensitive.len()
                ),
            );
        }
        let self_approval = matches!(nhi, Nhi::Agent(a) if a.fields.requires_human_approval);
        let unguarded: Vec<String> = granted
            .iter()
            .filter(|t| risky_tool(t))
            .filter(|t| !matches!(t, Nhi::Tool(t) if t.fields.requires_approval))
            .map(|t| t.common().name.clone())
            .collect();
        if nhi.kind() == NhiKind::Agent && !self_approval && !unguarded.is_empty() {
            add(
                "unguarded_risky_tools",
                15,
                format!(
                    "reaches risky tools without an approval requirement: {}",
                    unguarded.join(", ")
                ),
            );
        }
    }
    if nhi.kind() == NhiKind::Agent {
        let reach = delegation_reach(&id, &f.delegations, agents);
        if reach > 0 {
            add(
                "delegation_reach",
                (3 * i64::try_from(reach).unwrap_or(5)).min(15),
                format!("can delegate to {reach} agent(s), directly or through others"),
            );
        }
    }
    if f.certification_overdue.contains(&c.id) {
        add(
            "certification_overdue",
            10,
            "its certification is past due".into(),
        );
    }
    let denials = f.denials_24h.get(&id).copied().unwrap_or(0);
    if denials >= 5 {
        add(
            "denial_burst",
            if denials >= 20 { 20 } else { 10 },
            format!("{denials} calls refused in the last 24 hours"),
        );
    }
    let score = factors.iter().map(|f| f.points).sum::<i64>().clamp(0, 100);
    Assessment {
        score,
        level: level_of(score),
        factors,
        computed_at: now,
    }
}

/// How many agents `from` reaches through delegation edges (each counted once).
fn delegation_reach(from: &str, edges: &[Relation], agents: &HashMap<String, &Nhi>) -> usize {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut frontier = vec![from];
    while let Some(next) = frontier.pop() {
        for e in edges.iter().filter(|e| e.source == next) {
            if e.target != from && agents.contains_key(&e.target) && seen.insert(&e.target) {
                frontier.push(&e.target);
            }
        }
    }
    seen.len()
}

#[cfg(test)]
mod tests;
