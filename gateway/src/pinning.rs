//! Pinned tool definitions: a tool imported from an upstream's list keeps the hash of its
//! whole definition (description, schemas, annotations); once the upstream offers something
//! else under that name — or stops offering it — the gateway refuses the tool and leaves it
//! out of `tools/list` until an admin imports it again. A tool server cannot change a tool
//! behind the security team's back.
//!
//! The upstreams' current definitions are read in the background every
//! `gateway.tool_refresh_ms` (and whenever a list is fetched anyway); a call only looks the
//! hash up. A pinned tool whose upstream could not be read yet is refused (fail closed).

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde_json::Value;

use crate::error::Error;
use crate::lookup::ToolEntry;
use crate::state::State;

/// Upstream → tool name there → the hash of its current definition.
#[derive(Default)]
pub(crate) struct Definitions(ArcSwap<HashMap<String, Arc<HashMap<String, String>>>>);

impl Definitions {
    /// Records what `upstream` offers now.
    pub(crate) fn record(&self, upstream: &str, tools: &[Value]) {
        let hashes: HashMap<String, String> = tools
            .iter()
            .filter_map(|t| {
                let name = t.get("name")?.as_str()?.to_owned();
                Some((name, portcullis_registry::discovery::definition_sha256(t)))
            })
            .collect();
        let hashes = Arc::new(hashes);
        self.0.rcu(|current| {
            let mut next = HashMap::clone(current);
            next.insert(upstream.to_owned(), hashes.clone());
            next
        });
    }

    /// Whether `upstream`'s definitions were read at least once.
    pub(crate) fn has(&self, upstream: &str) -> bool {
        self.0.load().contains_key(upstream)
    }

    /// `Ok` when `tool` is not pinned, or the upstream offers exactly the definition pinned.
    pub(crate) fn check(&self, tool: &ToolEntry) -> Result<(), Error> {
        let Some(pin) = tool.pinned.as_deref() else {
            return Ok(());
        };
        let current = self.0.load();
        let why = match current.get(&tool.upstream) {
            None => "its upstream's definition could not be read yet",
            Some(tools) => match tools.get(&tool.upstream_name) {
                None => "its upstream no longer offers it",
                Some(hash) if hash == pin => return Ok(()),
                Some(_) => "its upstream's definition changed since it was approved",
            },
        };
        Err(Error::ToolChanged {
            tool: tool.exposed_name.clone(),
            why,
        })
    }
}

/// As [`Definitions::check`]; an upstream whose definitions were never read is read first
/// (a pinned tool just installed on this replica).
pub(crate) async fn verify(state: &State, tool: &ToolEntry) -> Result<(), Error> {
    if tool.pinned.is_some() && !state.definitions.has(&tool.upstream) {
        // Boxed: reading an upstream's list is rare and its future large; a call's stays small.
        Box::pin(crate::discovery::offered(
            state,
            &tool.upstream,
            crate::discovery::Family::Tools,
        ))
        .await;
    }
    state.definitions.check(tool)
}

/// Reads every upstream's tools now (and records them); refreshes the `tools/list` cache.
pub(crate) async fn refresh(state: &State) {
    for name in state.upstreams.keys() {
        state
            .offered
            .invalidate(&(name.clone(), crate::discovery::Family::Tools));
    }
    crate::discovery::all(state, crate::discovery::Family::Tools).await;
}

/// Refreshes every `gateway.tool_refresh_ms` until `stop`.
pub(crate) fn spawn_refresh(state: Arc<State>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = std::time::Duration::from_millis(state.config.tool_refresh_ms.max(100));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                // Nothing pinned, nothing to read.
                _ = tick.tick() => if state.catalog.load().any_pinned() {
                    refresh(&state).await;
                },
                _ = stop.changed() => return,
            }
        }
    });
}
