//! Keeps in-memory views of the registry current from the store's change feed.

use std::time::Duration;

use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::error::StoreError;
use crate::snapshot::Snapshot;
use crate::store::DynStore;

/// Hands the current snapshot to `install`, then a new one whenever the store announces a
/// newer revision. Announcements that arrive while a snapshot is taken are folded into the
/// next one. Returns once the first snapshot is installed.
pub async fn follow<F>(
    store: DynStore,
    install: F,
) -> Result<tokio::task::JoinHandle<()>, StoreError>
where
    F: Fn(&Snapshot) -> Result<(), String> + Send + Sync + 'static,
{
    let mut feed = store.subscribe();
    let mut current = take(&store, &install).await?;
    Ok(tokio::spawn(async move {
        loop {
            let mut announced = match feed.recv().await {
                Ok(r) => r,
                // Missed announcements: whatever they were, a fresh snapshot tells.
                Err(RecvError::Lagged(_)) => u64::MAX,
                Err(RecvError::Closed) => return,
            };
            // Writes announced meanwhile are covered by the same snapshot.
            loop {
                match feed.try_recv() {
                    Ok(r) => announced = announced.max(r),
                    Err(TryRecvError::Lagged(_)) => announced = u64::MAX,
                    Err(_) => break,
                }
            }
            if announced <= current {
                continue;
            }
            match take(&store, &install).await {
                Ok(r) => current = r,
                Err(e) => {
                    tracing::warn!("registry snapshot failed, retrying: {e}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }))
}

async fn take<F>(store: &DynStore, install: &F) -> Result<u64, StoreError>
where
    F: Fn(&Snapshot) -> Result<(), String>,
{
    let snapshot = store.snapshot().await?;
    install(&snapshot)
        .map_err(|e| StoreError::Backend(format!("registry snapshot does not install: {e}")))?;
    tracing::debug!(revision = snapshot.revision, "registry snapshot installed");
    Ok(snapshot.revision)
}
