//! Request bodies: what a client may send for each kind of NHI. Unknown fields are refused.

use portcullis_registry::{Lifecycle, RiskLevel};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServiceAccountCreate {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub owner_id: Option<String>,
    pub backup_owner_id: Option<String>,
    #[schema(value_type = Option<String>, example = "low")]
    pub risk_level: Option<RiskLevel>,
    /// What it is for.
    #[serde(default)]
    pub purpose: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentCreate {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub owner_id: Option<String>,
    pub backup_owner_id: Option<String>,
    #[schema(value_type = Option<String>, example = "medium")]
    pub risk_level: Option<RiskLevel>,
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
    /// The configured A2A upstream that serves the agent (`[[gateway.a2a_upstreams]]`).
    pub a2a_upstream: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ToolCreate {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub owner_id: Option<String>,
    pub backup_owner_id: Option<String>,
    #[schema(value_type = Option<String>, example = "high")]
    pub risk_level: Option<RiskLevel>,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub requires_approval: bool,
    /// A JSON Schema for the arguments (422 if it is not one). Default: any object.
    #[schema(value_type = Option<Object>)]
    pub input_schema: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub annotations: serde_json::Map<String, serde_json::Value>,
    /// The upstream MCP server that serves the tool.
    pub upstream: Option<String>,
}

/// A partial update. `version` (or an `If-Match` header) makes it conditional: a stale
/// version answers 409.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NhiPatch {
    pub version: Option<u64>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner_id: Option<String>,
    pub backup_owner_id: Option<String>,
    #[schema(value_type = Option<String>)]
    pub risk_level: Option<RiskLevel>,
    /// A lifecycle transition; an illegal one answers 409.
    #[schema(value_type = Option<String>, example = "inactive")]
    pub lifecycle_state: Option<Lifecycle>,
    // agents
    pub agent_type: Option<String>,
    pub model_provider: Option<String>,
    pub model_name: Option<String>,
    pub requires_human_approval: Option<bool>,
    pub max_delegation_depth: Option<u32>,
    pub a2a_upstream: Option<String>,
    // service accounts
    pub purpose: Option<String>,
    /// This NHI's own rate limit (`{"requests": 10, "per_secs": 1, "burst": 20}`), or `null`
    /// to fall back to the configured one.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub rate_limit: Option<Option<portcullis_registry::RateLimit>>,
    // tools
    pub category: Option<String>,
    pub requires_approval: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub input_schema: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub annotations: Option<serde_json::Map<String, serde_json::Value>>,
    pub upstream: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Reason {
    /// Why: kept on the record with the new state.
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Transfer {
    pub new_owner_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserGrant {
    /// `use`, `manage` or `admin`.
    #[schema(value_type = String, example = "use")]
    pub permission_level: portcullis_registry::PermissionLevel,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EdgeGrant {
    /// `calling` or `delegation`.
    #[schema(value_type = String, example = "calling")]
    pub permission_type: portcullis_registry::PermissionType,
}

/// List parameters. Filters that do not apply to a kind are refused.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// 1..=500, default 50.
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// A lifecycle state.
    #[param(value_type = Option<String>)]
    pub status: Option<Lifecycle>,
    /// Case-insensitive substring of the name or description.
    pub search: Option<String>,
    /// Tools only.
    pub category: Option<String>,
    /// Tools only.
    #[param(value_type = Option<String>)]
    pub risk_level: Option<RiskLevel>,
    /// Tools only.
    pub requires_approval: Option<bool>,
    /// `GET /nhi` only: `service_account`, `agent` or `tool`.
    #[param(value_type = Option<String>)]
    pub kind: Option<portcullis_registry::NhiKind>,
}

/// A member that may be present as `null`: `Some(None)` then, `None` when absent.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
