//! Hot reload: watch the policy directory and swap in a new policy set when it validates.
//!
//! A change that does not load (a syntax error, a validation error, a missing `@id`) is
//! reported and the previous set keeps serving.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::engine::Engine;
use crate::error::LoadError;

/// How the policy directory's reloads went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadStatus {
    /// The epoch of the set being served.
    pub epoch: u64,
    /// Successful reloads since start.
    pub reloads: u64,
    /// Failed reloads since start.
    pub failures: u64,
    /// Why the latest reload failed, until one succeeds.
    pub last_error: Option<LoadError>,
}

/// Watches a policy directory while alive; dropping it stops the watch.
pub struct PolicyWatcher {
    _watcher: notify::RecommendedWatcher,
    dir: PathBuf,
}

impl std::fmt::Debug for PolicyWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyWatcher")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Changes closer together than this are one reload (editors write in several steps).
const SETTLE: Duration = Duration::from_millis(200);

impl PolicyWatcher {
    /// Starts watching `dir`, reloading `engine` after each burst of changes.
    pub fn spawn(engine: Arc<Engine>, dir: &Path) -> notify::Result<Self> {
        let (tx, rx) = mpsc::channel::<()>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok_and(|e| !e.kind.is_access()) {
                    let _ = tx.send(());
                }
            })?;
        watcher.watch(dir, RecursiveMode::Recursive)?;
        let reload_dir = dir.to_path_buf();
        std::thread::Builder::new()
            .name("policy-watch".into())
            .spawn(move || {
                // Ends when the watcher (and so the sender) is dropped.
                while rx.recv().is_ok() {
                    while rx.recv_timeout(SETTLE).is_ok() {}
                    match engine.reload(&reload_dir) {
                        Ok(epoch) => {
                            tracing::info!(epoch, dir = %reload_dir.display(), "policies reloaded")
                        }
                        Err(e) => tracing::error!(
                            dir = %reload_dir.display(),
                            "policy reload failed, the previous policies keep serving: {e}"
                        ),
                    }
                }
            })
            .map_err(|e| notify::Error::generic(&e.to_string()))?;
        Ok(Self {
            _watcher: watcher,
            dir: dir.to_path_buf(),
        })
    }
}

#[cfg(test)]
mod tests;
