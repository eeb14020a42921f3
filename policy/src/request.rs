//! What is being decided: a principal (and its delegation chain), an action, a resource and
//! the facts of the call.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use cedar_policy::{EntityId, EntityTypeName, EntityUid};
use serde::{Deserialize, Serialize};

/// The Cedar namespace of the shipped schema.
pub const NAMESPACE: &str = "Portcullis";

/// The entity types the engine builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Tenant,
    User,
    Agent,
    ServiceAccount,
    McpServer,
    Tool,
    Lifecycle,
    RiskLevel,
}

impl EntityKind {
    pub fn cedar_name(self) -> &'static str {
        match self {
            Self::Tenant => "Tenant",
            Self::User => "User",
            Self::Agent => "Agent",
            Self::ServiceAccount => "ServiceAccount",
            Self::McpServer => "McpServer",
            Self::Tool => "Tool",
            Self::Lifecycle => "Lifecycle",
            Self::RiskLevel => "RiskLevel",
        }
    }

    pub(crate) fn type_name(self) -> &'static EntityTypeName {
        let names = &*TYPE_NAMES;
        match self {
            Self::Tenant => &names.tenant,
            Self::User => &names.user,
            Self::Agent => &names.agent,
            Self::ServiceAccount => &names.service_account,
            Self::McpServer => &names.mcp_server,
            Self::Tool => &names.tool,
            Self::Lifecycle => &names.lifecycle,
            Self::RiskLevel => &names.risk_level,
        }
    }

    pub(crate) fn uid(self, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(self.type_name().clone(), EntityId::new(id))
    }
}

/// Parsed type names, made once: parsing a name costs more than a decision cache hit.
struct TypeNames {
    tenant: EntityTypeName,
    user: EntityTypeName,
    agent: EntityTypeName,
    service_account: EntityTypeName,
    mcp_server: EntityTypeName,
    tool: EntityTypeName,
    lifecycle: EntityTypeName,
    risk_level: EntityTypeName,
    action: EntityTypeName,
}

static TYPE_NAMES: LazyLock<TypeNames> = LazyLock::new(|| {
    #[expect(
        clippy::expect_used,
        reason = "fixed identifiers under a fixed namespace always parse"
    )]
    let name = |n: &str| {
        EntityTypeName::from_str(&format!("{NAMESPACE}::{n}")).expect("valid Cedar type name")
    };
    TypeNames {
        tenant: name("Tenant"),
        user: name("User"),
        agent: name("Agent"),
        service_account: name("ServiceAccount"),
        mcp_server: name("McpServer"),
        tool: name("Tool"),
        lifecycle: name("Lifecycle"),
        risk_level: name("RiskLevel"),
        action: name("Action"),
    }
});

/// A reference to a registry entity: `{agent: "id"}`, `{tool: "id"}`, ...
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityRef {
    pub kind: EntityKind,
    pub id: String,
}

impl EntityRef {
    pub fn new(kind: EntityKind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
        }
    }

    pub fn agent(id: impl Into<String>) -> Self {
        Self::new(EntityKind::Agent, id)
    }

    pub fn service_account(id: impl Into<String>) -> Self {
        Self::new(EntityKind::ServiceAccount, id)
    }

    pub fn tool(id: impl Into<String>) -> Self {
        Self::new(EntityKind::Tool, id)
    }

    pub fn mcp_server(id: impl Into<String>) -> Self {
        Self::new(EntityKind::McpServer, id)
    }

    pub(crate) fn uid(&self) -> EntityUid {
        self.kind.uid(&self.id)
    }
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{NAMESPACE}::{}::{:?}", self.kind.cedar_name(), self.id)
    }
}

impl Serialize for EntityRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(&self.kind, &self.id)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for EntityRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<EntityKind, String>::deserialize(d)?;
        let mut entries = map.into_iter();
        match (entries.next(), entries.next()) {
            (Some((kind, id)), None) => Ok(Self { kind, id }),
            _ => Err(serde::de::Error::custom(
                "an entity reference has exactly one key, e.g. `{agent: \"id\"}`",
            )),
        }
    }
}

/// The actions of the shipped schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    CallTool,
    ListTools,
    /// Read (or subscribe to) a resource of an MCP server; the URI is `target.uri`.
    ReadResource,
    /// Get a prompt of an MCP server; its name is `target.name`.
    GetPrompt,
    /// Ask an MCP server for completions of a prompt's or a resource template's argument.
    Complete,
    SendTask,
    Delegate,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallTool => "call_tool",
            Self::ListTools => "list_tools",
            Self::ReadResource => "read_resource",
            Self::GetPrompt => "get_prompt",
            Self::Complete => "complete",
            Self::SendTask => "send_task",
            Self::Delegate => "delegate",
        }
    }

    pub(crate) fn uid(self) -> EntityUid {
        EntityUid::from_type_name_and_id(TYPE_NAMES.action.clone(), EntityId::new(self.as_str()))
    }
}

/// The approval state of the call (see the `human_approval` obligation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// A human approved exactly this call.
    #[serde(default)]
    pub approved: bool,
}

/// What on the resource a request is about, besides the resource entity itself: the URI of
/// a resource, the name of a prompt (as its server knows them). Empty when not applicable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Target {
    pub name: String,
    pub uri: String,
}

/// One decision request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The tenant named by the caller's token.
    pub tenant: String,
    /// The acting NHI: the current actor, the subject of the token.
    pub principal: EntityRef,
    /// Earlier actors of a delegation chain, the originator first (agent ids). Empty when
    /// the principal acts on its own.
    #[serde(default)]
    pub chain: Vec<String>,
    pub action: Action,
    pub resource: EntityRef,
    /// The arguments passed the tool's input schema.
    #[serde(default = "yes")]
    pub input_valid: bool,
    /// The tool arguments (a JSON object); only fields the schema declares reach Cedar.
    #[serde(default)]
    pub arguments: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub approval: Approval,
    /// The human the call is made for, when the token says so.
    #[serde(default)]
    pub on_behalf_of: Option<String>,
    /// The resource URI or prompt name the request is about (`context.target`).
    #[serde(default)]
    pub target: Target,
}

fn yes() -> bool {
    true
}

impl Request {
    /// A request with no delegation, valid input, no arguments and no approval.
    pub fn new(
        tenant: impl Into<String>,
        principal: EntityRef,
        action: Action,
        resource: EntityRef,
    ) -> Self {
        Self {
            tenant: tenant.into(),
            principal,
            chain: Vec::new(),
            action,
            resource,
            input_valid: true,
            arguments: serde_json::Map::new(),
            approval: Approval::default(),
            on_behalf_of: None,
            target: Target::default(),
        }
    }
}
