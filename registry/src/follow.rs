//! Keeps a policy engine's registry view current from the store's change feed.

use std::sync::Arc;
use std::time::Duration;

use portcullis_policy::Engine;
use tokio::sync::broadcast::error::RecvError;

use crate::error::StoreError;
use crate::store::DynStore;

/// Loads the current snapshot into `engine`, then rebuilds it whenever the store announces
/// a newer revision. Announcements that arrive while a rebuild runs are folded into the
/// next one. Returns once the first snapshot is in place.
pub async fn follow(
    store: DynStore,
    engine: Arc<Engine>,
) -> Result<tokio::task::JoinHandle<()>, StoreError> {
    let mut feed = store.subscribe();
    let mut current = install(&store, &engine).await?;
    Ok(tokio::spawn(async move {
        loop {
            let announced = match feed.recv().await {
                Ok(r) => r,
                // Missed announcements: whatever they were, the store's revision tells.
                Err(RecvError::Lagged(_)) => u64::MAX,
                Err(RecvError::Closed) => return,
            };
            if announced <= current {
                continue;
            }
            match install(&store, &engine).await {
                Ok(r) => current = r,
                Err(e) => {
                    tracing::warn!("registry snapshot failed, retrying: {e}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }))
}

async fn install(store: &DynStore, engine: &Engine) -> Result<u64, StoreError> {
    let snapshot = store.snapshot().await?;
    let revision = snapshot.revision;
    let directory = snapshot
        .to_directory()
        .map_err(|e| StoreError::Backend(format!("registry snapshot does not convert: {e}")))?;
    engine.set_directory(Arc::new(directory));
    tracing::debug!(revision, "registry snapshot installed");
    Ok(revision)
}
