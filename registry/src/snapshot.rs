//! A consistent copy of the registry at one revision, and its policy-engine view.

use std::collections::{BTreeSet, HashMap};

use portcullis_policy::{Directory, EntityError, McpServer, Tenant, User};

use crate::model::{Nhi, Relation, RelationKind};

/// The MCP server id given to tools that name no upstream.
pub(crate) const NO_UPSTREAM: &str = "unassigned";

/// Every record and relation at `revision`.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub revision: u64,
    pub nhis: Vec<Nhi>,
    pub relations: Vec<Relation>,
}

impl Snapshot {
    /// The typed entities the policy engine decides over. Entity ids are record ids.
    pub fn to_directory(&self) -> Result<Directory, EntityError> {
        let mut out: HashMap<(&str, RelationKind), Vec<String>> = HashMap::new();
        for r in &self.relations {
            out.entry((r.source.as_str(), r.kind))
                .or_default()
                .push(r.target.clone());
        }
        let targets = |id: &str, kind| out.get(&(id, kind)).cloned().unwrap_or_default();

        let mut b = Directory::builder(self.revision);
        let tenants: BTreeSet<&str> = self.nhis.iter().map(Nhi::tenant).collect();
        for t in &tenants {
            b.tenant(&Tenant {
                id: (*t).to_owned(),
            })?;
        }
        let mut servers: BTreeSet<&str> = BTreeSet::new();
        let mut users: BTreeSet<(&str, &str)> = BTreeSet::new();
        for r in self
            .relations
            .iter()
            .filter(|r| r.kind == RelationKind::User)
        {
            users.insert((r.tenant_id.as_str(), r.target.as_str()));
        }
        for (tenant, user) in users {
            b.user(&User {
                id: user.to_owned(),
                tenant: tenant.to_owned(),
                roles: vec![],
            })?;
        }
        for nhi in &self.nhis {
            let c = nhi.common();
            let id = c.id.to_string();
            match nhi {
                Nhi::Tool(t) => {
                    let server = t.fields.upstream.as_deref().unwrap_or(NO_UPSTREAM);
                    if servers.insert(server) {
                        b.server(&McpServer {
                            id: server.to_owned(),
                            name: server.to_owned(),
                        })?;
                    }
                    let hint = |k: &str| {
                        t.fields
                            .annotations
                            .get(k)
                            .and_then(|v| v.as_bool())
                            .unwrap_or(false)
                    };
                    b.tool(&portcullis_policy::Tool {
                        id,
                        tenant: c.tenant_id.clone(),
                        server: server.to_owned(),
                        name: c.name.clone(),
                        lifecycle: c.lifecycle_state,
                        category: t.fields.category.clone(),
                        risk_level: c.risk_level,
                        risk_score: None,
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
                        tools: targets(&id, RelationKind::ToolGrant),
                        can_call: targets(&id, RelationKind::Calling),
                        can_delegate_to: targets(&id, RelationKind::Delegation),
                        id,
                        tenant: c.tenant_id.clone(),
                        name: c.name.clone(),
                        owner: c.owner_id.clone(),
                        lifecycle: c.lifecycle_state,
                        risk_level: c.risk_level,
                        risk_score: None,
                        agent_type: a.fields.agent_type.clone(),
                        requires_human_approval: a.fields.requires_human_approval,
                        max_delegation_depth: a.fields.max_delegation_depth,
                    })?;
                }
                Nhi::ServiceAccount(_) => {
                    b.service_account(&portcullis_policy::ServiceAccount {
                        tools: targets(&id, RelationKind::ToolGrant),
                        can_call: targets(&id, RelationKind::Calling),
                        id,
                        tenant: c.tenant_id.clone(),
                        name: c.name.clone(),
                        owner: c.owner_id.clone(),
                        lifecycle: c.lifecycle_state,
                        risk_level: c.risk_level,
                        risk_score: None,
                    })?;
                }
            }
        }
        Ok(b.build())
    }
}
