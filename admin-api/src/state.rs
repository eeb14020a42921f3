//! Shared state of the admin API.

use portcullis_registry::DynStore;
use portcullis_registry::tokens::TokenKey;

use crate::auth::HasTokenKey;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub tokens: TokenKey,
    pub metrics: Metrics,
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
