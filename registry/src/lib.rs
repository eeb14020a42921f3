//! Portcullis NHI registry: the domain model, its storage, and the change feed.
//!
//! The model ([`Nhi`]: service accounts, agents and tools; [`Relation`]: grants, NHI-to-NHI
//! edges and user-to-NHI permissions) is stored behind one [`Store`] trait with two
//! backends: SQLite (embedded, the default) and Redis (shared by several instances). Every
//! write bumps a revision counter and announces it on the change feed, so a gateway keeps
//! an in-memory [`Snapshot`] current without reading the store per request.

pub mod approval;
pub mod campaign;
pub mod discovery;
mod error;
mod follow;
pub mod import;
mod lifecycle;
mod model;
mod redis_store;
pub mod risk;
mod snapshot;
mod sqlite;
mod store;
pub mod task;
#[cfg(feature = "test-util")]
pub mod testutil;
pub mod vault;

pub use error::StoreError;
pub use follow::{RegistryView, ViewStatus, follow};
pub use lifecycle::check_transition;
pub use model::{
    Agent, AgentFields, AuditRecord, Common, LastUse, Nhi, NhiKind, PermissionLevel,
    PermissionType, RateLimit, Relation, RelationKind, ServiceAccount, Tool, ToolFields,
    validate_input_schema,
};

pub use redis_store::RedisStore;
pub use snapshot::{DirectoryBuild, Skipped, Snapshot};
pub use sqlite::SqliteStore;
pub use store::{DynStore, Store};

pub use portcullis_policy::{Lifecycle, RiskLevel, check_tenant_id, user_entity_id};
