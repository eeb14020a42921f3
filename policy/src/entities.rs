//! Typed NHI entities and the [`Directory`]: the registry snapshot the engine decides over.
//!
//! The directory keeps each entity as its typed record; a decision converts to Cedar only
//! the few entities its request names (and cached decisions none at all).

use std::collections::HashMap;
use std::sync::Arc;

use cedar_policy::{Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};
use serde::{Deserialize, Serialize};

use crate::request::{EntityKind, EntityRef};
use crate::tenant::{check_tenant_id, user_entity_id};

/// Lifecycle of an NHI or a tool (`Portcullis::Lifecycle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    #[default]
    Active,
    Inactive,
    Suspended,
    Deprecated,
    Archived,
}

impl Lifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Suspended => "suspended",
            Self::Deprecated => "deprecated",
            Self::Archived => "archived",
        }
    }
}

/// Risk rating (`Portcullis::RiskLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    #[default]
    Low,
    Medium,
    High,
    Critical,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// The score a level stands for when no explicit score is set.
    pub fn default_score(self) -> i64 {
        match self {
            Self::Low => 25,
            Self::Medium => 50,
            Self::High => 75,
            Self::Critical => 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    pub id: String,
}

/// A human, known in one tenant by the subject of their token. Two tenants may each have a
/// user `alice`: the Cedar entity is `Portcullis::User::"<tenant>/<id>"`
/// (see [`user_entity_id`](crate::user_entity_id)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The user id within the tenant (not qualified).
    pub id: String,
    pub tenant: String,
    #[serde(default)]
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServer {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// MCP tool annotations (untrusted hints from the tool server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToolAnnotations {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub id: String,
    pub tenant: String,
    pub server: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub risk_level: RiskLevel,
    #[serde(default)]
    pub risk_score: Option<i64>,
    #[serde(default)]
    pub requires_approval: bool,
    #[serde(default)]
    pub annotations: ToolAnnotations,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    pub id: String,
    pub tenant: String,
    #[serde(default)]
    pub name: String,
    /// The owning user's id within the agent's tenant (not qualified).
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub risk_level: RiskLevel,
    #[serde(default)]
    pub risk_score: Option<i64>,
    #[serde(default)]
    pub agent_type: String,
    #[serde(default)]
    pub requires_human_approval: bool,
    #[serde(default)]
    pub max_delegation_depth: u32,
    /// Granted tools (ids).
    #[serde(default)]
    pub tools: Vec<String>,
    /// Agents this one may send tasks to (ids).
    #[serde(default)]
    pub can_call: Vec<String>,
    /// Agents this one may delegate to (ids).
    #[serde(default)]
    pub can_delegate_to: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccount {
    pub id: String,
    pub tenant: String,
    #[serde(default)]
    pub name: String,
    /// The owning user's id within the service account's tenant (not qualified).
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub risk_level: RiskLevel,
    #[serde(default)]
    pub risk_score: Option<i64>,
    #[serde(default)]
    pub tools: Vec<String>,
    #[serde(default)]
    pub can_call: Vec<String>,
}

/// An entity that could not be added to a directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntityError {
    #[error("duplicate entity `{0}`")]
    Duplicate(String),
    #[error("entity `{uid}` is invalid: {reason}")]
    Invalid { uid: String, reason: String },
    /// A source record (or relation) that cannot be part of a directory.
    #[error("{what} is left out: {reason}")]
    Rejected { what: String, reason: String },
}

/// One registry entity, kept as its compact typed record. The Cedar entity is built when a
/// decision needs it (uncached decisions only, a few per request): a registry of 100,000
/// agents then costs its records, not 100,000 Cedar entities.
#[derive(Debug)]
pub(crate) enum Node {
    Tenant(Tenant),
    User(User),
    Server(McpServer),
    Tool(Tool),
    /// An agent and the servers of its callable tool grants (derived when built).
    Agent(Agent, Vec<String>),
    ServiceAccount(ServiceAccount, Vec<String>),
}

impl Node {
    /// The Cedar entity (checked when the directory was built).
    pub(crate) fn entity(&self) -> Result<Entity, EntityError> {
        let parents = self.parents();
        let user_id;
        let (kind, id, attrs): (EntityKind, &str, Vec<(&str, RestrictedExpression)>) = match self {
            Self::Tenant(t) => (EntityKind::Tenant, &t.id, vec![]),
            Self::User(u) => {
                user_id = user_entity_id(&u.tenant, &u.id);
                (
                    EntityKind::User,
                    &user_id,
                    vec![(
                        "roles",
                        RestrictedExpression::new_set(
                            u.roles
                                .iter()
                                .cloned()
                                .map(RestrictedExpression::new_string),
                        ),
                    )],
                )
            }
            Self::Server(s) => (
                EntityKind::McpServer,
                &s.id,
                vec![("name", RestrictedExpression::new_string(s.name.clone()))],
            ),
            Self::Tool(t) => (EntityKind::Tool, &t.id, tool_attrs(t)?),
            Self::Agent(a, servers) => (EntityKind::Agent, &a.id, agent_attrs(a, servers)),
            Self::ServiceAccount(s, servers) => (
                EntityKind::ServiceAccount,
                &s.id,
                service_account_attrs(s, servers),
            ),
        };
        let attrs = attrs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        Entity::new(kind.uid(id), attrs, parents.into_iter().collect()).map_err(|e| {
            EntityError::Invalid {
                uid: kind.uid(id).to_string(),
                reason: e.to_string(),
            }
        })
    }

    /// The uids of the entity's parents (for scope matching).
    pub(crate) fn parents(&self) -> Vec<EntityUid> {
        match self {
            Self::Tenant(_) | Self::Server(_) => vec![],
            Self::User(u) => vec![EntityKind::Tenant.uid(&u.tenant)],
            Self::Tool(t) => vec![
                EntityKind::McpServer.uid(&t.server),
                EntityKind::Tenant.uid(&t.tenant),
            ],
            Self::Agent(a, _) => vec![EntityKind::Tenant.uid(&a.tenant)],
            Self::ServiceAccount(s, _) => vec![EntityKind::Tenant.uid(&s.tenant)],
        }
    }
}

/// An immutable snapshot of the registry: typed entities keyed by kind and id (a user's id
/// is its qualified `<tenant>/<user>`).
///
/// Build one per registry revision with [`Directory::builder`]; share it behind an `Arc`.
#[derive(Debug)]
pub struct Directory {
    revision: u64,
    nodes: HashMap<EntityKind, HashMap<Arc<str>, Arc<Node>>>,
    /// The Cedar entities of recently decided-on records: building one costs more than the
    /// rest of a small decision, keeping all of them costs hundreds of MiB at 100,000 agents.
    entities: moka::sync::Cache<(EntityKind, Arc<str>), Entity>,
}

/// How many built Cedar entities a directory keeps.
const ENTITY_CACHE: u64 = 4_096;

impl Default for Directory {
    fn default() -> Self {
        Self {
            revision: 0,
            nodes: HashMap::new(),
            entities: moka::sync::Cache::new(ENTITY_CACHE),
        }
    }
}

impl Directory {
    pub fn builder(revision: u64) -> DirectoryBuilder {
        DirectoryBuilder {
            directory: Self {
                revision,
                ..Self::default()
            },
        }
    }

    /// The registry revision this snapshot reflects.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn len(&self) -> usize {
        self.nodes.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.values().all(HashMap::is_empty)
    }

    pub fn contains(&self, r: &EntityRef) -> bool {
        self.node(r.kind, &r.id).is_some()
    }

    pub(crate) fn node(&self, kind: EntityKind, id: &str) -> Option<&Arc<Node>> {
        self.nodes.get(&kind)?.get(id)
    }

    /// The Cedar entity of a record, `None` when there is no such record.
    pub(crate) fn entity(&self, kind: EntityKind, id: &str) -> Option<Result<Entity, EntityError>> {
        let (id, node) = self.nodes.get(&kind)?.get_key_value(id)?;
        let key = (kind, id.clone());
        if let Some(entity) = self.entities.get(&key) {
            return Some(Ok(entity));
        }
        Some(
            node.entity()
                .inspect(|e| self.entities.insert(key, e.clone())),
        )
    }
}

/// Adds typed entities to a new [`Directory`], checking that each converts to Cedar and
/// that its tenant id is valid ([`check_tenant_id`](crate::check_tenant_id)): every record
/// but a shared MCP server belongs to a tenant.
#[derive(Debug)]
pub struct DirectoryBuilder {
    directory: Directory,
}

impl DirectoryBuilder {
    pub fn tenant(&mut self, t: &Tenant) -> Result<&mut Self, EntityError> {
        tenant_ok(EntityKind::Tenant, &t.id, &t.id)?;
        self.insert(EntityKind::Tenant, &t.id, Node::Tenant(t.clone()))
    }

    /// Adds a user under its qualified id `<tenant>/<id>`: equal user ids of two tenants are
    /// two entities.
    pub fn user(&mut self, u: &User) -> Result<&mut Self, EntityError> {
        let id = user_entity_id(&u.tenant, &u.id);
        tenant_ok(EntityKind::User, &id, &u.tenant)?;
        self.insert(EntityKind::User, &id, Node::User(u.clone()))
    }

    pub fn server(&mut self, s: &McpServer) -> Result<&mut Self, EntityError> {
        self.insert(EntityKind::McpServer, &s.id, Node::Server(s.clone()))
    }

    pub fn tool(&mut self, t: &Tool) -> Result<&mut Self, EntityError> {
        tenant_ok(EntityKind::Tool, &t.id, &t.tenant)?;
        self.insert(EntityKind::Tool, &t.id, Node::Tool(t.clone()))
    }

    pub fn agent(&mut self, a: &Agent) -> Result<&mut Self, EntityError> {
        tenant_ok(EntityKind::Agent, &a.id, &a.tenant)?;
        self.insert(EntityKind::Agent, &a.id, Node::Agent(a.clone(), Vec::new()))
    }

    pub fn service_account(&mut self, s: &ServiceAccount) -> Result<&mut Self, EntityError> {
        tenant_ok(EntityKind::ServiceAccount, &s.id, &s.tenant)?;
        self.insert(
            EntityKind::ServiceAccount,
            &s.id,
            Node::ServiceAccount(s.clone(), Vec::new()),
        )
    }

    /// The directory, with each principal's `servers`: the MCP servers of the tools it
    /// holds a grant on that are of its own tenant and callable (active or deprecated).
    pub fn build(mut self) -> Directory {
        let server_of: HashMap<String, (String, String)> = self
            .directory
            .nodes
            .get(&EntityKind::Tool)
            .into_iter()
            .flat_map(HashMap::iter)
            .filter_map(|(id, node)| match node.as_ref() {
                Node::Tool(t)
                    if matches!(t.lifecycle, Lifecycle::Active | Lifecycle::Deprecated) =>
                {
                    Some((id.to_string(), (t.tenant.clone(), t.server.clone())))
                }
                _ => None,
            })
            .collect();
        let servers = |tenant: &str, tools: &[String]| {
            let mut servers: Vec<String> = tools
                .iter()
                .filter_map(|t| server_of.get(t))
                .filter(|(t, _)| t == tenant)
                .map(|(_, s)| s.clone())
                .collect();
            servers.sort_unstable();
            servers.dedup();
            servers
        };
        for kind in [EntityKind::Agent, EntityKind::ServiceAccount] {
            for node in self
                .directory
                .nodes
                .get_mut(&kind)
                .into_iter()
                .flat_map(HashMap::values_mut)
            {
                // Nodes are not shared yet while the directory is being built.
                if let Some(node) = Arc::get_mut(node) {
                    match node {
                        Node::Agent(a, s) => *s = servers(&a.tenant, &a.tools),
                        Node::ServiceAccount(a, s) => *s = servers(&a.tenant, &a.tools),
                        _ => {}
                    }
                }
            }
        }
        self.directory
    }

    /// Adds `node` once its Cedar form is known to be valid (that form is then dropped).
    fn insert(&mut self, kind: EntityKind, id: &str, node: Node) -> Result<&mut Self, EntityError> {
        let nodes = self.directory.nodes.entry(kind).or_default();
        if nodes.contains_key(id) {
            return Err(EntityError::Duplicate(kind.uid(id).to_string()));
        }
        node.entity()?;
        nodes.insert(Arc::from(id), Arc::new(node));
        Ok(self)
    }
}

fn tenant_ok(kind: EntityKind, id: &str, tenant: &str) -> Result<(), EntityError> {
    check_tenant_id(tenant).map_err(|reason| EntityError::Invalid {
        uid: kind.uid(id).to_string(),
        reason,
    })
}

fn tool_attrs(t: &Tool) -> Result<Vec<(&'static str, RestrictedExpression)>, EntityError> {
    let a = t.annotations;
    let annotations = RestrictedExpression::new_record([
        (
            "read_only".to_owned(),
            RestrictedExpression::new_bool(a.read_only),
        ),
        (
            "destructive".to_owned(),
            RestrictedExpression::new_bool(a.destructive),
        ),
        (
            "idempotent".to_owned(),
            RestrictedExpression::new_bool(a.idempotent),
        ),
        (
            "open_world".to_owned(),
            RestrictedExpression::new_bool(a.open_world),
        ),
    ])
    .map_err(|e| EntityError::Invalid {
        uid: EntityKind::Tool.uid(&t.id).to_string(),
        reason: e.to_string(),
    })?;
    Ok(vec![
        ("name", RestrictedExpression::new_string(t.name.clone())),
        ("lifecycle", lifecycle(t.lifecycle)),
        (
            "category",
            RestrictedExpression::new_string(t.category.clone()),
        ),
        ("risk_level", risk_level(t.risk_level)),
        ("risk_score", risk_score(t.risk_score, t.risk_level)),
        (
            "requires_approval",
            RestrictedExpression::new_bool(t.requires_approval),
        ),
        ("annotations", annotations),
    ])
}

fn agent_attrs(a: &Agent, servers: &[String]) -> Vec<(&'static str, RestrictedExpression)> {
    let mut attrs = vec![
        ("name", RestrictedExpression::new_string(a.name.clone())),
        ("lifecycle", lifecycle(a.lifecycle)),
        ("risk_level", risk_level(a.risk_level)),
        ("risk_score", risk_score(a.risk_score, a.risk_level)),
        (
            "agent_type",
            RestrictedExpression::new_string(a.agent_type.clone()),
        ),
        (
            "requires_human_approval",
            RestrictedExpression::new_bool(a.requires_human_approval),
        ),
        (
            "max_delegation_depth",
            RestrictedExpression::new_long(i64::from(a.max_delegation_depth)),
        ),
        ("tools", uid_set(EntityKind::Tool, &a.tools)),
        ("servers", uid_set(EntityKind::McpServer, servers)),
        ("can_call", uid_set(EntityKind::Agent, &a.can_call)),
        (
            "can_delegate_to",
            uid_set(EntityKind::Agent, &a.can_delegate_to),
        ),
    ];
    if let Some(owner) = &a.owner {
        attrs.push(("owner", user(&a.tenant, owner)));
    }
    attrs
}

fn service_account_attrs(
    s: &ServiceAccount,
    servers: &[String],
) -> Vec<(&'static str, RestrictedExpression)> {
    let mut attrs = vec![
        ("name", RestrictedExpression::new_string(s.name.clone())),
        ("lifecycle", lifecycle(s.lifecycle)),
        ("risk_level", risk_level(s.risk_level)),
        ("risk_score", risk_score(s.risk_score, s.risk_level)),
        ("tools", uid_set(EntityKind::Tool, &s.tools)),
        ("servers", uid_set(EntityKind::McpServer, servers)),
        ("can_call", uid_set(EntityKind::Agent, &s.can_call)),
    ];
    if let Some(owner) = &s.owner {
        attrs.push(("owner", user(&s.tenant, owner)));
    }
    attrs
}

/// A reference to user `id` of `tenant`.
fn user(tenant: &str, id: &str) -> RestrictedExpression {
    RestrictedExpression::new_entity_uid(EntityKind::User.uid(&user_entity_id(tenant, id)))
}

fn enum_uid(type_name: &EntityTypeName, value: &str) -> RestrictedExpression {
    RestrictedExpression::new_entity_uid(EntityUid::from_type_name_and_id(
        type_name.clone(),
        EntityId::new(value),
    ))
}

fn lifecycle(l: Lifecycle) -> RestrictedExpression {
    enum_uid(EntityKind::Lifecycle.type_name(), l.as_str())
}

fn risk_level(r: RiskLevel) -> RestrictedExpression {
    enum_uid(EntityKind::RiskLevel.type_name(), r.as_str())
}

fn risk_score(score: Option<i64>, level: RiskLevel) -> RestrictedExpression {
    RestrictedExpression::new_long(score.unwrap_or_else(|| level.default_score()))
}

fn uid_set(kind: EntityKind, ids: &[String]) -> RestrictedExpression {
    RestrictedExpression::new_set(
        ids.iter()
            .map(|id| RestrictedExpression::new_entity_uid(kind.uid(id))),
    )
}
