//! Shared state of the admin API.

use std::sync::Arc;
use std::time::Duration;

use portcullis_identity::TokenKey;
use portcullis_registry::{DynStore, RegistryView};

use crate::auth::HasTokenKey;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub tokens: TokenKey,
    pub metrics: Metrics,
    /// The registry view the data plane serves from; `/readyz` reports on it when set.
    pub readiness: Option<Readiness>,
    /// The secrets vault (its master keys, or why there are none).
    pub vault: crate::vault::Vault,
    /// How approvals behave (how long a given approval may be used).
    pub approvals: portcullis_registry::approval::ApprovalConfig,
    /// What the MCP upstreams offer now (the gateway of this process); none: discovery
    /// answers 503.
    pub discovery: Option<std::sync::Arc<dyn portcullis_registry::discovery::Discover>>,
    /// Where writes ask for their tenant's risk to be recomputed (none: only the periodic
    /// sweep recomputes it).
    pub risk: Option<crate::governance::RiskQueue>,
}

/// What `/readyz` holds the registry view to.
#[derive(Debug, Clone)]
pub struct Readiness {
    pub view: Arc<RegistryView>,
    /// Not ready once the view has been behind the store for longer than this.
    pub max_staleness: Duration,
    /// The policy engine, whose reload status `/readyz` reports (a failed reload leaves the
    /// previous set serving: still ready, with the error in the details).
    pub policy: Option<Arc<portcullis_policy::Engine>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl HasTokenKey for AppState {
    fn token_key(&self) -> &TokenKey {
        &self.tokens
    }
}
