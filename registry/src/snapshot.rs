//! A consistent copy of the registry at one revision, and its policy-engine view.
//!
//! One tenant's bad record never costs the other tenants their view: a record or relation
//! that cannot be part of the engine's [`Directory`] is left out and reported
//! ([`Skipped`]). Leaving a record out fails closed: Cedar denies a principal or a tool it
//! does not know, and a grant or edge that is left out allows nothing.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use portcullis_policy::{
    Directory, DirectoryBuilder, EntityError, McpServer, Tenant, User, check_tenant_id,
};

use crate::model::{Nhi, NhiKind, Relation, RelationKind};

/// The MCP server id given to tools that name no upstream.
pub(crate) const NO_UPSTREAM: &str = "unassigned";

/// Every record and relation at `revision`.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub revision: u64,
    pub nhis: Vec<Nhi>,
    pub relations: Vec<Relation>,
    /// Vault documents: secrets (sealed) and leases.
    pub vault: Vec<crate::vault::VaultDoc>,
}

/// A record or relation left out of the policy engine's view, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub tenant: String,
    /// What was left out: `agent`, `service account`, `tool`, `user`, or a relation kind
    /// (`tool_grant relation`, ...).
    pub kind: String,
    /// The record id; a user's id within the tenant; `source → target` for a relation.
    pub id: String,
    pub reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} `{}` of tenant `{}`: {}",
            self.kind, self.id, self.tenant, self.reason
        )
    }
}

/// The engine's view of a snapshot: the directory, and what had to be left out of it.
#[derive(Debug)]
pub struct DirectoryBuild {
    pub directory: Directory,
    pub skipped: Vec<Skipped>,
}

impl Snapshot {
    /// The typed entities the policy engine decides over. Entity ids are record ids (users:
    /// `<tenant>/<user>`). A record or relation that cannot be converted is left out and
    /// listed in [`DirectoryBuild::skipped`]; everything else converts.
    pub fn build_directory(&self) -> DirectoryBuild {
        let ids: Vec<String> = self.nhis.iter().map(|n| n.id().to_string()).collect();
        let mut skipped = Vec::new();
        let records = check_records(self, &ids, &mut skipped);
        let (targets, users) = check_relations(self, &records, &mut skipped);
        let kept = |tenant: &str, id: &str| records.get(&(tenant, id)).is_some_and(|k| k.kept);

        let mut b = Directory::builder(self.revision);
        let mut tenants: BTreeSet<&str> = users.iter().map(|(t, _)| *t).collect();
        tenants.extend(
            self.nhis
                .iter()
                .zip(&ids)
                .filter(|(n, id)| kept(n.tenant(), id))
                .map(|(n, _)| n.tenant()),
        );
        for t in tenants {
            if let Err(e) = b.tenant(&Tenant { id: t.to_owned() }) {
                skip(&mut skipped, t, "tenant", t, e.to_string());
            }
        }
        for (tenant, user) in users {
            let entity = User {
                id: user.to_owned(),
                tenant: tenant.to_owned(),
                roles: vec![],
            };
            if let Err(e) = b.user(&entity) {
                skip(&mut skipped, tenant, "user", user, e.to_string());
            }
        }
        let mut servers: BTreeSet<&str> = BTreeSet::new();
        for (nhi, id) in self.nhis.iter().zip(&ids) {
            if !kept(nhi.tenant(), id) {
                continue;
            }
            if let Err(e) = add(&mut b, &mut servers, nhi, id, &targets) {
                skip(
                    &mut skipped,
                    nhi.tenant(),
                    nhi.kind().label(),
                    id,
                    e.to_string(),
                );
            }
        }
        DirectoryBuild {
            directory: b.build(),
            skipped,
        }
    }

    /// [`build_directory`](Self::build_directory), refusing a snapshot from which anything
    /// had to be left out (for tests and tools that want all or nothing).
    pub fn to_directory(&self) -> Result<Directory, EntityError> {
        let DirectoryBuild { directory, skipped } = self.build_directory();
        match skipped.into_iter().next() {
            None => Ok(directory),
            Some(s) => Err(EntityError::Rejected {
                what: format!("{} `{}` of tenant `{}`", s.kind, s.id, s.tenant),
                reason: s.reason,
            }),
        }
    }
}

fn skip(out: &mut Vec<Skipped>, tenant: &str, kind: &str, id: &str, reason: String) {
    out.push(Skipped {
        tenant: tenant.to_owned(),
        kind: kind.to_owned(),
        id: id.to_owned(),
        reason,
    });
}

/// A record as the conversion knows it: its kind and whether it goes into the directory.
#[derive(Debug, Clone, Copy)]
struct Known {
    kind: NhiKind,
    kept: bool,
}

/// (tenant, record id) → the record.
type Records<'a> = HashMap<(&'a str, &'a str), Known>;

/// Grant and edge targets by (tenant, source id, kind).
type Targets<'a> = HashMap<(&'a str, &'a str, RelationKind), Vec<String>>;

/// Records go in when their tenant id is valid and their id is theirs alone: an id found in
/// two tenants leaves every record of it out (neither tenant's copy is the entity).
fn check_records<'a>(
    snapshot: &'a Snapshot,
    ids: &'a [String],
    skipped: &mut Vec<Skipped>,
) -> Records<'a> {
    let mut count: HashMap<&str, usize> = HashMap::with_capacity(ids.len());
    for id in ids {
        *count.entry(id).or_default() += 1;
    }
    // The tenants of each id found more than once (rare: ids are generated).
    let mut tenants_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (nhi, id) in snapshot.nhis.iter().zip(ids) {
        if count.get(id.as_str()).is_some_and(|&n| n > 1) {
            tenants_of.entry(id).or_default().push(nhi.tenant());
        }
    }
    let mut records = HashMap::with_capacity(ids.len());
    for (nhi, id) in snapshot.nhis.iter().zip(ids) {
        let tenant = nhi.tenant();
        let problem = match (check_tenant_id(tenant), tenants_of.get(id.as_str())) {
            (Err(e), _) => Some(format!("invalid tenant id: {e}")),
            (Ok(()), Some(tenants)) => Some(format!(
                "the id is used by {} records (tenants {}): none of them can be its entity",
                tenants.len(),
                tenants
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => None,
        };
        let kept = problem.is_none();
        if let Some(reason) = problem {
            skip(skipped, tenant, nhi.kind().label(), id, reason);
        }
        records.insert(
            (tenant, id.as_str()),
            Known {
                kind: nhi.kind(),
                kept,
            },
        );
    }
    records
}

/// The targets of each kept record's grants and edges, and the users holding a permission.
/// A relation that does not join records of its tenant the way the admin API allows is left
/// out and reported; one that names a record left out goes with it (that record is reported).
fn check_relations<'a>(
    snapshot: &'a Snapshot,
    records: &Records<'_>,
    skipped: &mut Vec<Skipped>,
) -> (Targets<'a>, BTreeSet<(&'a str, &'a str)>) {
    let mut targets: Targets<'a> = HashMap::new();
    let mut users = BTreeSet::new();
    for r in &snapshot.relations {
        let tenant = r.tenant_id.as_str();
        let source = records.get(&(tenant, r.source.as_str())).copied();
        let target = match r.kind {
            RelationKind::User => None,
            _ => records.get(&(tenant, r.target.as_str())).copied(),
        };
        let problem = if let Err(e) = check_tenant_id(tenant) {
            Some(format!("invalid tenant id: {e}"))
        } else if source.is_none() {
            Some("its source is not a record of the tenant".to_owned())
        } else if !r.fits(source.map(|k| k.kind), target.map(|k| k.kind)) {
            Some(format!(
                "not a valid {} relation (wrong kinds, a target that is not a record of the \
                 tenant, or a user permission without a level)",
                r.kind.as_str()
            ))
        } else {
            None
        };
        if let Some(reason) = problem {
            let what = format!("{} relation", r.kind.as_str());
            let id = format!("{} → {}", r.source, r.target);
            skip(skipped, tenant, &what, &id, reason);
            continue;
        }
        if !source.is_some_and(|k| k.kept) || target.is_some_and(|k| !k.kept) {
            continue;
        }
        match r.kind {
            RelationKind::User => {
                users.insert((tenant, r.target.as_str()));
            }
            kind => targets
                .entry((tenant, r.source.as_str(), kind))
                .or_default()
                .push(r.target.clone()),
        }
    }
    (targets, users)
}

/// Adds one record (and the MCP server of a tool, once).
fn add<'s>(
    b: &mut DirectoryBuilder,
    servers: &mut BTreeSet<&'s str>,
    nhi: &'s Nhi,
    id: &str,
    targets: &Targets<'_>,
) -> Result<(), EntityError> {
    let c = nhi.common();
    let tenant = c.tenant_id.as_str();
    let targets = |kind| {
        targets
            .get(&(tenant, id, kind))
            .cloned()
            .unwrap_or_default()
    };
    match nhi {
        Nhi::Tool(t) => {
            let server = t.fields.upstream.as_deref().unwrap_or(NO_UPSTREAM);
            if !servers.contains(server) {
                b.server(&McpServer {
                    id: server.to_owned(),
                    name: server.to_owned(),
                })?;
                servers.insert(server);
            }
            let hint = |k: &str| {
                t.fields
                    .annotations
                    .get(k)
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false)
            };
            b.tool(&portcullis_policy::Tool {
                id: id.to_owned(),
                tenant: tenant.to_owned(),
                server: server.to_owned(),
                name: c.name.clone(),
                lifecycle: c.lifecycle_state,
                category: t.fields.category.clone(),
                risk_level: c.risk_level,
                risk_score: c.risk.as_ref().map(|r| r.score),
                requires_approval: t.fields.requires_approval,
                annotations: portcullis_policy::ToolAnnotations {
                    read_only: hint("readOnlyHint"),
                    destructive: hint("destructiveHint"),
                    idempotent: hint("idempotentHint"),
                    open_world: hint("openWorldHint"),
                },
            })?;
        }
        Nhi::Agent(a) => {
            b.agent(&portcullis_policy::Agent {
                tools: targets(RelationKind::ToolGrant),
                can_call: targets(RelationKind::Calling),
                can_delegate_to: targets(RelationKind::Delegation),
                id: id.to_owned(),
                tenant: tenant.to_owned(),
                name: c.name.clone(),
                owner: c.owner_id.clone(),
                lifecycle: c.lifecycle_state,
                risk_level: c.risk_level,
                risk_score: c.risk.as_ref().map(|r| r.score),
                agent_type: a.fields.agent_type.clone(),
                requires_human_approval: a.fields.requires_human_approval,
                max_delegation_depth: a.fields.max_delegation_depth,
            })?;
        }
        Nhi::ServiceAccount(_) => {
            b.service_account(&portcullis_policy::ServiceAccount {
                tools: targets(RelationKind::ToolGrant),
                can_call: targets(RelationKind::Calling),
                id: id.to_owned(),
                tenant: tenant.to_owned(),
                name: c.name.clone(),
                owner: c.owner_id.clone(),
                lifecycle: c.lifecycle_state,
                risk_level: c.risk_level,
                risk_score: c.risk.as_ref().map(|r| r.score),
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
