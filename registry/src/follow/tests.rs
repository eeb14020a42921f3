use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::broadcast;
use uuid::Uuid;

use portcullis_policy::Directory;

use super::{RegistryView, follow};
use crate::error::StoreError;
use crate::model::RelationKind;
use crate::model::{Agent, AgentFields, AuditRecord, Common, LastUse, Nhi, NhiKind, Relation};
use crate::snapshot::Snapshot;
use crate::sqlite::SqliteStore;
use crate::store::{DynStore, Store};
use crate::vault::{VaultDoc, VaultKind};

/// A SQLite store whose next `fail` snapshots fail, and whose change feed can be cut (the
/// follower then hears of no write at all).
struct Flaky {
    inner: SqliteStore,
    fail: AtomicU32,
    /// Some: the feed the follower gets, on which nothing is ever announced.
    silent: Option<broadcast::Sender<u64>>,
}

impl Flaky {
    fn new(dir: &tempfile::TempDir, fail: u32, silent: bool) -> Arc<Self> {
        Arc::new(Self {
            inner: SqliteStore::open(&dir.path().join("registry.db")).unwrap(),
            fail: AtomicU32::new(fail),
            silent: silent.then(|| broadcast::channel(4).0),
        })
    }
}

#[async_trait]
impl Store for Flaky {
    async fn insert_nhi(&self, nhi: Nhi) -> Result<Nhi, StoreError> {
        self.inner.insert_nhi(nhi).await
    }
    async fn update_nhi(&self, nhi: Nhi, expected_version: u64) -> Result<Nhi, StoreError> {
        self.inner.update_nhi(nhi, expected_version).await
    }
    async fn get_nhi(&self, tenant: &str, id: Uuid) -> Result<Option<Nhi>, StoreError> {
        self.inner.get_nhi(tenant, id).await
    }
    async fn import(&self, nhis: Vec<Nhi>, relations: Vec<Relation>) -> Result<(), StoreError> {
        self.inner.import(nhis, relations).await
    }
    async fn delete_nhi(&self, tenant: &str, id: Uuid) -> Result<bool, StoreError> {
        self.inner.delete_nhi(tenant, id).await
    }
    async fn list_nhis(&self, tenant: &str, kind: NhiKind) -> Result<Vec<Nhi>, StoreError> {
        self.inner.list_nhis(tenant, kind).await
    }
    async fn put_relation(&self, relation: Relation) -> Result<bool, StoreError> {
        self.inner.put_relation(relation).await
    }
    async fn delete_relation(&self, relation: &Relation) -> Result<bool, StoreError> {
        self.inner.delete_relation(relation).await
    }
    async fn relations(
        &self,
        tenant: &str,
        kind: RelationKind,
        source: Option<&str>,
        target: Option<&str>,
    ) -> Result<Vec<Relation>, StoreError> {
        self.inner.relations(tenant, kind, source, target).await
    }
    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<(), StoreError> {
        self.inner.append_audit(records).await
    }
    async fn audit(&self, tenant: &str, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        self.inner.audit(tenant, limit).await
    }
    async fn touch_last_used(&self, uses: Vec<LastUse>) -> Result<(), StoreError> {
        self.inner.touch_last_used(uses).await
    }
    async fn open_approval(
        &self,
        approval: crate::approval::Approval,
        max_pending: usize,
    ) -> Result<(crate::approval::Approval, bool), StoreError> {
        self.inner.open_approval(approval, max_pending).await
    }
    async fn approval(
        &self,
        tenant: &str,
        id: Uuid,
    ) -> Result<Option<crate::approval::Approval>, StoreError> {
        self.inner.approval(tenant, id).await
    }
    async fn update_approval(
        &self,
        approval: crate::approval::Approval,
        expected: u64,
    ) -> Result<crate::approval::Approval, StoreError> {
        self.inner.update_approval(approval, expected).await
    }
    async fn approvals(&self, tenant: &str) -> Result<Vec<crate::approval::Approval>, StoreError> {
        self.inner.approvals(tenant).await
    }
    async fn pending_approvals(&self, now: time::OffsetDateTime) -> Result<u64, StoreError> {
        self.inner.pending_approvals(now).await
    }
    async fn purge_approvals(
        &self,
        before: time::OffsetDateTime,
        now: time::OffsetDateTime,
    ) -> Result<usize, StoreError> {
        self.inner.purge_approvals(before, now).await
    }
    async fn end_session(&self, id: &str, until: time::OffsetDateTime) -> Result<(), StoreError> {
        self.inner.end_session(id, until).await
    }
    async fn ended_sessions(&self, after: u64) -> Result<(Vec<String>, u64), StoreError> {
        self.inner.ended_sessions(after).await
    }
    async fn rate_take(
        &self,
        key: &str,
        interval: std::time::Duration,
        burst: u32,
    ) -> Result<Option<std::time::Duration>, StoreError> {
        self.inner.rate_take(key, interval, burst).await
    }
    async fn set_risk(
        &self,
        tenant: &str,
        id: Uuid,
        risk: crate::risk::Assessment,
    ) -> Result<bool, StoreError> {
        self.inner.set_risk(tenant, id, risk).await
    }
    async fn audit_page(
        &self,
        tenant: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, AuditRecord)>, StoreError> {
        self.inner.audit_page(tenant, cursor, limit).await
    }
    async fn put_doc(
        &self,
        kind: &str,
        tenant: &str,
        id: &str,
        body: String,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.inner.put_doc(kind, tenant, id, body, expected).await
    }
    async fn doc(
        &self,
        kind: &str,
        tenant: &str,
        id: &str,
    ) -> Result<Option<(u64, String)>, StoreError> {
        self.inner.doc(kind, tenant, id).await
    }
    async fn docs(
        &self,
        kind: &str,
        tenant: Option<&str>,
    ) -> Result<Vec<(String, u64, String)>, StoreError> {
        self.inner.docs(kind, tenant).await
    }
    async fn claim_task(
        &self,
        owner: crate::task::TaskOwner,
    ) -> Result<crate::task::TaskOwner, StoreError> {
        self.inner.claim_task(owner).await
    }
    async fn task_owner(
        &self,
        tenant: &str,
        agent_id: &str,
        task_id: &str,
    ) -> Result<Option<crate::task::TaskOwner>, StoreError> {
        self.inner.task_owner(tenant, agent_id, task_id).await
    }
    async fn owned_tasks(
        &self,
        tenant: &str,
        principal: &str,
        limit: usize,
    ) -> Result<Vec<crate::task::TaskOwner>, StoreError> {
        self.inner.owned_tasks(tenant, principal, limit).await
    }
    async fn purge_tasks(&self, before: time::OffsetDateTime) -> Result<usize, StoreError> {
        self.inner.purge_tasks(before).await
    }
    async fn revision(&self) -> Result<u64, StoreError> {
        self.inner.revision().await
    }
    async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let failing = self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(StoreError::Backend("injected snapshot failure".into()));
        }
        self.inner.snapshot().await
    }
    fn subscribe(&self) -> broadcast::Receiver<u64> {
        match &self.silent {
            Some(feed) => feed.subscribe(),
            None => self.inner.subscribe(),
        }
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn put_vault(
        &self,
        doc: VaultDoc,
        expected: Option<u64>,
    ) -> Result<VaultDoc, StoreError> {
        self.inner.put_vault(doc, expected).await
    }
    async fn vault(
        &self,
        tenant: &str,
        kind: VaultKind,
        id: &str,
    ) -> Result<Option<VaultDoc>, StoreError> {
        self.inner.vault(tenant, kind, id).await
    }
    async fn vaults(&self, tenant: &str, kind: VaultKind) -> Result<Vec<VaultDoc>, StoreError> {
        self.inner.vaults(tenant, kind).await
    }
    async fn delete_vault(
        &self,
        tenant: &str,
        kind: VaultKind,
        id: &str,
    ) -> Result<bool, StoreError> {
        self.inner.delete_vault(tenant, kind, id).await
    }
}

fn agent(tenant: &str, name: &str) -> Nhi {
    Nhi::Agent(Agent {
        common: Common::new(tenant, name),
        fields: AgentFields::default(),
    })
}

/// Records the last revision an install callback installed and how often it ran.
#[derive(Default, Clone)]
struct Recorder {
    revision: Arc<AtomicU64>,
    calls: Arc<AtomicU32>,
}

impl Recorder {
    fn install(
        &self,
    ) -> impl Fn(&Snapshot, Directory) -> Result<(), String> + Send + Sync + 'static {
        let me = self.clone();
        move |s: &Snapshot, d: Directory| {
            assert_eq!(d.revision(), s.revision);
            me.revision.store(s.revision, Ordering::SeqCst);
            me.calls.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn installed(&self) -> u64 {
        self.revision.load(Ordering::SeqCst)
    }
}

/// Waits (bounded) until `done` holds; panics with `what` otherwise.
async fn eventually(within: Duration, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_snapshot_is_retried_without_a_new_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = Flaky::new(&dir, 3, false);
    store.insert_nhi(agent("acme", "a")).await.unwrap();
    let revision = store.revision().await.unwrap();
    let view = Arc::new(RegistryView::new());
    let recorder = Recorder::default();

    let started = Instant::now();
    let _follower = follow(store.clone() as DynStore, view.clone(), recorder.install()).await;
    // The start is not held up: the view says why it is not ready.
    let status = view.status();
    assert_eq!(status.installed, None);
    assert_eq!(status.failures, 1);
    assert!(status.behind_since.is_some());
    let error = status.last_error.clone().unwrap();
    assert!(error.contains("injected snapshot failure"), "{error}");
    let reason = view.check(Duration::from_secs(60)).unwrap_err();
    assert!(
        reason.contains("never installed") && reason.contains("injected snapshot failure"),
        "{reason}"
    );

    // No write happens: the backoff alone brings it in (100 + 200 + 400 ms).
    eventually(Duration::from_secs(5), "the install", || {
        recorder.installed() == revision && view.status().installed == Some(revision)
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(recorder.calls.load(Ordering::SeqCst), 1);
    let status = view.status();
    assert_eq!(status.installed, Some(revision));
    assert_eq!(status.failures, 3);
    assert_eq!(status.last_error, None);
    assert_eq!(status.behind_since, None);
    assert_eq!(view.check(Duration::ZERO), Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_view_reports_its_lag_while_snapshots_fail_and_clears_after() {
    let dir = tempfile::tempdir().unwrap();
    let store = Flaky::new(&dir, 0, false);
    let view = Arc::new(RegistryView::new());
    let recorder = Recorder::default();
    let _follower = follow(store.clone() as DynStore, view.clone(), recorder.install()).await;
    let first = view.status().installed.unwrap();
    assert_eq!(view.check(Duration::ZERO), Ok(()));

    // A write is announced, but its snapshots fail for a while (about 1.5 s of backoff).
    store.fail.store(4, Ordering::SeqCst);
    store.insert_nhi(agent("acme", "late")).await.unwrap();
    let latest = store.revision().await.unwrap();
    eventually(Duration::from_secs(2), "a reported failure", || {
        view.status().last_error.is_some()
    })
    .await;
    let status = view.status();
    assert_eq!(status.installed, Some(first));
    assert_eq!(status.latest, latest);
    assert!(status.staleness().is_some());
    let reason = view.check(Duration::ZERO).unwrap_err();
    assert!(
        reason.contains(&format!("behind revision {latest} (installed {first})"))
            && reason.contains("injected snapshot failure"),
        "{reason}"
    );
    assert!(
        view.check(Duration::from_secs(60)).is_ok(),
        "a lag within the bound is fine"
    );

    // The view is told just after the install returns: wait for both.
    eventually(Duration::from_secs(5), "the late install", || {
        recorder.installed() == latest && view.status().installed == Some(latest)
    })
    .await;
    let status = view.status();
    assert_eq!(status.installed, Some(latest));
    assert_eq!(status.last_error, None);
    assert_eq!(status.staleness(), None);
    assert!(status.failures >= 4, "{status:?}");
    assert_eq!(view.check(Duration::ZERO), Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_that_fails_is_retried_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = Flaky::new(&dir, 0, false);
    let view = Arc::new(RegistryView::new());
    let refusals = Arc::new(AtomicU32::new(2));
    let r = refusals.clone();
    let _follower = follow(store as DynStore, view.clone(), move |_, _| {
        match r.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)) {
            Ok(_) => Err("the catalog does not build".to_owned()),
            Err(_) => Ok(()),
        }
    })
    .await;
    let error = view.status().last_error.unwrap();
    assert!(error.contains("the catalog does not build"), "{error}");
    eventually(Duration::from_secs(3), "the install", || {
        view.status().installed.is_some()
    })
    .await;
    assert_eq!(view.status().failures, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_announcement_is_caught_by_polling() {
    let dir = tempfile::tempdir().unwrap();
    let store = Flaky::new(&dir, 0, true);
    let view = Arc::new(RegistryView::new());
    let recorder = Recorder::default();
    let _follower = follow(store.clone() as DynStore, view.clone(), recorder.install()).await;
    assert!(view.status().installed.is_some());
    store
        .insert_nhi(agent("acme", "unannounced"))
        .await
        .unwrap();
    let latest = store.revision().await.unwrap();
    eventually(Duration::from_secs(3), "the polled install", || {
        recorder.installed() == latest
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_left_out_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Flaky::new(&dir, 0, false);
    store.insert_nhi(agent("acme", "fine")).await.unwrap();
    store.insert_nhi(agent("acme/eu", "odd")).await.unwrap();
    let view = Arc::new(RegistryView::new());
    let recorder = Recorder::default();
    let _follower = follow(store.clone() as DynStore, view.clone(), recorder.install()).await;
    let status = view.status();
    assert_eq!(status.installed, Some(store.revision().await.unwrap()));
    assert_eq!(recorder.installed(), status.installed.unwrap());
    assert_eq!(status.skipped, 1);
    assert_eq!(status.last_error, None);
}
