//! The embedded backend: one SQLite file, WAL, `synchronous = FULL`.
//!
//! A write returns only after its transaction is committed and synced, so an acknowledged
//! write survives a crash. Every write transaction also bumps the revision row; the new
//! revision is announced in-process after the commit.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::approval::{Approval, ApprovalStatus};
use crate::error::StoreError;
use crate::model::{AuditRecord, LastUse, Nhi, NhiKind, Relation, RelationKind};
use crate::snapshot::Snapshot;
use crate::store::Store;
use crate::task::TaskOwner;
use crate::vault::{VaultDoc, VaultKind};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', 0);
CREATE TABLE IF NOT EXISTS nhis (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX IF NOT EXISTS nhis_by_kind ON nhis (tenant, kind, seq);
CREATE TABLE IF NOT EXISTS relations (
    tenant TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    level TEXT,
    PRIMARY KEY (tenant, kind, source, target)
);
CREATE INDEX IF NOT EXISTS relations_by_target ON relations (tenant, kind, target);
CREATE TABLE IF NOT EXISTS last_used (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_tenant ON audit (tenant, seq);
CREATE TABLE IF NOT EXISTS vault (
    tenant TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant, kind, id)
);
CREATE TABLE IF NOT EXISTS approvals (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    binding TEXT NOT NULL,
    principal TEXT NOT NULL,
    status TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX IF NOT EXISTS approvals_by_binding ON approvals (tenant, binding, created_ms);
CREATE INDEX IF NOT EXISTS approvals_by_time ON approvals (tenant, created_ms);
CREATE INDEX IF NOT EXISTS approvals_by_principal ON approvals (tenant, principal, status, expires_ms);
CREATE INDEX IF NOT EXISTS approvals_by_status ON approvals (status, expires_ms);
CREATE TABLE IF NOT EXISTS ended_sessions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    until_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL,
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, tenant, id)
);
CREATE TABLE IF NOT EXISTS tasks (
    tenant TEXT NOT NULL,
    agent TEXT NOT NULL,
    task TEXT NOT NULL,
    principal TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant, agent, task)
);
CREATE INDEX IF NOT EXISTS tasks_by_principal ON tasks (tenant, principal, created_ms);
CREATE INDEX IF NOT EXISTS tasks_by_time ON tasks (created_ms);
";

/// The SQLite store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    feed: broadcast::Sender<u64>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Backend(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        let (feed, _) = broadcast::channel(1024);
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            feed,
        })
    }

    /// Runs `f` on the connection off the async runtime.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }

    /// Runs a write transaction that bumps the revision, then announces the new revision.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(T, bool), StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (value, revision) = self
            .with(move |conn| {
                let tx = conn.transaction()?;
                let (value, changed) = f(&tx)?;
                let revision = if changed {
                    tx.execute(
                        "UPDATE meta SET value = value + 1 WHERE key = 'revision'",
                        [],
                    )?;
                    Some(read_revision(&tx)?)
                } else {
                    None
                };
                tx.commit()?;
                Ok((value, revision))
            })
            .await?;
        if let Some(r) = revision {
            let _ = self.feed.send(r);
        }
        Ok(value)
    }
}

fn read_revision(conn: &Connection) -> Result<u64, StoreError> {
    let r: i64 = conn.query_row("SELECT value FROM meta WHERE key = 'revision'", [], |r| {
        r.get(0)
    })?;
    Ok(u64::try_from(r).unwrap_or(0))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn parse_docs(rows: Vec<(String, Option<i64>)>) -> Result<Vec<Nhi>, StoreError> {
    rows.into_iter()
        .map(|(d, used)| parse_doc(&d, used))
        .collect()
}

/// A stored document, with the last-use time kept beside it.
fn parse_doc(doc: &str, last_used_ms: Option<i64>) -> Result<Nhi, StoreError> {
    let mut nhi: Nhi = serde_json::from_str(doc)?;
    if let Some(ms) = last_used_ms {
        nhi.common_mut().last_used_at = crate::model::from_millis(ms);
    }
    Ok(nhi)
}

fn relation_from_row(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, String, String, String, Option<String>)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn to_relation(
    (tenant, kind, source, target, level): (String, String, String, String, Option<String>),
) -> Result<Relation, StoreError> {
    let kind = RelationKind::parse(&kind)
        .ok_or_else(|| StoreError::Backend(format!("unknown relation kind `{kind}`")))?;
    let level = level
        .map(|l| serde_json::from_value(serde_json::Value::String(l)))
        .transpose()?;
    Ok(Relation {
        tenant_id: tenant,
        kind,
        source,
        target,
        level,
    })
}

type VaultRow = Result<VaultDoc, StoreError>;

/// Unix milliseconds.
fn ms(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn approval_from(body: &str, version: i64) -> Result<Approval, StoreError> {
    let mut a: Approval = serde_json::from_str(body)?;
    a.version = u64::try_from(version).unwrap_or(0);
    Ok(a)
}

fn write_approval(tx: &rusqlite::Transaction<'_>, a: &Approval) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO approvals (tenant, id, binding, principal, status, created_ms, expires_ms, version, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (tenant, id) DO UPDATE SET status = excluded.status,
             expires_ms = excluded.expires_ms, version = excluded.version, body = excluded.body",
        params![
            a.tenant(),
            a.id.to_string(),
            a.binding,
            a.subject.principal_id,
            a.status.as_str(),
            ms(a.created_at),
            ms(a.expires_at),
            to_i64(a.version),
            serde_json::to_string(a)?,
        ],
    )?;
    Ok(())
}

impl SqliteStore {
    /// Runs `f` in one immediate transaction that moves no revision (approvals).
    async fn quiet<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })
        .await
    }
}

fn vault_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<VaultRow> {
    let kind: String = row.get(1)?;
    let version: i64 = row.get(3)?;
    Ok(VaultKind::parse(&kind)
        .ok_or_else(|| StoreError::Backend(format!("unknown vault kind `{kind}`")))
        .map(|kind| VaultDoc {
            tenant_id: row.get(0).unwrap_or_default(),
            kind,
            id: row.get(2).unwrap_or_default(),
            version: u64::try_from(version).unwrap_or(0),
            body: row.get(4).unwrap_or_default(),
        }))
}

#[async_trait]
impl Store for SqliteStore {
    async fn open_approval(
        &self,
        mut approval: Approval,
        max_pending: usize,
    ) -> Result<(Approval, bool), StoreError> {
        self.quiet(move |tx| {
            let now = ms(approval.created_at);
            let live = tx
                .query_row(
                    "SELECT body, version FROM approvals WHERE tenant = ?1 AND binding = ?2
                     AND status <> 'consumed' AND expires_ms > ?3 ORDER BY created_ms DESC LIMIT 1",
                    params![approval.tenant(), approval.binding, now],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
                )
                .optional()?;
            if let Some((body, version)) = live {
                return Ok((approval_from(&body, version)?, false));
            }
            let pending: i64 = tx.query_row(
                "SELECT COUNT(*) FROM approvals WHERE tenant = ?1 AND principal = ?2
                 AND status = 'pending' AND expires_ms > ?3",
                params![approval.tenant(), approval.subject.principal_id, now],
                |r| r.get(0),
            )?;
            if usize::try_from(pending).unwrap_or(usize::MAX) >= max_pending {
                return Err(StoreError::Limit(format!(
                    "`{}` has {pending} approvals pending already (at most {max_pending})",
                    approval.subject.principal_id
                )));
            }
            approval.status = ApprovalStatus::Pending;
            approval.version = 1;
            write_approval(tx, &approval)?;
            Ok((approval, true))
        })
        .await
    }

    async fn approval(&self, tenant: &str, id: Uuid) -> Result<Option<Approval>, StoreError> {
        let tenant = tenant.to_owned();
        self.with(move |conn| {
            conn.query_row(
                "SELECT body, version FROM approvals WHERE tenant = ?1 AND id = ?2",
                params![tenant, id.to_string()],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()?
            .map(|(body, version)| approval_from(&body, version))
            .transpose()
        })
        .await
    }

    async fn update_approval(
        &self,
        mut approval: Approval,
        expected: u64,
    ) -> Result<Approval, StoreError> {
        self.quiet(move |tx| {
            let stored: Option<i64> = tx
                .query_row(
                    "SELECT version FROM approvals WHERE tenant = ?1 AND id = ?2",
                    params![approval.tenant(), approval.id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(actual) = stored.map(|v| u64::try_from(v).unwrap_or(0)) else {
                return Err(StoreError::NotFound(format!("approval `{}`", approval.id)));
            };
            if actual != expected {
                return Err(StoreError::Conflict { expected, actual });
            }
            approval.version = expected + 1;
            write_approval(tx, &approval)?;
            Ok(approval)
        })
        .await
    }

    async fn approvals(&self, tenant: &str) -> Result<Vec<Approval>, StoreError> {
        let tenant = tenant.to_owned();
        self.with(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT body, version FROM approvals WHERE tenant = ?1 ORDER BY created_ms DESC, id",
            )?;
            let rows = stmt
                .query_map(params![tenant], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.iter().map(|(b, v)| approval_from(b, *v)).collect()
        })
        .await
    }

    async fn pending_approvals(&self, now: time::OffsetDateTime) -> Result<u64, StoreError> {
        self.with(move |conn| {
            let n: i64 = conn.query_row(
                "SELECT COUNT(*) FROM approvals WHERE status = 'pending' AND expires_ms > ?1",
                params![ms(now)],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn purge_approvals(
        &self,
        before: time::OffsetDateTime,
        now: time::OffsetDateTime,
    ) -> Result<usize, StoreError> {
        self.quiet(move |tx| {
            Ok(tx.execute(
                "DELETE FROM approvals WHERE created_ms < ?1
                 AND (status IN ('consumed', 'denied') OR expires_ms <= ?2)",
                params![ms(before), ms(now)],
            )?)
        })
        .await
    }

    async fn put_doc(
        &self,
        kind: &str,
        tenant: &str,
        id: &str,
        body: String,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let key = (kind.to_owned(), tenant.to_owned(), id.to_owned());
        self.quiet(move |tx| {
            let stored: Option<i64> = tx
                .query_row(
                    "SELECT version FROM docs WHERE kind = ?1 AND tenant = ?2 AND id = ?3",
                    params![key.0, key.1, key.2],
                    |r| r.get(0),
                )
                .optional()?;
            let stored = stored.map(|v| u64::try_from(v).unwrap_or(0));
            let next = match (stored, expected) {
                (None, None) => 1,
                (Some(actual), Some(expected)) if actual == expected => actual + 1,
                (Some(actual), expected) => {
                    return Err(StoreError::Conflict {
                        expected: expected.unwrap_or(0),
                        actual,
                    });
                }
                (None, Some(_)) => {
                    return Err(StoreError::NotFound(format!("{} `{}`", key.0, key.2)));
                }
            };
            tx.execute(
                "INSERT OR REPLACE INTO docs (kind, tenant, id, version, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key.0, key.1, key.2, to_i64(next), body],
            )?;
            Ok(next)
        })
        .await
    }

    async fn doc(
        &self,
        kind: &str,
        tenant: &str,
        id: &str,
    ) -> Result<Option<(u64, String)>, StoreError> {
        let key = (kind.to_owned(), tenant.to_owned(), id.to_owned());
        self.with(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT version, body FROM docs WHERE kind = ?1 AND tenant = ?2 AND id = ?3",
                    params![key.0, key.1, key.2],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
                )
                .optional()?
                .map(|(v, b)| (u64::try_from(v).unwrap_or(0), b)))
        })
        .await
    }

    async fn docs(
        &self,
        kind: &str,
        tenant: Option<&str>,
    ) -> Result<Vec<(String, u64, String)>, StoreError> {
        let (kind, tenant) = (kind.to_owned(), tenant.map(str::to_owned));
        self.with(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT tenant, version, body FROM docs WHERE kind = ?1
                 AND (?2 IS NULL OR tenant = ?2) ORDER BY tenant, id",
            )?;
            let rows = stmt
                .query_map(params![kind, tenant], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        r.get::<_, String>(2)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn claim_task(&self, owner: TaskOwner) -> Result<TaskOwner, StoreError> {
        self.quiet(move |tx| {
            let stored: Option<String> = tx
                .query_row(
                    "SELECT body FROM tasks WHERE tenant = ?1 AND agent = ?2 AND task = ?3",
                    params![owner.tenant_id, owner.agent_id, owner.task_id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(body) = stored {
                return Ok(serde_json::from_str(&body)?);
            }
            tx.execute(
                "INSERT INTO tasks (tenant, agent, task, principal, created_ms, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    owner.tenant_id,
                    owner.agent_id,
                    owner.task_id,
                    owner.principal_id,
                    ms(owner.created_at),
                    serde_json::to_string(&owner)?,
                ],
            )?;
            Ok(owner)
        })
        .await
    }

    async fn task_owner(
        &self,
        tenant: &str,
        agent_id: &str,
        task_id: &str,
    ) -> Result<Option<TaskOwner>, StoreError> {
        let key = (tenant.to_owned(), agent_id.to_owned(), task_id.to_owned());
        self.with(move |conn| {
            conn.query_row(
                "SELECT body FROM tasks WHERE tenant = ?1 AND agent = ?2 AND task = ?3",
                params![key.0, key.1, key.2],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .map(|body| serde_json::from_str(&body).map_err(StoreError::from))
            .transpose()
        })
        .await
    }

    async fn owned_tasks(
        &self,
        tenant: &str,
        principal: &str,
        limit: usize,
    ) -> Result<Vec<TaskOwner>, StoreError> {
        let (tenant, principal) = (tenant.to_owned(), principal.to_owned());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT body FROM tasks WHERE tenant = ?1 AND principal = ?2
                 ORDER BY created_ms DESC, task LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(params![tenant, principal, limit], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.iter()
                .map(|b| serde_json::from_str(b).map_err(StoreError::from))
                .collect()
        })
        .await
    }

    async fn purge_tasks(&self, before: time::OffsetDateTime) -> Result<usize, StoreError> {
        self.quiet(move |tx| {
            Ok(tx.execute(
                "DELETE FROM tasks WHERE created_ms < ?1",
                params![ms(before)],
            )?)
        })
        .await
    }

    async fn put_vault(
        &self,
        mut doc: VaultDoc,
        expected: Option<u64>,
    ) -> Result<VaultDoc, StoreError> {
        self.write(move |tx| {
            let stored: Option<i64> = tx
                .query_row(
                    "SELECT version FROM vault WHERE tenant = ?1 AND kind = ?2 AND id = ?3",
                    params![doc.tenant_id, doc.kind.as_str(), doc.id],
                    |r| r.get(0),
                )
                .optional()?;
            let what = || format!("{} `{}`", doc.kind.as_str(), doc.id);
            doc.version = match (stored, expected) {
                (None, None) => 1,
                (Some(_), None) => return Err(StoreError::AlreadyExists(what())),
                (None, Some(_)) => return Err(StoreError::NotFound(what())),
                (Some(actual), Some(expected)) => {
                    let actual = u64::try_from(actual).unwrap_or(0);
                    if actual != expected {
                        return Err(StoreError::Conflict { expected, actual });
                    }
                    expected + 1
                }
            };
            tx.execute(
                "INSERT INTO vault (tenant, kind, id, version, body) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant, kind, id) DO UPDATE SET version = excluded.version, body = excluded.body",
                params![doc.tenant_id, doc.kind.as_str(), doc.id, to_i64(doc.version), doc.body],
            )?;
            Ok((doc, true))
        })
        .await
    }

    async fn vault(
        &self,
        tenant: &str,
        kind: VaultKind,
        id: &str,
    ) -> Result<Option<VaultDoc>, StoreError> {
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.with(move |conn| {
            conn.query_row(
                "SELECT tenant, kind, id, version, body FROM vault WHERE tenant = ?1 AND kind = ?2 AND id = ?3",
                params![tenant, kind.as_str(), id],
                vault_from_row,
            )
            .optional()?
            .transpose()
        })
        .await
    }

    async fn vaults(&self, tenant: &str, kind: VaultKind) -> Result<Vec<VaultDoc>, StoreError> {
        let tenant = tenant.to_owned();
        self.with(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT tenant, kind, id, version, body FROM vault WHERE tenant = ?1 AND kind = ?2",
            )?;
            let rows = stmt
                .query_map(params![tenant, kind.as_str()], vault_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().collect()
        })
        .await
    }

    async fn delete_vault(
        &self,
        tenant: &str,
        kind: VaultKind,
        id: &str,
    ) -> Result<bool, StoreError> {
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.write(move |tx| {
            let n = tx.execute(
                "DELETE FROM vault WHERE tenant = ?1 AND kind = ?2 AND id = ?3",
                params![tenant, kind.as_str(), id],
            )?;
            Ok((n > 0, n > 0))
        })
        .await
    }

    async fn insert_nhi(&self, mut nhi: Nhi) -> Result<Nhi, StoreError> {
        nhi.common_mut().version = 1;
        self.write(move |tx| {
            let doc = serde_json::to_string(&nhi)?;
            let seq: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM nhis", [], |r| r.get(0))?;
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO nhis (tenant, id, kind, version, doc, seq) VALUES (?1, ?2, ?3, 1, ?4, ?5)",
                params![nhi.tenant(), nhi.id().to_string(), nhi.kind().as_str(), doc, seq],
            )?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists(format!("{} `{}`", nhi.kind().label(), nhi.id())));
            }
            Ok((nhi, true))
        })
        .await
    }

    async fn import(&self, nhis: Vec<Nhi>, relations: Vec<Relation>) -> Result<(), StoreError> {
        if nhis.is_empty() && relations.is_empty() {
            return Ok(());
        }
        self.write(move |tx| {
            let mut seq: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM nhis", [], |r| r.get(0))?;
            {
                let mut insert = tx.prepare(
                    "INSERT OR IGNORE INTO nhis (tenant, id, kind, version, doc, seq) VALUES (?1, ?2, ?3, 1, ?4, ?5)",
                )?;
                for mut nhi in nhis {
                    nhi.common_mut().version = 1;
                    seq += 1;
                    let doc = serde_json::to_string(&nhi)?;
                    let id = nhi.id().to_string();
                    if insert.execute(params![nhi.tenant(), id, nhi.kind().as_str(), doc, seq])? == 0 {
                        return Err(StoreError::AlreadyExists(format!("{} `{id}`", nhi.kind().label())));
                    }
                }
                let mut relate = tx.prepare(
                    "INSERT INTO relations (tenant, kind, source, target, level) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (tenant, kind, source, target) DO UPDATE SET level = excluded.level",
                )?;
                for r in &relations {
                    relate.execute(params![r.tenant_id, r.kind.as_str(), r.source, r.target, r.level.map(|l| l.as_str())])?;
                }
            }
            Ok(((), true))
        })
        .await
    }

    async fn update_nhi(&self, mut nhi: Nhi, expected_version: u64) -> Result<Nhi, StoreError> {
        self.write(move |tx| {
            let current: Option<i64> = tx
                .query_row(
                    "SELECT version FROM nhis WHERE tenant = ?1 AND id = ?2 AND kind = ?3",
                    params![nhi.tenant(), nhi.id().to_string(), nhi.kind().as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(current) = current else {
                return Err(StoreError::NotFound(format!(
                    "{} `{}`",
                    nhi.kind().label(),
                    nhi.id()
                )));
            };
            let current = u64::try_from(current).unwrap_or(0);
            if current != expected_version {
                return Err(StoreError::Conflict {
                    expected: expected_version,
                    actual: current,
                });
            }
            nhi.common_mut().version = current + 1;
            let doc = serde_json::to_string(&nhi)?;
            tx.execute(
                "UPDATE nhis SET version = ?1, doc = ?2 WHERE tenant = ?3 AND id = ?4",
                params![to_i64(current + 1), doc, nhi.tenant(), nhi.id().to_string()],
            )?;
            Ok((nhi, true))
        })
        .await
    }

    async fn get_nhi(&self, tenant: &str, id: Uuid) -> Result<Option<Nhi>, StoreError> {
        let tenant = tenant.to_owned();
        self.with(move |conn| {
            let row: Option<(String, Option<i64>)> = conn
                .query_row(
                    "SELECT n.doc, u.at_ms FROM nhis n LEFT JOIN last_used u ON u.tenant = n.tenant AND u.id = n.id
                     WHERE n.tenant = ?1 AND n.id = ?2",
                    params![tenant, id.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            row.map(|(d, used)| parse_doc(&d, used)).transpose()
        })
        .await
    }

    async fn delete_nhi(&self, tenant: &str, id: Uuid) -> Result<bool, StoreError> {
        let tenant = tenant.to_owned();
        self.write(move |tx| {
            let id = id.to_string();
            let deleted = tx.execute(
                "DELETE FROM nhis WHERE tenant = ?1 AND id = ?2",
                params![tenant, id],
            )?;
            if deleted > 0 {
                tx.execute(
                    "DELETE FROM relations WHERE tenant = ?1 AND (source = ?2 OR target = ?2)",
                    params![tenant, id],
                )?;
                tx.execute(
                    "DELETE FROM last_used WHERE tenant = ?1 AND id = ?2",
                    params![tenant, id],
                )?;
            }
            Ok((deleted > 0, deleted > 0))
        })
        .await
    }

    async fn list_nhis(&self, tenant: &str, kind: NhiKind) -> Result<Vec<Nhi>, StoreError> {
        let tenant = tenant.to_owned();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT n.doc, u.at_ms FROM nhis n LEFT JOIN last_used u ON u.tenant = n.tenant AND u.id = n.id
                 WHERE n.tenant = ?1 AND n.kind = ?2 ORDER BY n.seq",
            )?;
            let rows = stmt
                .query_map(params![tenant, kind.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            parse_docs(rows)
        })
        .await
    }

    async fn put_relation(&self, relation: Relation) -> Result<bool, StoreError> {
        self.write(move |tx| {
            let level = relation.level.map(|l| l.as_str());
            let existing: Option<Option<String>> = tx
                .query_row(
                    "SELECT level FROM relations WHERE tenant = ?1 AND kind = ?2 AND source = ?3 AND target = ?4",
                    params![relation.tenant_id, relation.kind.as_str(), relation.source, relation.target],
                    |r| r.get(0),
                )
                .optional()?;
            let new = existing.is_none();
            if existing.as_ref().map(|l| l.as_deref()) == Some(level) {
                return Ok((false, false));
            }
            tx.execute(
                "INSERT INTO relations (tenant, kind, source, target, level) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant, kind, source, target) DO UPDATE SET level = excluded.level",
                params![relation.tenant_id, relation.kind.as_str(), relation.source, relation.target, level],
            )?;
            Ok((new, true))
        })
        .await
    }

    async fn delete_relation(&self, relation: &Relation) -> Result<bool, StoreError> {
        let r = relation.clone();
        self.write(move |tx| {
            let n = tx.execute(
                "DELETE FROM relations WHERE tenant = ?1 AND kind = ?2 AND source = ?3 AND target = ?4",
                params![r.tenant_id, r.kind.as_str(), r.source, r.target],
            )?;
            Ok((n > 0, n > 0))
        })
        .await
    }

    async fn relations(
        &self,
        tenant: &str,
        kind: RelationKind,
        source: Option<&str>,
        target: Option<&str>,
    ) -> Result<Vec<Relation>, StoreError> {
        let (tenant, source, target) = (
            tenant.to_owned(),
            source.map(str::to_owned),
            target.map(str::to_owned),
        );
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT tenant, kind, source, target, level FROM relations
                 WHERE tenant = ?1 AND kind = ?2 AND (?3 IS NULL OR source = ?3) AND (?4 IS NULL OR target = ?4)
                 ORDER BY rowid",
            )?;
            let rows = stmt
                .query_map(params![tenant, kind.as_str(), source, target], relation_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(to_relation).collect()
        })
        .await
    }

    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<(), StoreError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO audit (tenant, at_ms, event) VALUES (?1, ?2, ?3)",
                )?;
                for r in &records {
                    stmt.execute(params![r.tenant_id, r.at_ms, r.event.get()])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn audit(&self, tenant: &str, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let tenant = tenant.to_owned();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT tenant, at_ms, event FROM audit WHERE tenant = ?1 ORDER BY seq DESC LIMIT ?2",
            )?;
            let rows = stmt
                .query_map(params![tenant, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(tenant_id, at_ms, event)| {
                    Ok(AuditRecord {
                        tenant_id,
                        at_ms,
                        event: serde_json::value::RawValue::from_string(event)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn end_session(&self, id: &str, until: time::OffsetDateTime) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.quiet(move |tx| {
            let now = ms(time::OffsetDateTime::now_utc());
            tx.execute(
                "DELETE FROM ended_sessions WHERE until_ms <= ?1",
                params![now],
            )?;
            tx.execute(
                "INSERT INTO ended_sessions (id, until_ms) VALUES (?1, ?2)",
                params![id, ms(until)],
            )?;
            // Bounded like the Redis log: the newest million.
            tx.execute(
                "DELETE FROM ended_sessions WHERE seq <= last_insert_rowid() - 1000000",
                [],
            )?;
            Ok(())
        })
        .await
    }

    async fn ended_sessions(&self, after: u64) -> Result<(Vec<String>, u64), StoreError> {
        self.with(move |conn| {
            let now = ms(time::OffsetDateTime::now_utc());
            let newest: i64 = conn.query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM ended_sessions",
                [],
                |r| r.get(0),
            )?;
            // A position past the newest: the file went back (a restore). Read it all again.
            let after = if newest < to_i64(after) { 0 } else { after };
            let mut stmt = conn.prepare_cached(
                "SELECT seq, id, until_ms FROM ended_sessions WHERE seq > ?1 ORDER BY seq LIMIT 10000",
            )?;
            let rows = stmt
                .query_map(params![to_i64(after)], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let next = rows
                .last()
                .map_or(after, |(seq, _, _)| u64::try_from(*seq).unwrap_or(after));
            let ids = rows
                .into_iter()
                .filter(|(_, _, until)| *until > now)
                .map(|(_, id, _)| id)
                .collect();
            Ok((ids, next))
        })
        .await
    }

    async fn rate_take(
        &self,
        _key: &str,
        _interval: std::time::Duration,
        _burst: u32,
    ) -> Result<Option<std::time::Duration>, StoreError> {
        Err(StoreError::Invalid(
            "shared rate limits need the Redis store".into(),
        ))
    }

    async fn set_risk(
        &self,
        tenant: &str,
        id: Uuid,
        risk: crate::risk::Assessment,
    ) -> Result<bool, StoreError> {
        let tenant = tenant.to_owned();
        self.write(move |tx| {
            let doc: Option<String> = tx
                .query_row(
                    "SELECT doc FROM nhis WHERE tenant = ?1 AND id = ?2",
                    params![tenant, id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(doc) = doc else {
                return Ok((false, false));
            };
            let mut nhi: Nhi = serde_json::from_str(&doc)?;
            if nhi.common().risk.as_ref().is_some_and(|r| r.same_as(&risk)) {
                return Ok((false, false));
            }
            nhi.common_mut().risk = Some(risk);
            tx.execute(
                "UPDATE nhis SET doc = ?1 WHERE tenant = ?2 AND id = ?3",
                params![serde_json::to_string(&nhi)?, tenant, id.to_string()],
            )?;
            Ok((true, true))
        })
        .await
    }

    async fn audit_page(
        &self,
        tenant: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, AuditRecord)>, StoreError> {
        let before = match cursor {
            None => i64::MAX,
            Some(c) => c.parse::<i64>().map_err(|_| {
                StoreError::Invalid(format!(
                    "`{}` is not an audit cursor",
                    c.chars().take(32).collect::<String>()
                ))
            })?,
        };
        let tenant = tenant.to_owned();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, tenant, at_ms, event FROM audit WHERE tenant = ?1 AND seq < ?2
                 ORDER BY seq DESC LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(
                    params![tenant, before, i64::try_from(limit).unwrap_or(i64::MAX)],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    },
                )?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(seq, tenant_id, at_ms, event)| {
                    Ok((
                        seq.to_string(),
                        AuditRecord {
                            tenant_id,
                            at_ms,
                            event: serde_json::value::RawValue::from_string(event)?,
                        },
                    ))
                })
                .collect()
        })
        .await
    }

    async fn touch_last_used(&self, uses: Vec<LastUse>) -> Result<(), StoreError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO last_used (tenant, id, at_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (tenant, id) DO UPDATE SET at_ms = MAX(at_ms, excluded.at_ms)",
                )?;
                for u in &uses {
                    stmt.execute(params![u.tenant_id, u.id.to_string(), u.at_ms])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        self.with(|conn| read_revision(conn)).await
    }

    async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            let revision = read_revision(&tx)?;
            // Parsed row by row: the documents' text is never all in memory at once.
            let mut nhis = Vec::new();
            {
                let mut stmt = tx.prepare(
                    "SELECT n.doc, u.at_ms FROM nhis n LEFT JOIN last_used u ON u.tenant = n.tenant AND u.id = n.id
                     ORDER BY n.seq",
                )?;
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    let doc = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
                    nhis.push(parse_doc(doc, row.get(1)?)?);
                }
            }
            let relations = {
                let mut stmt = tx.prepare(
                    "SELECT tenant, kind, source, target, level FROM relations ORDER BY rowid",
                )?;
                stmt.query_map([], relation_from_row)?
                    .collect::<Result<Vec<_>, _>>()?
            };
            let vault = {
                let mut stmt = tx.prepare("SELECT tenant, kind, id, version, body FROM vault")?;
                stmt.query_map([], vault_from_row)?
                    .collect::<Result<Vec<_>, _>>()?
            };
            tx.commit()?;
            Ok(Snapshot {
                revision,
                nhis,
                relations: relations
                    .into_iter()
                    .map(to_relation)
                    .collect::<Result<_, _>>()?,
                vault: vault.into_iter().collect::<Result<_, _>>()?,
            })
        })
        .await
    }

    fn subscribe(&self) -> broadcast::Receiver<u64> {
        self.feed.subscribe()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(StoreError::from)
        })
        .await
    }
}
