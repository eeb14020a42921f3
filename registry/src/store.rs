//! The storage contract both backends implement.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::approval::Approval;
use crate::error::StoreError;
use crate::model::{AuditRecord, LastUse, Nhi, NhiKind, Relation, RelationKind};
use crate::snapshot::Snapshot;
use crate::task::TaskOwner;
use crate::vault::{VaultDoc, VaultKind};

/// A registry store. Every write is durable when it returns `Ok` and bumps the revision.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a new record with version 1. Fails if the id exists.
    async fn insert_nhi(&self, nhi: Nhi) -> Result<Nhi, StoreError>;

    /// Replaces a record if its stored version is `expected_version`; the stored record gets
    /// version `expected_version + 1`.
    async fn update_nhi(&self, nhi: Nhi, expected_version: u64) -> Result<Nhi, StoreError>;

    async fn get_nhi(&self, tenant: &str, id: Uuid) -> Result<Option<Nhi>, StoreError>;

    /// Stores many new records (each with version 1) and relations in one write, moving the
    /// revision once. Fails if any record id exists; check the batch first with
    /// [`import::check`](crate::import::check). SQLite writes it all or nothing; Redis checks
    /// every id first, then writes in chunks.
    async fn import(&self, nhis: Vec<Nhi>, relations: Vec<Relation>) -> Result<(), StoreError>;

    /// Deletes a record and every relation that names it. `Ok(false)` if it did not exist.
    async fn delete_nhi(&self, tenant: &str, id: Uuid) -> Result<bool, StoreError>;

    /// Every record of `kind` in `tenant`, oldest first.
    async fn list_nhis(&self, tenant: &str, kind: NhiKind) -> Result<Vec<Nhi>, StoreError>;

    /// Adds or replaces a relation. `Ok(true)` if it was new.
    async fn put_relation(&self, relation: Relation) -> Result<bool, StoreError>;

    /// Removes a relation (the level of a user relation is ignored). `Ok(false)` if absent.
    async fn delete_relation(&self, relation: &Relation) -> Result<bool, StoreError>;

    /// Relations of `kind` in `tenant`, optionally only those with this source or target.
    async fn relations(
        &self,
        tenant: &str,
        kind: RelationKind,
        source: Option<&str>,
        target: Option<&str>,
    ) -> Result<Vec<Relation>, StoreError>;

    /// Appends audit events; durable when `Ok`. Does not move the revision.
    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<(), StoreError>;

    /// The newest audit events of `tenant`, newest first, at most `limit`.
    async fn audit(&self, tenant: &str, limit: usize) -> Result<Vec<AuditRecord>, StoreError>;

    /// Records when NHIs were last used: keeps the latest time per NHI, shows it as
    /// `last_used_at` on reads, and moves neither record versions nor the revision.
    async fn touch_last_used(&self, uses: Vec<LastUse>) -> Result<(), StoreError>;

    /// Writes a vault document. New when `expected` is `None` (fails if the id exists), else
    /// it replaces the stored document whose version is `expected`. The stored document gets
    /// version `expected + 1` (1 when new); the revision moves.
    async fn put_vault(&self, doc: VaultDoc, expected: Option<u64>)
    -> Result<VaultDoc, StoreError>;

    async fn vault(
        &self,
        tenant: &str,
        kind: VaultKind,
        id: &str,
    ) -> Result<Option<VaultDoc>, StoreError>;

    /// Every vault document of `kind` in `tenant`, in no particular order.
    async fn vaults(&self, tenant: &str, kind: VaultKind) -> Result<Vec<VaultDoc>, StoreError>;

    /// Removes a vault document. `Ok(false)` if it did not exist; the revision moves otherwise.
    async fn delete_vault(
        &self,
        tenant: &str,
        kind: VaultKind,
        id: &str,
    ) -> Result<bool, StoreError>;

    /// Opens an approval: stores `approval` (pending, version 1) unless an approval live at
    /// its `created_at` exists for its tenant and binding — then returns that one and
    /// `false`. Refuses ([`StoreError::Limit`]) when its principal already has `max_pending`
    /// live pending approvals. Atomic across instances; moves no revision.
    async fn open_approval(
        &self,
        approval: Approval,
        max_pending: usize,
    ) -> Result<(Approval, bool), StoreError>;

    async fn approval(&self, tenant: &str, id: Uuid) -> Result<Option<Approval>, StoreError>;

    /// Replaces an approval if its stored version is `expected` (the stored one gets
    /// `expected + 1`): of two writers that read the same version, one wins and the other
    /// gets [`StoreError::Conflict`]. Moves no revision.
    async fn update_approval(
        &self,
        approval: Approval,
        expected: u64,
    ) -> Result<Approval, StoreError>;

    /// Every approval of `tenant`, newest first.
    async fn approvals(&self, tenant: &str) -> Result<Vec<Approval>, StoreError>;

    /// How many approvals of every tenant are pending and unexpired at `now`.
    async fn pending_approvals(&self, now: time::OffsetDateTime) -> Result<u64, StoreError>;

    /// Deletes approvals created before `before` that can no longer let a call through
    /// (consumed, denied, or expired at `now`). Returns how many.
    async fn purge_approvals(
        &self,
        before: time::OffsetDateTime,
        now: time::OffsetDateTime,
    ) -> Result<usize, StoreError>;

    /// Records that MCP session `id` was ended (kept until `until`), for every gateway on
    /// this store. Moves no revision.
    async fn end_session(&self, id: &str, until: time::OffsetDateTime) -> Result<(), StoreError>;

    /// Sessions ended after position `after` (0: from the start) and not yet past their
    /// keeping time, with the position to continue from. A position past the store's newest
    /// (a store that went back) reads from the start.
    async fn ended_sessions(&self, after: u64) -> Result<(Vec<String>, u64), StoreError>;

    /// Takes one token from the shared bucket `key` (GCRA: one token per `interval`, bursts of
    /// `burst`), on the store's clock. `Ok(None)` when taken; `Ok(Some(wait))` when the
    /// bucket is empty for `wait`. Only a shared store has shared buckets: others answer
    /// [`StoreError::Invalid`].
    async fn rate_take(
        &self,
        key: &str,
        interval: std::time::Duration,
        burst: u32,
    ) -> Result<Option<std::time::Duration>, StoreError>;

    /// Stores an NHI's computed risk without changing its version — it is derived data, not
    /// an edit, and must not turn an admin's next `If-Match` into a conflict — and moves the
    /// revision, so the policy view gets the new score. `Ok(false)` when it was the same or
    /// the record is gone.
    async fn set_risk(
        &self,
        tenant: &str,
        id: Uuid,
        risk: crate::risk::Assessment,
    ) -> Result<bool, StoreError>;

    /// Audit events of `tenant`, newest first, after `cursor` (exclusive; `None`: from the
    /// newest), at most `limit`, each with its own cursor (opaque; pass the last one back for
    /// the next page).
    async fn audit_page(
        &self,
        tenant: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, AuditRecord)>, StoreError>;

    /// Stores a governance document of `kind` (a certification campaign, say) of `tenant`
    /// under `id`, if its stored version is `expected` (`None`: it must not exist yet);
    /// returns its new version. Of two writers that read the same version one wins, the other
    /// gets [`StoreError::Conflict`]. Moves no revision.
    async fn put_doc(
        &self,
        kind: &str,
        tenant: &str,
        id: &str,
        body: String,
        expected: Option<u64>,
    ) -> Result<u64, StoreError>;

    /// A governance document and its version.
    async fn doc(
        &self,
        kind: &str,
        tenant: &str,
        id: &str,
    ) -> Result<Option<(u64, String)>, StoreError>;

    /// Every document of `kind` — of `tenant`, or of every tenant — as (tenant, version,
    /// body).
    async fn docs(
        &self,
        kind: &str,
        tenant: Option<&str>,
    ) -> Result<Vec<(String, u64, String)>, StoreError>;

    /// Records `owner` as the owner of its task (tenant, agent, task id) unless the task has
    /// one already; returns the owner on record, which is `owner` when the task was free.
    /// Atomic across instances; moves no revision.
    async fn claim_task(&self, owner: TaskOwner) -> Result<TaskOwner, StoreError>;

    /// The owner of task `task_id` at agent `agent_id` of `tenant`.
    async fn task_owner(
        &self,
        tenant: &str,
        agent_id: &str,
        task_id: &str,
    ) -> Result<Option<TaskOwner>, StoreError>;

    /// The tasks `principal` created in `tenant`, newest first, at most `limit`.
    async fn owned_tasks(
        &self,
        tenant: &str,
        principal: &str,
        limit: usize,
    ) -> Result<Vec<TaskOwner>, StoreError>;

    /// Forgets the owners of tasks created before `before`. Returns how many.
    async fn purge_tasks(&self, before: time::OffsetDateTime) -> Result<usize, StoreError>;

    /// The current revision: bumped by every write.
    async fn revision(&self) -> Result<u64, StoreError>;

    /// Everything, at one revision, for building the gateway's in-memory view.
    async fn snapshot(&self) -> Result<Snapshot, StoreError>;

    /// Revisions announced after each write (in-process or across instances).
    fn subscribe(&self) -> broadcast::Receiver<u64>;

    /// Whether the store answers (for readiness checks).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// A shared store of either backend.
pub type DynStore = Arc<dyn Store>;
