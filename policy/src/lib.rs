//! Portcullis policy engine: Cedar policies over typed NHI entities, decided fast.
//!
//! The engine is pure: no network, no database. It is fed a policy directory (a Cedar
//! schema and `@id`-annotated policies, validated strictly) and a [`Directory`] snapshot of
//! the registry (typed entities), and answers [`Engine::decide`].
//!
//! Speed comes from three places:
//! - entities are converted to Cedar once per registry revision, and each decision only
//!   hands Cedar the handful of entities the request names (so the registry size does not
//!   matter);
//! - policies are indexed by their scope (`principal == ..`, `resource in ..`, the action)
//!   and each decision evaluates only the slice whose scope can match;
//! - decisions are cached under (policy epoch, registry revision, request), so a reload or a
//!   registry change makes old entries unreachable.
//!
//! Users are the one entity whose id a tenant chooses: their Cedar id is qualified with the
//! tenant (`Portcullis::User::"acme/alice"`, [`user_entity_id`]), for records, owners and
//! the request's `on_behalf_of` alike.

mod cases;
mod context;
mod decision;
mod engine;
mod entities;
mod error;
mod explain;
mod index;
mod load;
mod request;
mod tenant;
mod watch;

pub use cases::{
    Case, CaseFile, CaseOutcome, CaseReport, EntitySpec, Expectation, Verdict, run_case_file,
};
pub use decision::{Decision, Obligation};
pub use engine::{CacheStats, Engine, EngineConfig};
pub use entities::{
    Agent, Directory, DirectoryBuilder, EntityError, Lifecycle, McpServer, RiskLevel,
    ServiceAccount, Tenant, Tool, ToolAnnotations, User,
};
pub use error::{LoadError, Problem};
pub use explain::{Explanation, Reason};
pub use load::{PolicyBundle, PolicyInfo};
pub use request::{Action, Approval, EntityKind, EntityRef, NAMESPACE, Request, Target};
pub use tenant::{MAX_TENANT_ID, check_tenant_id, user_entity_id};
pub use watch::{PolicyWatcher, ReloadStatus};
