//! Every factor, alone and summed.

use std::collections::HashMap;

use portcullis_policy::{Lifecycle, RiskLevel};
use time::{Duration, OffsetDateTime};

use super::*;
use crate::model::{Agent, AgentFields, Common, RelationKind, ServiceAccount, Tool, ToolFields};
use crate::vault::SecretVersion;

fn now() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::days(1000)
}

/// An owned agent, used yesterday: no factor applies.
fn agent(name: &str) -> Nhi {
    let mut common = Common::new("t", name);
    common.owner_id = Some("olivia".into());
    common.created_at = now() - Duration::days(100);
    common.last_used_at = Some(now() - Duration::days(1));
    Nhi::Agent(Agent {
        common,
        fields: AgentFields::default(),
    })
}

fn tool(name: &str, category: &str, risk: RiskLevel, requires_approval: bool) -> Nhi {
    let mut common = Common::new("t", name);
    common.owner_id = Some("olivia".into());
    common.risk_level = risk;
    common.created_at = now() - Duration::days(100);
    common.last_used_at = Some(now() - Duration::days(1));
    Nhi::Tool(Tool {
        common,
        fields: ToolFields {
            category: category.into(),
            requires_approval,
            ..ToolFields::default()
        },
    })
}

fn secret(
    owner: &Nhi,
    rotated_days_ago: i64,
    interval: Option<u32>,
    expires_in: Option<i64>,
) -> Secret {
    let sealed = portcullis_vault::Sealed {
        key_id: "k".into(),
        wrapped_key: String::new(),
        key_nonce: String::new(),
        ciphertext: String::new(),
        nonce: String::new(),
    };
    Secret {
        id: Uuid::now_v7(),
        tenant_id: "t".into(),
        nhi_id: owner.id(),
        name: "api-key".into(),
        secret_type: "api_key".into(),
        expires_at: expires_in.map(|d| now() + Duration::days(d)),
        rotation_interval_days: interval,
        current_version: 1,
        created_at: now() - Duration::days(400),
        updated_at: now(),
        versions: vec![SecretVersion {
            version: 1,
            sealed,
            created_at: now() - Duration::days(rotated_days_ago),
            destroy_at: None,
        }],
    }
}

fn grant(from: &Nhi, to: &Nhi, kind: RelationKind) -> Relation {
    Relation::new("t", kind, &from.id().to_string(), &to.id().to_string())
}

/// The factors of `nhi` in these facts: (name, points).
fn factors(f: &Facts, nhi: &Nhi) -> Vec<(String, i64)> {
    let a = assess(f, now());
    a[&nhi.id()]
        .factors
        .iter()
        .map(|x| (x.factor.clone(), x.points))
        .collect()
}

fn only(nhi: Nhi) -> (Facts, Nhi) {
    (
        Facts {
            nhis: vec![nhi.clone()],
            ..Facts::default()
        },
        nhi,
    )
}

#[test]
fn a_well_kept_nhi_scores_zero() {
    let (f, a) = only(agent("tidy"));
    let assessed = &assess(&f, now())[&a.id()];
    assert_eq!(assessed.score, 0);
    assert_eq!(assessed.level, RiskLevel::Low);
    assert!(assessed.factors.is_empty());
}

#[test]
fn no_owner() {
    let mut a = agent("orphan");
    a.common_mut().owner_id = None;
    let (f, a) = only(a);
    assert_eq!(factors(&f, &a), [("no_owner".to_owned(), 15)]);
}

#[test]
fn inactive_and_never_used() {
    let mut idle = agent("idle");
    idle.common_mut().last_used_at = Some(now() - Duration::days(45));
    let mut gone = agent("gone");
    gone.common_mut().last_used_at = Some(now() - Duration::days(120));
    let mut never = agent("never");
    never.common_mut().last_used_at = None;
    let mut fresh = agent("fresh");
    fresh.common_mut().last_used_at = None;
    fresh.common_mut().created_at = now() - Duration::days(2);
    let f = Facts {
        nhis: vec![idle.clone(), gone.clone(), never.clone(), fresh.clone()],
        ..Facts::default()
    };
    assert_eq!(factors(&f, &idle), [("inactive".to_owned(), 10)]);
    assert_eq!(factors(&f, &gone), [("inactive".to_owned(), 15)]);
    assert_eq!(factors(&f, &never), [("never_used".to_owned(), 10)]);
    assert!(factors(&f, &fresh).is_empty(), "new, not yet idle");
}

#[test]
fn secrets_unrotated_expired_and_expiring() {
    let a = agent("holder");
    let mut f = Facts {
        nhis: vec![a.clone()],
        secrets: vec![secret(&a, 100, Some(90), None)],
        ..Facts::default()
    };
    assert_eq!(factors(&f, &a), [("secret_unrotated".to_owned(), 15)]);
    f.secrets = vec![secret(&a, 10, Some(90), Some(-1))];
    assert_eq!(factors(&f, &a), [("secret_expired".to_owned(), 15)]);
    f.secrets = vec![secret(&a, 10, Some(90), Some(3))];
    assert_eq!(factors(&f, &a), [("secret_expiring".to_owned(), 5)]);
    f.secrets = vec![secret(&a, 10, Some(90), Some(30))];
    assert!(factors(&f, &a).is_empty());
    // Expired, but the NHI is suspended: not active, not counted.
    let mut benched = agent("benched");
    benched.common_mut().lifecycle_state = Lifecycle::Suspended;
    f.nhis = vec![benched.clone()];
    f.secrets = vec![secret(&benched, 10, None, Some(-1))];
    assert!(factors(&f, &benched).is_empty());
}

#[test]
fn sensitive_grants_and_unguarded_risky_tools() {
    let a = agent("payer");
    let pay = tool("pay", "payments", RiskLevel::Low, false);
    let wire = tool("wire", "banking", RiskLevel::Critical, true);
    let read = tool("read", "files", RiskLevel::Low, false);
    let f = Facts {
        nhis: vec![a.clone(), pay.clone(), wire.clone(), read.clone()],
        tool_grants: vec![
            grant(&a, &pay, RelationKind::ToolGrant),
            grant(&a, &wire, RelationKind::ToolGrant),
            grant(&a, &read, RelationKind::ToolGrant),
        ],
        ..Facts::default()
    };
    assert_eq!(
        factors(&f, &a),
        [
            ("sensitive_grants".to_owned(), 10),
            ("unguarded_risky_tools".to_owned(), 15)
        ]
    );
    let detail = &assess(&f, now())[&a.id()].factors[1].detail;
    assert!(
        detail.contains("pay") && !detail.contains("wire"),
        "{detail}"
    );
    // An agent that itself requires approval is guarded.
    let mut careful = agent("careful");
    if let Nhi::Agent(x) = &mut careful {
        x.fields.requires_human_approval = true;
    }
    let f = Facts {
        nhis: vec![careful.clone(), pay.clone()],
        tool_grants: vec![grant(&careful, &pay, RelationKind::ToolGrant)],
        ..Facts::default()
    };
    assert_eq!(factors(&f, &careful), [("sensitive_grants".to_owned(), 5)]);
    // A service account is not an agent: sensitive grants only.
    let mut sa = Common::new("t", "batch");
    sa.owner_id = Some("o".into());
    sa.last_used_at = Some(now());
    let sa = Nhi::ServiceAccount(ServiceAccount {
        common: sa,
        purpose: String::new(),
    });
    let f = Facts {
        nhis: vec![sa.clone(), pay.clone()],
        tool_grants: vec![grant(&sa, &pay, RelationKind::ToolGrant)],
        ..Facts::default()
    };
    assert_eq!(factors(&f, &sa), [("sensitive_grants".to_owned(), 5)]);
}

#[test]
fn delegation_reach_counts_each_agent_once() {
    let (a, b, c) = (agent("a"), agent("b"), agent("c"));
    let f = Facts {
        nhis: vec![a.clone(), b.clone(), c.clone()],
        delegations: vec![
            grant(&a, &b, RelationKind::Delegation),
            grant(&b, &c, RelationKind::Delegation),
            grant(&c, &a, RelationKind::Delegation),
            grant(&a, &c, RelationKind::Delegation),
        ],
        ..Facts::default()
    };
    assert_eq!(factors(&f, &a), [("delegation_reach".to_owned(), 6)]);
}

#[test]
fn certification_overdue_and_denial_bursts() {
    let a = agent("a");
    let mut f = Facts {
        nhis: vec![a.clone()],
        ..Facts::default()
    };
    f.certification_overdue.insert(a.id());
    assert_eq!(factors(&f, &a), [("certification_overdue".to_owned(), 10)]);
    f.certification_overdue.clear();
    f.denials_24h = HashMap::from([(a.id().to_string(), 4)]);
    assert!(factors(&f, &a).is_empty(), "a few denials are noise");
    f.denials_24h = HashMap::from([(a.id().to_string(), 7)]);
    assert_eq!(factors(&f, &a), [("denial_burst".to_owned(), 10)]);
    f.denials_24h = HashMap::from([(a.id().to_string(), 25)]);
    assert_eq!(factors(&f, &a), [("denial_burst".to_owned(), 20)]);
}

#[test]
fn factors_add_up_and_cap_at_100() {
    let mut a = agent("worst");
    a.common_mut().owner_id = None;
    a.common_mut().last_used_at = Some(now() - Duration::days(200));
    let pay = tool("pay", "payments", RiskLevel::High, false);
    let others: Vec<Nhi> = (0..6).map(|i| agent(&format!("d{i}"))).collect();
    let mut f = Facts {
        nhis: [vec![a.clone(), pay.clone()], others.clone()].concat(),
        tool_grants: vec![grant(&a, &pay, RelationKind::ToolGrant)],
        delegations: others
            .iter()
            .map(|o| grant(&a, o, RelationKind::Delegation))
            .collect(),
        secrets: vec![secret(&a, 400, Some(30), Some(-5))],
        ..Facts::default()
    };
    f.certification_overdue.insert(a.id());
    f.denials_24h.insert(a.id().to_string(), 50);
    let assessed = &assess(&f, now())[&a.id()];
    let sum: i64 = assessed.factors.iter().map(|x| x.points).sum();
    assert!(sum > 100, "{sum}");
    assert_eq!(assessed.score, 100);
    assert_eq!(assessed.level, RiskLevel::Critical);
    assert_eq!(level_of(24), RiskLevel::Low);
    assert_eq!(level_of(25), RiskLevel::Medium);
    assert_eq!(level_of(50), RiskLevel::High);
    assert_eq!(level_of(75), RiskLevel::Critical);
}
