//! The NHI domain model: service accounts, agents and tools, and the relations between them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use portcullis_policy::{Lifecycle, RiskLevel};

/// Which kind of NHI a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NhiKind {
    ServiceAccount,
    Agent,
    Tool,
}

impl NhiKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServiceAccount => "service_account",
            Self::Agent => "agent",
            Self::Tool => "tool",
        }
    }

    /// The name clients know the kind by (`ai_agent` for agents).
    pub fn type_name(self) -> &'static str {
        match self {
            Self::ServiceAccount => "service_account",
            Self::Agent => "ai_agent",
            Self::Tool => "tool",
        }
    }

    /// A human name, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::ServiceAccount => "service account",
            Self::Agent => "agent",
            Self::Tool => "tool",
        }
    }
}

/// The fields every NHI has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Common {
    pub id: Uuid,
    pub tenant_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub backup_owner_id: Option<String>,
    pub lifecycle_state: Lifecycle,
    /// Why the lifecycle state last changed (suspend and reactivate require a reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_reason: Option<String>,
    pub risk_level: RiskLevel,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// Bumped by every write; an update names the version it read (optimistic concurrency).
    pub version: u64,
    /// The computed risk (see [`crate::risk`]); kept by the registry, never written by
    /// clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<crate::risk::Assessment>,
    /// This NHI's own rate limit, instead of the configured one for its kind (an agent or
    /// service account as a caller, a tool as called).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
}

/// A token bucket: `requests` per `per_secs` seconds on average, bursts of up to `burst`
/// (default: `requests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub requests: u32,
    #[serde(default = "one")]
    pub per_secs: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

fn one() -> u32 {
    1
}

impl RateLimit {
    /// Checks the numbers: each at least 1, at most a million.
    pub fn check(&self) -> Result<(), String> {
        let ok = |n: u32| (1..=1_000_000).contains(&n);
        if !ok(self.requests) || !ok(self.per_secs) || self.burst.is_some_and(|b| !ok(b)) {
            return Err(
                "a rate limit's `requests`, `per_secs` and `burst` must be 1 to 1000000".into(),
            );
        }
        Ok(())
    }

    /// The time one request's token takes to come back.
    pub fn interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.per_secs)) / self.requests.max(1)
    }

    pub fn burst(&self) -> u32 {
        self.burst.unwrap_or(self.requests).max(1)
    }
}

impl Common {
    /// A new record: active, low risk, version 0 (the store assigns 1 on insert).
    pub fn new(tenant_id: &str, name: &str) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            id: Uuid::now_v7(),
            tenant_id: tenant_id.to_owned(),
            name: name.to_owned(),
            description: String::new(),
            owner_id: None,
            backup_owner_id: None,
            lifecycle_state: Lifecycle::Active,
            lifecycle_reason: None,
            risk_level: RiskLevel::Low,
            created_at: now,
            updated_at: now,
            last_used_at: None,
            version: 0,
            risk: None,
            rate_limit: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceAccount {
    #[serde(flatten)]
    pub common: Common,
    /// What it is for (a batch job, an integration).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub purpose: String,
}

/// Agent-only fields.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AgentFields {
    #[serde(default)]
    pub agent_type: String,
    #[serde(default)]
    pub model_provider: String,
    #[serde(default)]
    pub model_name: String,
    #[serde(default)]
    pub requires_human_approval: bool,
    #[serde(default)]
    pub max_delegation_depth: u32,
    /// The configured A2A upstream (`[[gateway.a2a_upstreams]]`) the agent is served by,
    /// when it is reachable through the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a2a_upstream: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    #[serde(flatten)]
    pub common: Common,
    #[serde(flatten)]
    pub fields: AgentFields,
}

/// Tool-only fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolFields {
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub requires_approval: bool,
    /// A JSON Schema for the tool's arguments, validated when written.
    pub input_schema: serde_json::Value,
    /// MCP tool annotations (`readOnlyHint`, `destructiveHint`, ...): untrusted hints.
    #[serde(default)]
    pub annotations: serde_json::Map<String, serde_json::Value>,
    /// The name of the upstream MCP server that serves the tool.
    #[serde(default)]
    pub upstream: Option<String>,
    /// The SHA-256 of the upstream's whole definition of the tool when it was imported
    /// (see [`crate::discovery::definition_sha256`]): the gateway refuses the tool once the
    /// upstream's definition no longer matches, until it is imported again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition_sha256: Option<String>,
}

impl Default for ToolFields {
    fn default() -> Self {
        Self {
            category: String::new(),
            requires_approval: false,
            input_schema: serde_json::json!({"type": "object"}),
            annotations: serde_json::Map::new(),
            upstream: None,
            definition_sha256: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    #[serde(flatten)]
    pub common: Common,
    #[serde(flatten)]
    pub fields: ToolFields,
}

/// Any NHI, as stored. Serialized with its `kind` and, beside it, the `nhi_type` clients
/// know it by (`service_account`, `ai_agent`, `tool`); `nhi_type` is ignored when read back.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Nhi {
    ServiceAccount(ServiceAccount),
    Agent(Agent),
    Tool(Tool),
}

/// How an [`Nhi`] is written: tagged with `kind`, `nhi_type` beside it.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum NhiRepr<'a> {
    ServiceAccount(Typed<'a, ServiceAccount>),
    Agent(Typed<'a, Agent>),
    Tool(Typed<'a, Tool>),
}

#[derive(Serialize)]
struct Typed<'a, T> {
    nhi_type: &'static str,
    #[serde(flatten)]
    record: &'a T,
}

impl Serialize for Nhi {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let nhi_type = self.kind().type_name();
        match self {
            Self::ServiceAccount(record) => NhiRepr::ServiceAccount(Typed { nhi_type, record }),
            Self::Agent(record) => NhiRepr::Agent(Typed { nhi_type, record }),
            Self::Tool(record) => NhiRepr::Tool(Typed { nhi_type, record }),
        }
        .serialize(s)
    }
}

impl Nhi {
    pub fn kind(&self) -> NhiKind {
        match self {
            Self::ServiceAccount(_) => NhiKind::ServiceAccount,
            Self::Agent(_) => NhiKind::Agent,
            Self::Tool(_) => NhiKind::Tool,
        }
    }

    pub fn common(&self) -> &Common {
        match self {
            Self::ServiceAccount(s) => &s.common,
            Self::Agent(a) => &a.common,
            Self::Tool(t) => &t.common,
        }
    }

    pub fn common_mut(&mut self) -> &mut Common {
        match self {
            Self::ServiceAccount(s) => &mut s.common,
            Self::Agent(a) => &mut a.common,
            Self::Tool(t) => &mut t.common,
        }
    }

    pub fn id(&self) -> Uuid {
        self.common().id
    }

    pub fn tenant(&self) -> &str {
        &self.common().tenant_id
    }

    pub fn version(&self) -> u64 {
        self.common().version
    }
}

/// NHI-to-NHI permission types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionType {
    /// The source may send tasks to (call) the target.
    Calling,
    /// The source may delegate to the target.
    Delegation,
}

/// User-to-NHI permission levels, ordered: use < manage < admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionLevel {
    Use,
    Manage,
    Admin,
}

impl PermissionLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Use => "use",
            Self::Manage => "manage",
            Self::Admin => "admin",
        }
    }
}

/// The kinds of relation, for queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    ToolGrant,
    Calling,
    Delegation,
    User,
}

impl RelationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ToolGrant => "tool_grant",
            Self::Calling => "calling",
            Self::Delegation => "delegation",
            Self::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tool_grant" => Some(Self::ToolGrant),
            "calling" => Some(Self::Calling),
            "delegation" => Some(Self::Delegation),
            "user" => Some(Self::User),
            _ => None,
        }
    }
}

/// A relation between two registry records, keyed by (tenant, kind, source, target).
///
/// - `ToolGrant`: source = agent or service account id, target = tool id.
/// - `Calling` / `Delegation`: source NHI id, target NHI id.
/// - `User`: source = NHI id, target = user id, `level` set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Relation {
    pub tenant_id: String,
    pub kind: RelationKind,
    pub source: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<PermissionLevel>,
}

impl Relation {
    pub fn new(tenant: &str, kind: RelationKind, source: &str, target: &str) -> Self {
        Self {
            tenant_id: tenant.to_owned(),
            kind,
            source: source.to_owned(),
            target: target.to_owned(),
            level: None,
        }
    }

    /// Whether the relation joins what the admin API lets it join: `source` and `target` are
    /// the kinds of the records its ids name in its tenant (`None`: no such record). A tool
    /// grant goes from an agent or service account to a tool, a calling edge to an agent, a
    /// delegation edge from an agent to an agent; a user permission has a level and a user.
    pub fn fits(&self, source: Option<NhiKind>, target: Option<NhiKind>) -> bool {
        let Some(source) = source else {
            return false;
        };
        match self.kind {
            RelationKind::ToolGrant => source != NhiKind::Tool && target == Some(NhiKind::Tool),
            RelationKind::Calling => source != NhiKind::Tool && target == Some(NhiKind::Agent),
            RelationKind::Delegation => source == NhiKind::Agent && target == Some(NhiKind::Agent),
            RelationKind::User => self.level.is_some() && !self.target.trim().is_empty(),
        }
    }
}

/// Checks that `schema` is a JSON Schema the gateway can compile. Remote `$ref`s are never
/// fetched (the validator is built without network or file access).
pub fn validate_input_schema(schema: &serde_json::Value) -> Result<(), String> {
    if !schema.is_object() {
        return Err("input_schema must be a JSON object".into());
    }
    if let Err(e) = jsonschema::meta::validate(schema) {
        return Err(format!("input_schema is not a valid JSON Schema: {e}"));
    }
    jsonschema::validator_for(schema)
        .map(|_| ())
        .map_err(|e| format!("input_schema cannot be compiled: {e}"))
}

/// One audit event as stored: the tenant it belongs to and the event document, kept as the
/// JSON text it was serialized to once (stores write it as is).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    pub tenant_id: String,
    /// Unix time in milliseconds.
    pub at_ms: i64,
    pub event: Box<serde_json::value::RawValue>,
}

impl AuditRecord {
    /// A record of `event`, serialized now.
    pub fn new(
        tenant_id: impl Into<String>,
        at_ms: i64,
        event: &impl Serialize,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            tenant_id: tenant_id.into(),
            at_ms,
            event: serde_json::value::to_raw_value(event)?,
        })
    }

    /// The event document, parsed.
    pub fn event(&self) -> serde_json::Value {
        serde_json::from_str(self.event.get()).unwrap_or(serde_json::Value::Null)
    }
}

impl PartialEq for AuditRecord {
    fn eq(&self, other: &Self) -> bool {
        self.tenant_id == other.tenant_id
            && self.at_ms == other.at_ms
            && self.event.get() == other.event.get()
    }
}

/// An NHI was used at `at_ms` (Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastUse {
    pub tenant_id: String,
    pub id: Uuid,
    pub at_ms: i64,
}

/// A Unix-millisecond time as a timestamp (`None` when out of range).
pub(crate) fn from_millis(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}
