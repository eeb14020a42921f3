//! Step 4 of a call: look up the principal and the tool in the registry snapshot.
//!
//! A [`Catalog`] is built once per registry revision from the snapshot and the upstream
//! configuration; a call only reads it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use portcullis_registry::vault::{ClientCredentials, VaultKind};
use portcullis_registry::{Lifecycle, Nhi, NhiKind, RelationKind, Snapshot};

use crate::config::GatewayConfig;

/// A tool as the gateway serves it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolEntry {
    /// Registry id (the policy engine's entity id).
    pub(crate) id: String,
    /// The name clients see: the upstream's prefix and the tool's name there.
    pub(crate) exposed_name: String,
    /// The name the upstream knows it by.
    pub(crate) upstream_name: String,
    pub(crate) upstream: String,
    /// The record version: the compiled input schema is cached under (id, version).
    pub(crate) version: u64,
    pub(crate) input_schema: serde_json::Value,
    pub(crate) description: String,
    /// The hash of the upstream definition it was imported with (`pinning`).
    pub(crate) pinned: Option<String>,
    /// Its own rate limit, instead of the configured one.
    pub(crate) rate_limit: Option<portcullis_registry::RateLimit>,
}

/// An agent or service account, as authentication checks it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PrincipalEntry {
    pub(crate) kind: NhiKind,
    pub(crate) lifecycle: Lifecycle,
    /// Its own rate limit, instead of the configured one.
    pub(crate) rate_limit: Option<portcullis_registry::RateLimit>,
}

/// An agent others may send tasks to through the gateway.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AgentEntry {
    pub(crate) id: String,
    pub(crate) tenant: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) lifecycle: Lifecycle,
    /// The configured A2A upstream that serves it (none: it has no endpoint here).
    pub(crate) upstream: Option<String>,
}

/// The registry as the data plane reads it.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    /// Tenant → exposed name → tool: borrowed lookups, no key to build per call.
    tools: HashMap<String, HashMap<String, Arc<ToolEntry>>>,
    /// Tenant → id → agent or service account: a principal is found only in its own tenant.
    principals: HashMap<String, HashMap<String, PrincipalEntry>>,
    /// The upstream credentials the vault holds, and who may use them.
    pub(crate) credentials: crate::credentials::Credentials,
    /// Client id → (tenant, how it authenticates at the token endpoint). An id registered
    /// in two tenants is left out: neither tenant's client may use it.
    clients: HashMap<String, (String, ClientCredentials)>,
    /// Tenant → id → agent, for A2A.
    agents: HashMap<String, HashMap<String, Arc<AgentEntry>>>,
    /// Agent id → its tenant, for the public agent cards; an id found in two tenants is
    /// left out.
    agent_tenants: HashMap<String, String>,
    /// Tenant → NHI id → the users holding a permission on it.
    user_permissions: HashMap<String, HashMap<String, HashSet<String>>>,
    /// Tools (of every tenant) whose `upstream` is unset or names no configured upstream:
    /// they cannot be called here.
    pub(crate) unroutable_tools: usize,
}

impl Catalog {
    pub(crate) fn build(
        snapshot: &Snapshot,
        config: &GatewayConfig,
        keys: Option<&portcullis_vault::MasterKeys>,
    ) -> Self {
        let mut catalog = Self {
            credentials: crate::credentials::Credentials::build(snapshot, config, keys),
            ..Self::default()
        };
        for nhi in &snapshot.nhis {
            let c = nhi.common();
            match nhi {
                Nhi::Tool(t) => {
                    // A tool whose upstream is not configured cannot be served: it stays unknown.
                    let Some(up) = t
                        .fields
                        .upstream
                        .as_deref()
                        .and_then(|u| config.upstream(u))
                    else {
                        catalog.unroutable_tools += 1;
                        continue;
                    };
                    let entry = ToolEntry {
                        id: c.id.to_string(),
                        exposed_name: format!("{}{}", up.prefix(), c.name),
                        upstream_name: c.name.clone(),
                        upstream: up.name.clone(),
                        version: c.version,
                        input_schema: t.fields.input_schema.clone(),
                        description: c.description.clone(),
                        pinned: t.fields.definition_sha256.clone(),
                        rate_limit: c.rate_limit,
                    };
                    catalog
                        .tools
                        .entry(c.tenant_id.clone())
                        .or_default()
                        .insert(entry.exposed_name.clone(), Arc::new(entry));
                }
                Nhi::Agent(_) | Nhi::ServiceAccount(_) => {
                    catalog
                        .principals
                        .entry(c.tenant_id.clone())
                        .or_default()
                        .insert(
                            c.id.to_string(),
                            PrincipalEntry {
                                kind: nhi.kind(),
                                lifecycle: c.lifecycle_state,
                                rate_limit: c.rate_limit,
                            },
                        );
                }
            }
            if let Nhi::Agent(a) = nhi {
                let entry = AgentEntry {
                    id: c.id.to_string(),
                    tenant: c.tenant_id.clone(),
                    name: c.name.clone(),
                    description: c.description.clone(),
                    lifecycle: c.lifecycle_state,
                    upstream: a
                        .fields
                        .a2a_upstream
                        .as_deref()
                        .and_then(|u| config.a2a_upstream(u))
                        .map(|u| u.name.clone()),
                };
                catalog
                    .agents
                    .entry(c.tenant_id.clone())
                    .or_default()
                    .insert(entry.id.clone(), Arc::new(entry));
            }
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for id in catalog.agents.values().flat_map(HashMap::keys) {
            *seen.entry(id).or_default() += 1;
        }
        catalog.agent_tenants = catalog
            .agents
            .iter()
            .flat_map(|(tenant, agents)| agents.keys().map(move |id| (id, tenant)))
            .filter(|(id, _)| seen.get(id.as_str()) == Some(&1))
            .map(|(id, tenant)| (id.clone(), tenant.clone()))
            .collect();
        let mut ambiguous = HashSet::new();
        for doc in snapshot
            .vault
            .iter()
            .filter(|d| d.kind == VaultKind::Client)
        {
            let Ok(client) = doc.client() else {
                tracing::warn!(tenant = %doc.tenant_id, id = %doc.id, "unreadable client credentials left out");
                continue;
            };
            if client.tenant_id != doc.tenant_id {
                continue;
            }
            let id = client.nhi_id.to_string();
            if catalog.clients.contains_key(&id) {
                ambiguous.insert(id);
                continue;
            }
            catalog.clients.insert(id, (doc.tenant_id.clone(), client));
        }
        for id in ambiguous {
            catalog.clients.remove(&id);
        }
        for r in snapshot
            .relations
            .iter()
            .filter(|r| r.kind == RelationKind::User)
        {
            catalog
                .user_permissions
                .entry(r.tenant_id.clone())
                .or_default()
                .entry(r.source.clone())
                .or_default()
                .insert(r.target.clone());
        }
        catalog
    }

    /// The token-endpoint credentials of client `id`, and its tenant.
    pub(crate) fn client(&self, id: &str) -> Option<(String, &ClientCredentials)> {
        self.clients
            .get(id)
            .map(|(tenant, creds)| (tenant.clone(), creds))
    }

    /// Whether `user` of `tenant` holds a permission on the agent or service account `nhi`.
    pub(crate) fn user_may_use(&self, tenant: &str, user: &str, nhi: &str) -> bool {
        self.user_permissions
            .get(tenant)
            .and_then(|nhis| nhis.get(nhi))
            .is_some_and(|users| users.contains(user))
    }

    /// Whether any tool is pinned to its upstream definition.
    pub(crate) fn any_pinned(&self) -> bool {
        self.tools
            .values()
            .flat_map(HashMap::values)
            .any(|t| t.pinned.is_some())
    }

    /// The tool a tenant's client names, if the registry has it.
    pub(crate) fn tool(&self, tenant: &str, exposed_name: &str) -> Option<&Arc<ToolEntry>> {
        self.tools.get(tenant)?.get(exposed_name)
    }

    /// Every tool of a tenant.
    pub(crate) fn tools_of<'a>(
        &'a self,
        tenant: &'a str,
    ) -> impl Iterator<Item = &'a Arc<ToolEntry>> + 'a {
        self.tools.get(tenant).into_iter().flat_map(HashMap::values)
    }

    /// The agent `id` of `tenant`.
    pub(crate) fn agent(&self, tenant: &str, id: &str) -> Option<&Arc<AgentEntry>> {
        self.agents.get(tenant)?.get(id)
    }

    /// The agent `id`, whichever tenant has it (for its public card).
    pub(crate) fn agent_anywhere(&self, id: &str) -> Option<&Arc<AgentEntry>> {
        self.agent(self.agent_tenants.get(id)?, id)
    }

    /// The agent or service account `id` of `tenant`.
    pub(crate) fn principal(&self, tenant: &str, id: &str) -> Option<&PrincipalEntry> {
        self.principals.get(tenant)?.get(id)
    }
}
