//! Keeps in-memory views of the registry current from the store's change feed, and says how
//! current they are.
//!
//! The follower installs a snapshot when the change feed announces a newer revision, and
//! also asks the store for its revision every second, so a lost announcement (a dropped
//! Redis subscription) delays a change by a second, never forever. A polled revision lower
//! than the installed one means the store went back (a restore, or a Redis restarted
//! without its data): the follower installs what the store has then, rather than ignoring
//! every write until the revision catches up. A snapshot that cannot be
//! read or installed is retried with exponential backoff (100 ms doubling to 5 s) without
//! waiting for another write. Every failure is logged and counted in the [`RegistryView`].

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use portcullis_policy::Directory;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::snapshot::{DirectoryBuild, Skipped, Snapshot};
use crate::store::DynStore;

/// The first retry of a failed snapshot; each failure doubles it up to [`RETRY_MAX`].
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// How often the store's revision is read besides the change feed.
const POLL: Duration = Duration::from_secs(1);
/// How many left-out records a snapshot logs one by one (the rest are counted).
const LOG_SKIPPED: usize = 20;

/// How current the in-memory view of the registry is. Shared (`Arc`) between the follower,
/// which reports through the `record_*` methods, and readers (readiness, metrics).
#[derive(Debug)]
pub struct RegistryView {
    state: Mutex<ViewStatus>,
}

/// A copy of the [`RegistryView`]'s state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewStatus {
    /// The revision installed; `None` until a snapshot installs.
    pub installed: Option<u64>,
    /// The newest revision known to exist (announced, polled, or read in a snapshot).
    pub latest: u64,
    /// Since when the view has been behind `latest`, or not installed; `None` when current.
    pub behind_since: Option<Instant>,
    /// Why the last attempt failed; `None` once a snapshot installs.
    pub last_error: Option<String>,
    /// Snapshots that could not be read or installed, since start.
    pub failures: u64,
    /// Records and relations left out of the installed view ([`Skipped`]).
    pub skipped: usize,
}

impl ViewStatus {
    /// How long the view has been behind, `None` when it is current.
    pub fn staleness(&self) -> Option<Duration> {
        self.behind_since.map(|since| since.elapsed())
    }

    /// Why the view is not fit to serve: it was never installed, or it has been behind for
    /// longer than `max_staleness`. `None` when it is fit.
    pub fn unready_reason(&self, max_staleness: Duration) -> Option<String> {
        let lag = self.staleness()?;
        let cause = self
            .last_error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        match self.installed {
            None => Some(format!(
                "registry view was never installed ({:.1} s, revision {} exists){cause}",
                lag.as_secs_f64(),
                self.latest
            )),
            Some(installed) if lag > max_staleness => Some(format!(
                "registry view is {:.1} s behind revision {} (installed {installed}){cause}",
                lag.as_secs_f64(),
                self.latest
            )),
            Some(_) => None,
        }
    }
}

impl Default for RegistryView {
    fn default() -> Self {
        Self::new()
    }
}

impl RegistryView {
    /// A view that was never installed (behind since now).
    pub fn new() -> Self {
        Self {
            state: Mutex::new(ViewStatus {
                installed: None,
                latest: 0,
                behind_since: Some(Instant::now()),
                last_error: None,
                failures: 0,
                skipped: 0,
            }),
        }
    }

    pub fn status(&self) -> ViewStatus {
        self.lock().clone()
    }

    /// `Err(why)` when the view is not fit to serve (see [`ViewStatus::unready_reason`]).
    pub fn check(&self, max_staleness: Duration) -> Result<(), String> {
        self.lock()
            .unready_reason(max_staleness)
            .map_or(Ok(()), Err)
    }

    /// Revision `revision` exists (announced or read from the store).
    pub fn record_revision(&self, revision: u64) {
        let mut s = self.lock();
        s.latest = s.latest.max(revision);
        if s.installed.is_none_or(|i| s.latest > i) && s.behind_since.is_none() {
            s.behind_since = Some(Instant::now());
        }
    }

    /// The store's revision went back to `revision` (a restore, or a Redis that lost its
    /// data): the newer ones seen before no longer exist.
    pub fn record_went_back(&self, revision: u64) {
        let mut s = self.lock();
        s.latest = revision;
        if s.behind_since.is_none() {
            s.behind_since = Some(Instant::now());
        }
    }

    /// The view now serves `revision`, with `skipped` records and relations left out.
    pub fn record_installed(&self, revision: u64, skipped: usize) {
        let mut s = self.lock();
        s.installed = Some(revision);
        s.latest = s.latest.max(revision);
        s.skipped = skipped;
        s.last_error = None;
        if s.latest <= revision {
            s.behind_since = None;
        }
    }

    /// An attempt to bring the view up to date failed: until one succeeds it is not known
    /// to be current.
    pub fn record_failure(&self, error: String) {
        let mut s = self.lock();
        s.failures += 1;
        s.last_error = Some(error);
        if s.behind_since.is_none() {
            s.behind_since = Some(Instant::now());
        }
    }

    fn lock(&self) -> MutexGuard<'_, ViewStatus> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Installs the current snapshot, then a new one whenever the store has a newer revision,
/// reporting to `view`. `install` gets the snapshot and its policy-engine [`Directory`]
/// (records that cannot convert are left out, logged and counted); it runs, with the
/// conversion, on a blocking thread, never on the async workers.
///
/// Returns once the first attempt is over, whether it installed or not: a registry that
/// cannot be installed does not stop a start. The view then says why it is not ready, and
/// the follower keeps retrying.
pub async fn follow<F>(
    store: DynStore,
    view: Arc<RegistryView>,
    install: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(&Snapshot, Directory) -> Result<(), String> + Send + Sync + 'static,
{
    let (first_tx, first_rx) = tokio::sync::oneshot::channel();
    let follower = Follower {
        store,
        view,
        install: Arc::new(install),
        installed: None,
    };
    let handle = tokio::spawn(follower.run(first_tx));
    // An error only means the task ended before its first attempt.
    let _ = first_rx.await;
    handle
}

struct Follower<F> {
    store: DynStore,
    view: Arc<RegistryView>,
    install: Arc<F>,
    installed: Option<u64>,
}

impl<F> Follower<F>
where
    F: Fn(&Snapshot, Directory) -> Result<(), String> + Send + Sync + 'static,
{
    async fn run(mut self, first: tokio::sync::oneshot::Sender<()>) {
        let mut first = Some(first);
        let mut feed = Some(self.store.subscribe());
        let mut poll = tokio::time::interval_at(tokio::time::Instant::now() + POLL, POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut poll_failing = false;
        // When the next snapshot is due; `None` while the view is current.
        let mut due = Some(Instant::now());
        let mut retry = RETRY_MIN;
        loop {
            if due.is_some_and(|d| d <= Instant::now()) {
                match self.attempt().await {
                    Ok(()) => {
                        due = None;
                        retry = RETRY_MIN;
                    }
                    Err(e) => {
                        let failures = self.view.status().failures + 1;
                        tracing::error!(
                            failures,
                            retry_in_ms = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX),
                            installed = self.installed,
                            "registry view not updated: {e}"
                        );
                        self.view.record_failure(e);
                        due = Some(Instant::now() + retry);
                        retry = (retry * 2).min(RETRY_MAX);
                    }
                }
                if let Some(first) = first.take() {
                    let _ = first.send(());
                }
            }
            let installed = self.installed;
            let newer = |r: u64| installed.is_none_or(|i| r > i);
            tokio::select! {
                announced = next(&mut feed) => match announced {
                    Ok(r) => {
                        self.view.record_revision(r);
                        if newer(r) {
                            due.get_or_insert_with(Instant::now);
                        }
                    }
                    // Missed announcements: whatever they were, a fresh snapshot tells.
                    Err(RecvError::Lagged(_)) => {
                        due.get_or_insert_with(Instant::now);
                    }
                    Err(RecvError::Closed) => {
                        tracing::warn!("registry change feed closed: following by polling only");
                        feed = None;
                    }
                },
                _ = poll.tick() => match self.store.revision().await {
                    Ok(r) => {
                        poll_failing = false;
                        if self.installed.is_some_and(|i| r < i) {
                            // The store went back: restored from an older backup, or a
                            // Redis that lost its data. Its state is the truth now, and
                            // writes from here count up from a lower revision.
                            tracing::warn!(revision = r, installed = self.installed,
                                "the store's revision went back: following it");
                            self.view.record_went_back(r);
                            self.installed = None;
                            due.get_or_insert_with(Instant::now);
                        }
                        self.view.record_revision(r);
                        if newer(r) || self.installed.is_none() {
                            if due.is_none() {
                                tracing::info!(revision = r, installed = self.installed,
                                    "registry revision found by polling (announcement lost)");
                            }
                            due.get_or_insert_with(Instant::now);
                        }
                    }
                    Err(e) => {
                        if !poll_failing {
                            tracing::warn!("cannot read the registry revision: {e}");
                        }
                        poll_failing = true;
                    }
                },
                () = sleep_until(due) => {}
            }
        }
    }

    /// Reads a snapshot and installs it (off the async workers).
    async fn attempt(&mut self) -> Result<(), String> {
        let snapshot = self
            .store
            .snapshot()
            .await
            .map_err(|e| format!("cannot read a registry snapshot: {e}"))?;
        let revision = snapshot.revision;
        self.view.record_revision(revision);
        let install = self.install.clone();
        let skipped = tokio::task::spawn_blocking(move || {
            let DirectoryBuild { directory, skipped } = snapshot.build_directory();
            log_skipped(revision, &skipped);
            install(&snapshot, directory).map(|()| skipped.len())
        })
        .await
        .map_err(|e| format!("installing revision {revision} failed: {e}"))?
        .map_err(|e| format!("revision {revision} does not install: {e}"))?;
        let recovered = self.view.status().last_error.is_some();
        self.view.record_installed(revision, skipped);
        if self.installed.is_none() || recovered {
            tracing::info!(revision, skipped, "registry view installed");
        } else {
            tracing::debug!(revision, skipped, "registry view installed");
        }
        self.installed = Some(revision);
        Ok(())
    }
}

async fn next(feed: &mut Option<broadcast::Receiver<u64>>) -> Result<u64, RecvError> {
    match feed {
        Some(feed) => feed.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due.into()).await,
        None => std::future::pending().await,
    }
}

/// Logs what a snapshot left out of the view: the first few one by one, then a count.
fn log_skipped(revision: u64, skipped: &[Skipped]) {
    for s in skipped.iter().take(LOG_SKIPPED) {
        tracing::error!(
            revision,
            tenant = %s.tenant,
            kind = %s.kind,
            id = %s.id,
            "registry record left out of the policy view (calls it takes part in are denied): {}",
            s.reason
        );
    }
    if skipped.len() > LOG_SKIPPED {
        tracing::error!(
            revision,
            "{} more registry records left out of the policy view",
            skipped.len() - LOG_SKIPPED
        );
    }
}

#[cfg(test)]
mod tests;
