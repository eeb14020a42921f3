//! Governance actions the admin API takes on the registry: remediation (what a revoke in a
//! certification campaign does), the facts a review shows (grants, their use), the
//! due-date rule, and admin audit events.

use std::collections::HashSet;

use portcullis_registry::campaign::{self, Campaign, Decision, Grant, Item};
use portcullis_registry::{
    AuditRecord, DynStore, Lifecycle, Nhi, NhiKind, RelationKind, StoreError,
};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

/// How many recent audit events the usage facts are read from.
const USAGE_WINDOW_EVENTS: usize = 20_000;

/// What a remediation did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Remediation {
    /// The lifecycle state the NHI was left in.
    pub lifecycle: Option<String>,
    pub grants_removed: usize,
    pub edges_removed: usize,
    pub leases_revoked: usize,
}

/// Takes an NHI's access away: an active or inactive NHI becomes `deprecated` (a suspended
/// one stays suspended: it cannot act either), its tool grants (either side) and its calling
/// and delegation edges (either side) are removed, and every lease it holds or grants is
/// revoked. The gateway refuses its next call once the change reaches it.
pub async fn remediate(
    store: &DynStore,
    tenant: &str,
    nhi: Uuid,
    reason: &str,
) -> Result<Remediation, StoreError> {
    let mut done = Remediation::default();
    for _ in 0..8 {
        let Some(current) = store.get_nhi(tenant, nhi).await? else {
            return Ok(done);
        };
        let from = current.common().lifecycle_state;
        if !matches!(from, Lifecycle::Active | Lifecycle::Inactive) {
            done.lifecycle = Some(from.as_str().to_owned());
            break;
        }
        let mut next = current.clone();
        let c = next.common_mut();
        c.lifecycle_state = Lifecycle::Deprecated;
        c.lifecycle_reason = Some(reason.to_owned());
        c.updated_at = OffsetDateTime::now_utc();
        match store.update_nhi(next, current.version()).await {
            Ok(_) => {
                done.lifecycle = Some(Lifecycle::Deprecated.as_str().to_owned());
                break;
            }
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let id = nhi.to_string();
    for kind in [
        RelationKind::ToolGrant,
        RelationKind::Calling,
        RelationKind::Delegation,
    ] {
        let mut seen = store.relations(tenant, kind, Some(&id), None).await?;
        seen.extend(store.relations(tenant, kind, None, Some(&id)).await?);
        for r in seen {
            if store.delete_relation(&r).await? {
                match kind {
                    RelationKind::ToolGrant => done.grants_removed += 1,
                    _ => done.edges_removed += 1,
                }
            }
        }
    }
    done.leases_revoked = crate::vault::revoke_involving(store, tenant, nhi, reason).await?;
    Ok(done)
}

/// The (principal, tool name) pairs the gateway allowed in the last 30 days, from the most
/// recent audit events (at most [`USAGE_WINDOW_EVENTS`]).
async fn recent_uses(
    store: &DynStore,
    tenant: &str,
    now: OffsetDateTime,
) -> Result<HashSet<(String, String)>, StoreError> {
    let since = ms(now - time::Duration::days(30));
    let events = store.audit(tenant, USAGE_WINDOW_EVENTS).await?;
    Ok(events
        .iter()
        .filter(|r| r.at_ms >= since)
        .filter_map(|r| serde_json::from_str::<Value>(r.event.get()).ok())
        .filter(|e| {
            matches!(
                e.get("decision").and_then(Value::as_str),
                Some("allow" | "approved")
            )
        })
        .filter_map(|e| {
            Some((
                e.get("principal")?.as_str()?.to_owned(),
                e.get("tool")?.as_str()?.to_owned(),
            ))
        })
        .collect())
}

/// One item per NHI: its grants, when each was last used, and who reviews it.
pub(crate) async fn items(
    store: &DynStore,
    campaign: &Campaign,
    nhis: &[Nhi],
    now: OffsetDateTime,
) -> Result<Vec<Item>, StoreError> {
    let tenant = &campaign.tenant_id;
    let uses = recent_uses(store, tenant, now).await?;
    let tools: std::collections::HashMap<String, (String, Option<String>)> = store
        .list_nhis(tenant, NhiKind::Tool)
        .await?
        .into_iter()
        .map(|t| {
            let upstream = match &t {
                Nhi::Tool(tool) => tool.fields.upstream.clone(),
                _ => None,
            };
            (t.id().to_string(), (t.common().name.clone(), upstream))
        })
        .collect();
    let names: std::collections::HashMap<String, String> = nhis
        .iter()
        .map(|n| (n.id().to_string(), n.common().name.clone()))
        .collect();
    let mut out = Vec::with_capacity(nhis.len());
    for nhi in nhis {
        let id = nhi.id().to_string();
        let grants = match nhi.kind() {
            NhiKind::Tool => store
                .relations(tenant, RelationKind::ToolGrant, None, Some(&id))
                .await?
                .into_iter()
                .map(|r| {
                    let used = uses
                        .iter()
                        .any(|(p, t)| *p == r.source && exposed_matches(t, &nhi.common().name));
                    Grant {
                        name: names.get(&r.source).cloned().unwrap_or_default(),
                        id: r.source,
                        used_30_days: used,
                    }
                })
                .collect::<Vec<_>>(),
            _ => store
                .relations(tenant, RelationKind::ToolGrant, Some(&id), None)
                .await?
                .into_iter()
                .map(|r| {
                    let (name, _) = tools.get(&r.target).cloned().unwrap_or_default();
                    let used = uses
                        .iter()
                        .any(|(p, t)| *p == id && exposed_matches(t, &name));
                    Grant {
                        id: r.target,
                        name,
                        used_30_days: used,
                    }
                })
                .collect(),
        };
        let c = nhi.common();
        out.push(Item {
            nhi_id: c.id,
            nhi_type: nhi.kind(),
            name: c.name.clone(),
            reviewer_id: campaign.reviewer_id.clone().or_else(|| c.owner_id.clone()),
            unused_grants: grants
                .iter()
                .filter(|g| !g.used_30_days)
                .map(|g| g.id.clone())
                .collect(),
            grants,
            last_used_at: c.last_used_at,
            decision: None,
            comment: None,
            decided_by: None,
            decided_at: None,
            by_rule: false,
        });
    }
    Ok(out)
}

/// Whether a tool name as the gateway logged it (`<prefix><name>`, the prefix ending in a
/// separator such as the default `<upstream>_`) is the tool `name`.
fn exposed_matches(logged: &str, name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    match logged.strip_suffix(name) {
        Some("") => true,
        Some(prefix) => prefix.ends_with(['_', '.', '-', '/', ':']),
        None => false,
    }
}

/// Unix milliseconds.
pub(crate) fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Writes an admin event to the audit log beside the gateway's (a failure is logged: the
/// action stands).
pub(crate) async fn audit(store: &DynStore, tenant: &str, event: Value) {
    let now = OffsetDateTime::now_utc();
    let mut event = event;
    if let Some(obj) = event.as_object_mut() {
        obj.insert(
            "time".into(),
            Value::String(
                now.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            ),
        );
        obj.insert("tenant".into(), Value::String(tenant.to_owned()));
    }
    match AuditRecord::new(tenant, ms(now), &event) {
        Ok(record) => {
            if let Err(e) = store.append_audit(vec![record]).await {
                tracing::error!("an admin action was not audited: {e}");
            }
        }
        Err(e) => tracing::error!("cannot encode an audit event: {e}"),
    }
}

/// Reads a campaign.
pub(crate) async fn load_campaign(
    store: &DynStore,
    tenant: &str,
    id: &str,
) -> Result<Option<Campaign>, StoreError> {
    let Some((version, body)) = store.doc(campaign::DOC_KIND, tenant, id).await? else {
        return Ok(None);
    };
    let mut c: Campaign = serde_json::from_str(&body)?;
    c.version = version;
    Ok(Some(c))
}

/// Stores a campaign over the version it was read at (none: a new one).
pub(crate) async fn store_campaign(
    store: &DynStore,
    c: &mut Campaign,
    expected: Option<u64>,
) -> Result<(), StoreError> {
    let body = serde_json::to_string(c)?;
    c.version = store
        .put_doc(
            campaign::DOC_KIND,
            &c.tenant_id,
            &c.id.to_string(),
            body,
            expected,
        )
        .await?;
    Ok(())
}

/// Decides one item and remediates a revoke; audited. The campaign is re-read and the
/// decision retried when another writer got there first.
#[expect(clippy::too_many_arguments, reason = "one decision's whole context")]
pub(crate) async fn decide(
    store: &DynStore,
    tenant: &str,
    campaign_id: &str,
    nhi: Uuid,
    decision: Decision,
    actor: &str,
    comment: Option<String>,
    by_rule: bool,
) -> Result<Result<(Campaign, Option<Remediation>), campaign::DecideError>, StoreError> {
    for _ in 0..8 {
        let Some(mut c) = load_campaign(store, tenant, campaign_id).await? else {
            return Err(StoreError::NotFound(format!("campaign `{campaign_id}`")));
        };
        let now = OffsetDateTime::now_utc();
        if let Err(e) = c.decide(nhi, decision, actor, comment.clone(), by_rule, now) {
            return Ok(Err(e));
        }
        let version = c.version;
        match store_campaign(store, &mut c, Some(version)).await {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
        let remediation = match decision {
            Decision::Revoked => Some(
                remediate(
                    store,
                    tenant,
                    nhi,
                    &format!("revoked in certification campaign `{}`", c.name),
                )
                .await?,
            ),
            Decision::Certified => None,
        };
        audit(
            store,
            tenant,
            serde_json::json!({
                "event": match decision {
                    Decision::Certified => "certification.certified",
                    Decision::Revoked => "certification.revoked",
                },
                "actor": actor,
                "campaign": c.id,
                "nhi": nhi,
                "comment": comment,
                "by_rule": by_rule,
                "remediation": remediation,
            }),
        )
        .await;
        return Ok(Ok((c, remediation)));
    }
    Err(StoreError::Backend(
        "the campaign keeps changing; retry".into(),
    ))
}

/// Applies the due-date rule: every open item of an active campaign past its due date is
/// decided by the campaign's rule (a revoke remediates). Returns how many items it decided.
pub async fn sweep_campaigns(store: &DynStore) -> Result<usize, StoreError> {
    let now = OffsetDateTime::now_utc();
    let mut decided = 0;
    for (tenant, version, body) in store.docs(campaign::DOC_KIND, None).await? {
        let Ok(mut c) = serde_json::from_str::<Campaign>(&body) else {
            tracing::warn!(%tenant, "an unreadable campaign is left alone");
            continue;
        };
        c.version = version;
        let decision = match c.due_rule {
            campaign::DueRule::Revoke => Decision::Revoked,
            campaign::DueRule::Certify => Decision::Certified,
        };
        for nhi in c.overdue(now) {
            let outcome = decide(
                store,
                &tenant,
                &c.id.to_string(),
                nhi,
                decision,
                "due-date rule",
                Some("not decided by the due date".into()),
                true,
            )
            .await?;
            if outcome.is_ok() {
                decided += 1;
            }
        }
    }
    Ok(decided)
}

/// Recomputes the risk of every NHI of `tenant` and stores each assessment that changed.
/// Returns how many records it rewrote.
pub async fn recompute_risk(store: &DynStore, tenant: &str) -> Result<usize, StoreError> {
    use portcullis_registry::risk::{Facts, assess};
    use portcullis_registry::vault::VaultKind;
    let now = OffsetDateTime::now_utc();
    let mut facts = Facts::default();
    for kind in [NhiKind::ServiceAccount, NhiKind::Agent, NhiKind::Tool] {
        facts.nhis.extend(store.list_nhis(tenant, kind).await?);
    }
    if facts.nhis.is_empty() {
        return Ok(0);
    }
    facts.tool_grants = store
        .relations(tenant, RelationKind::ToolGrant, None, None)
        .await?;
    facts.delegations = store
        .relations(tenant, RelationKind::Delegation, None, None)
        .await?;
    facts.secrets = store
        .vaults(tenant, VaultKind::Secret)
        .await?
        .iter()
        .filter_map(|d| d.secret().ok())
        .collect();
    for (_, _, body) in store.docs(campaign::DOC_KIND, Some(tenant)).await? {
        if let Ok(c) = serde_json::from_str::<Campaign>(&body) {
            facts.certification_overdue.extend(c.overdue(now));
        }
    }
    let since = ms(now - time::Duration::hours(24));
    for record in store.audit(tenant, USAGE_WINDOW_EVENTS).await? {
        if record.at_ms < since {
            continue;
        }
        let Ok(e) = serde_json::from_str::<Value>(record.event.get()) else {
            continue;
        };
        if e.get("decision").and_then(Value::as_str) == Some("deny")
            && let Some(p) = e.get("principal").and_then(Value::as_str)
        {
            *facts.denials_24h.entry(p.to_owned()).or_default() += 1;
        }
    }
    let assessed = assess(&facts, now);
    record_day(store, tenant, &facts.nhis, &assessed, now).await;
    let mut written = 0;
    for nhi in facts.nhis {
        let Some(next) = assessed.get(&nhi.id()) else {
            continue;
        };
        if nhi.common().risk.as_ref().is_some_and(|r| r.same_as(next)) {
            continue;
        }
        if store.set_risk(tenant, nhi.id(), next.clone()).await? {
            written += 1;
        }
    }
    Ok(written)
}

/// The governance document kind of a tenant's risk history: one document per tenant (id
/// [`RISK_DAYS_ID`]) holding its last [`RISK_DAYS_KEPT`] days, oldest first.
pub(crate) const RISK_DAY: &str = "risk_days";
pub(crate) const RISK_DAYS_ID: &str = "days";
/// How many days of risk history a tenant keeps.
pub(crate) const RISK_DAYS_KEPT: usize = 90;

/// How one day ended, risk-wise: the tenant's NHIs by effective level, as last computed
/// that day.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub(crate) struct RiskDay {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub total: usize,
    /// `low`, `medium`, `high`, `critical`.
    #[schema(value_type = Object)]
    pub by_risk_level: std::collections::BTreeMap<String, usize>,
}

/// Writes today's [`RiskDay`] into `tenant`'s history from a fresh assessment, keeping the
/// last [`RISK_DAYS_KEPT`] days. Best effort: a lost race with another instance, or a store
/// error, leaves the other's (or the previous) figures, which the next recomputation
/// replaces.
async fn record_day(
    store: &DynStore,
    tenant: &str,
    nhis: &[Nhi],
    assessed: &std::collections::HashMap<uuid::Uuid, portcullis_registry::risk::Assessment>,
    now: OffsetDateTime,
) {
    let mut by_risk_level: std::collections::BTreeMap<String, usize> =
        ["low", "medium", "high", "critical"]
            .into_iter()
            .map(|l| (l.to_owned(), 0))
            .collect();
    for nhi in nhis {
        let admin = nhi.common().risk_level;
        let level = match assessed.get(&nhi.id()) {
            Some(a) if a.level.default_score() > admin.default_score() => a.level,
            _ => admin,
        };
        *by_risk_level.entry(level.as_str().to_owned()).or_default() += 1;
    }
    let date = now.date().to_string();
    let day = RiskDay {
        date: date.clone(),
        total: nhis.len(),
        by_risk_level,
    };
    let (version, mut days) = match store.doc(RISK_DAY, tenant, RISK_DAYS_ID).await {
        Ok(Some((version, body))) => (
            Some(version),
            serde_json::from_str::<Vec<RiskDay>>(&body).unwrap_or_default(),
        ),
        Ok(None) => (None, Vec::new()),
        Err(e) => {
            tracing::warn!(%tenant, "today's risk picture not stored: {e}");
            return;
        }
    };
    days.retain(|d| d.date != date);
    days.push(day);
    days.sort_by(|a, b| a.date.cmp(&b.date));
    let excess = days.len().saturating_sub(RISK_DAYS_KEPT);
    days.drain(..excess);
    let Ok(body) = serde_json::to_string(&days) else {
        return;
    };
    let written = store
        .put_doc(RISK_DAY, tenant, RISK_DAYS_ID, body, version)
        .await;
    match written {
        Ok(_) | Err(StoreError::Conflict { .. }) => {}
        Err(e) => tracing::warn!(%tenant, "today's risk picture not stored: {e}"),
    }
}

/// The risk level an NHI counts as: the higher of the one an admin set and the computed one.
pub(crate) fn effective_level(nhi: &Nhi) -> portcullis_registry::RiskLevel {
    let c = nhi.common();
    match &c.risk {
        Some(r) if r.level.default_score() > c.risk_level.default_score() => r.level,
        _ => c.risk_level,
    }
}

/// Tenants whose risk should be recomputed soon: written by the admin API after every
/// successful write; one worker drains it, each tenant once however many writes it saw.
#[derive(Clone, Debug)]
pub struct RiskQueue {
    tx: tokio::sync::mpsc::Sender<String>,
}

impl RiskQueue {
    /// Starts the worker (inside a tokio runtime).
    pub fn start(store: DynStore) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(1024);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut tenants = HashSet::from([first]);
                while let Ok(more) = rx.try_recv() {
                    tenants.insert(more);
                }
                for tenant in tenants {
                    if let Err(e) = recompute_risk(&store, &tenant).await {
                        tracing::warn!(%tenant, "risk not recomputed: {e}");
                    }
                }
            }
        });
        Self { tx }
    }

    /// Asks for `tenant`'s risk to be recomputed (dropped when the queue is full: the
    /// periodic sweep catches up).
    pub fn touch(&self, tenant: &str) {
        let _ = self.tx.try_send(tenant.to_owned());
    }
}
