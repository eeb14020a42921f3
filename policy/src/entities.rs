//! Typed NHI entities and the [`Directory`]: the registry snapshot the engine decides over.
//!
//! Each entity is converted to a Cedar entity once, when the directory is built; a decision
//! then clones only the few entities its request names.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cedar_policy::{Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};
use serde::{Deserialize, Serialize};

use crate::request::{EntityKind, EntityRef};

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
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
}

/// One entity as Cedar sees it, with the uids of its parents (for scope matching).
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) entity: Entity,
    pub(crate) parents: Vec<EntityUid>,
}

/// An immutable snapshot of the registry, as Cedar entities keyed by kind and id.
///
/// Build one per registry revision with [`Directory::builder`]; share it behind an `Arc`.
#[derive(Debug, Default)]
pub struct Directory {
    revision: u64,
    nodes: HashMap<EntityKind, HashMap<Arc<str>, Arc<Node>>>,
}

impl Directory {
    pub fn builder(revision: u64) -> DirectoryBuilder {
        DirectoryBuilder {
            directory: Self {
                revision,
                nodes: HashMap::new(),
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
}

/// Adds typed entities to a new [`Directory`], converting each to Cedar once.
#[derive(Debug)]
pub struct DirectoryBuilder {
    directory: Directory,
}

impl DirectoryBuilder {
    pub fn tenant(&mut self, t: &Tenant) -> Result<&mut Self, EntityError> {
        let uid = EntityKind::Tenant.uid(&t.id);
        self.insert(
            EntityKind::Tenant,
            &t.id,
            Entity::new_no_attrs(uid, HashSet::new()),
            vec![],
        )
    }

    pub fn user(&mut self, u: &User) -> Result<&mut Self, EntityError> {
        let attrs = [(
            "roles",
            RestrictedExpression::new_set(
                u.roles
                    .iter()
                    .cloned()
                    .map(RestrictedExpression::new_string),
            ),
        )];
        let parents = vec![EntityKind::Tenant.uid(&u.tenant)];
        self.insert_with(EntityKind::User, &u.id, attrs, parents)
    }

    pub fn server(&mut self, s: &McpServer) -> Result<&mut Self, EntityError> {
        let attrs = [("name", RestrictedExpression::new_string(s.name.clone()))];
        self.insert_with(EntityKind::McpServer, &s.id, attrs, vec![])
    }

    pub fn tool(&mut self, t: &Tool) -> Result<&mut Self, EntityError> {
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
        let attrs = [
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
        ];
        let parents = vec![
            EntityKind::McpServer.uid(&t.server),
            EntityKind::Tenant.uid(&t.tenant),
        ];
        self.insert_with(EntityKind::Tool, &t.id, attrs, parents)
    }

    pub fn agent(&mut self, a: &Agent) -> Result<&mut Self, EntityError> {
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
            ("can_call", uid_set(EntityKind::Agent, &a.can_call)),
            (
                "can_delegate_to",
                uid_set(EntityKind::Agent, &a.can_delegate_to),
            ),
        ];
        if let Some(owner) = &a.owner {
            attrs.push((
                "owner",
                RestrictedExpression::new_entity_uid(EntityKind::User.uid(owner)),
            ));
        }
        let parents = vec![EntityKind::Tenant.uid(&a.tenant)];
        self.insert_with(EntityKind::Agent, &a.id, attrs, parents)
    }

    pub fn service_account(&mut self, s: &ServiceAccount) -> Result<&mut Self, EntityError> {
        let mut attrs = vec![
            ("name", RestrictedExpression::new_string(s.name.clone())),
            ("lifecycle", lifecycle(s.lifecycle)),
            ("risk_level", risk_level(s.risk_level)),
            ("risk_score", risk_score(s.risk_score, s.risk_level)),
            ("tools", uid_set(EntityKind::Tool, &s.tools)),
            ("can_call", uid_set(EntityKind::Agent, &s.can_call)),
        ];
        if let Some(owner) = &s.owner {
            attrs.push((
                "owner",
                RestrictedExpression::new_entity_uid(EntityKind::User.uid(owner)),
            ));
        }
        let parents = vec![EntityKind::Tenant.uid(&s.tenant)];
        self.insert_with(EntityKind::ServiceAccount, &s.id, attrs, parents)
    }

    pub fn build(self) -> Directory {
        self.directory
    }

    fn insert_with<'a>(
        &mut self,
        kind: EntityKind,
        id: &str,
        attrs: impl IntoIterator<Item = (&'a str, RestrictedExpression)>,
        parents: Vec<EntityUid>,
    ) -> Result<&mut Self, EntityError> {
        let uid = kind.uid(id);
        let attrs = attrs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let entity = Entity::new(uid, attrs, parents.iter().cloned().collect()).map_err(|e| {
            EntityError::Invalid {
                uid: kind.uid(id).to_string(),
                reason: e.to_string(),
            }
        })?;
        self.insert(kind, id, entity, parents)
    }

    fn insert(
        &mut self,
        kind: EntityKind,
        id: &str,
        entity: Entity,
        parents: Vec<EntityUid>,
    ) -> Result<&mut Self, EntityError> {
        let nodes = self.directory.nodes.entry(kind).or_default();
        if nodes.contains_key(id) {
            return Err(EntityError::Duplicate(kind.uid(id).to_string()));
        }
        nodes.insert(Arc::from(id), Arc::new(Node { entity, parents }));
        Ok(self)
    }
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
