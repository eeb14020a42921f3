//! What each upstream offers — tools, prompts, resources, resource templates — as the
//! gateway's own session with it sees them, fetched on demand and kept for 30 s.
//!
//! This view names tools for `tools/list`, checks that a prompt exists and what arguments it
//! declares, and routes resource URIs and templates to the upstream that offers them. Callers'
//! own lists are fetched in their own upstream sessions (`federate`).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::state::State;
use crate::upstream::UpstreamError;

/// A kind of list an MCP server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Family {
    Tools,
    Prompts,
    Resources,
    Templates,
}

impl Family {
    /// The list method.
    pub(crate) fn method(self) -> &'static str {
        match self {
            Self::Tools => "tools/list",
            Self::Prompts => "prompts/list",
            Self::Resources => "resources/list",
            Self::Templates => "resources/templates/list",
        }
    }

    /// The member of a list result that holds the items.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Prompts => "prompts",
            Self::Resources => "resources",
            Self::Templates => "resourceTemplates",
        }
    }
}

/// How long an upstream's list is kept.
pub(crate) const KEEP: std::time::Duration = std::time::Duration::from_secs(30);

/// One upstream's list of `family`; `None` when the upstream cannot answer now.
pub(crate) async fn offered(
    state: &State,
    upstream: &str,
    family: Family,
) -> Option<Arc<Vec<Value>>> {
    let key = (upstream.to_owned(), family);
    if let Some(cached) = state.offered.get(&key) {
        return Some(cached);
    }
    let up = state.upstreams.get(upstream)?;
    let listed = tokio::time::timeout(
        up.request_timeout,
        up.list(&state.connector, &state.ids, family),
    )
    .await
    .unwrap_or(Err(UpstreamError::Timeout));
    match listed {
        Ok(items) => {
            if family == Family::Tools {
                state.definitions.record(upstream, &items);
            }
            let items = Arc::new(items);
            state.offered.insert(key, items.clone());
            Some(items)
        }
        Err(e) => {
            state.metrics.upstream_failed(upstream, &e);
            tracing::warn!(%upstream, "{} failed: {e}", family.method());
            None
        }
    }
}

/// Every upstream's list of `family` (those that cannot answer now are left out).
pub(crate) async fn all(state: &State, family: Family) -> HashMap<String, Arc<Vec<Value>>> {
    let mut out = HashMap::new();
    for name in state.upstreams.keys() {
        if let Some(items) = offered(state, name, family).await {
            out.insert(name.clone(), items);
        }
    }
    out
}

/// The item of `upstream`'s list of `family` whose `field` is `value`.
pub(crate) async fn find(
    state: &State,
    upstream: &str,
    family: Family,
    field: &str,
    value: &str,
) -> Option<Value> {
    offered(state, upstream, family)
        .await?
        .iter()
        .find(|item| item.get(field).and_then(Value::as_str) == Some(value))
        .cloned()
}
