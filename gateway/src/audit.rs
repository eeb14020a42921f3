//! Step 10: one audit event per request, as a JSON line and in the store's audit log.
//!
//! Events carry who, what and the outcome — never argument values and never tokens: the
//! arguments appear only as the SHA-256 of their canonical JSON (keys sorted), which
//! identifies a call without revealing it. Events are written by a background task; a
//! request never waits on the audit sink. Every queue is bounded: if a sink falls behind so
//! far that its queue is full, the event is counted in `portcullis_gateway_audit_dropped_total`
//! (last-use times in `portcullis_gateway_last_use_dropped_total`) and an error line says how
//! many were lost (at most one line per [`Drops::EVERY`], so a flood cannot flood the log).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use portcullis_registry::{AuditRecord, DynStore, LastUse};
use uuid::Uuid;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use crate::error::Error;

/// Where audit lines go (`gateway.audit_log`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditSink {
    /// Standard output, one JSON object per line.
    #[default]
    Stdout,
    /// Appended to this file.
    File(PathBuf),
    Off,
}

/// One request, as audited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    #[serde(with = "time::serde::rfc3339")]
    pub time: time::OffsetDateTime,
    pub tenant: Option<String>,
    pub principal: Option<String>,
    /// Earlier actors of the delegation chain, the originator first.
    pub chain: Vec<String>,
    pub method: Option<String>,
    pub tool: Option<String>,
    /// The resource URI or the prompt a request is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// SHA-256 (hex) of the canonical JSON of the arguments.
    pub arguments_sha256: Option<String>,
    pub decision: Option<String>,
    /// The `@id`s of the policies that decided.
    pub policies: Vec<String>,
    pub status: u16,
    /// Milliseconds, written to the microsecond (`0.284`).
    #[serde(serialize_with = "micros")]
    pub latency_ms: f64,
    pub upstream: Option<String>,
    pub upstream_status: Option<u16>,
    /// Milliseconds, written to the microsecond.
    #[serde(serialize_with = "micros_opt")]
    pub upstream_ms: Option<f64>,
    /// The approval a held call asked for or consumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    /// The A2A task a request is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
}

/// `ms` rounded to the microsecond: `0.28430099999999997` is written `0.284`.
fn round_micros(ms: f64) -> f64 {
    (ms * 1_000.0).round() / 1_000.0
}

fn micros<S: serde::Serializer>(ms: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(round_micros(*ms))
}

fn micros_opt<S: serde::Serializer>(ms: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => s.serialize_some(&round_micros(*ms)),
        None => s.serialize_none(),
    }
}

/// SHA-256 of `value` rendered with object keys sorted at every level, as lowercase hex.
pub(crate) fn canonical_sha256(value: &Value) -> String {
    portcullis_registry::discovery::canonical_sha256(value)
}

/// Counts what a full queue refuses and says so in the log, at most once per
/// [`Drops::EVERY`] with the number lost since the last line.
#[derive(Debug, Clone)]
pub(crate) struct Drops {
    what: &'static str,
    counter: prometheus::IntCounter,
    since: Arc<Mutex<(u64, Option<std::time::Instant>)>>,
}

impl Drops {
    const EVERY: Duration = Duration::from_secs(10);

    pub(crate) fn new(what: &'static str, counter: prometheus::IntCounter) -> Self {
        Self {
            what,
            counter,
            since: Arc::default(),
        }
    }

    pub(crate) fn dropped(&self) {
        self.counter.inc();
        let mut since = self.since.lock();
        since.0 += 1;
        if since.1.is_none_or(|t| t.elapsed() >= Self::EVERY) {
            tracing::error!(
                lost = since.0,
                "{} queue full: {} lost since the last report",
                self.what,
                since.0
            );
            *since = (0, Some(std::time::Instant::now()));
        }
    }
}

/// How long the line writer lets audit lines gather before writing them together.
const LINES_WINDOW: Duration = Duration::from_millis(10);

/// The sending side of the audit writer.
#[derive(Debug, Clone)]
pub(crate) struct Auditor {
    /// Events, serialized once by the request (the store's record is the same text).
    tx: Option<mpsc::Sender<Box<RawValue>>>,
    dropped: Drops,
    /// Events queued, and events written (shutdown waits for them to meet).
    queued: Arc<std::sync::atomic::AtomicU64>,
    written: Arc<std::sync::atomic::AtomicU64>,
}

impl Auditor {
    /// Starts the writer task for `sink` on the current runtime.
    pub(crate) fn start(sink: &AuditSink, dropped: Drops) -> Result<Self, Error> {
        let mut out: Box<dyn Write + Send> = match sink {
            AuditSink::Off => {
                return Ok(Self {
                    tx: None,
                    dropped,
                    queued: Arc::default(),
                    written: Arc::default(),
                });
            }
            AuditSink::Stdout => Box::new(std::io::stdout()),
            AuditSink::File(path) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        Error::Config(format!("cannot open the audit log {}: {e}", path.display()))
                    })?,
            ),
        };
        let (tx, mut rx) = mpsc::channel::<Box<RawValue>>(65_536);
        let written = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = written.clone();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                while let Some(event) = rx.blocking_recv() {
                    // Let lines gather: one wake-up of this thread and one write per window,
                    // not one per request when requests come one at a time.
                    std::thread::sleep(LINES_WINDOW);
                    let mut batch = Vec::with_capacity(rx.len() + 1);
                    batch.push(event);
                    while let Ok(more) = rx.try_recv() {
                        batch.push(more);
                    }
                    // Whole lines in one write: a reader never sees half an event.
                    let mut buf = Vec::with_capacity(batch.iter().map(|l| l.get().len() + 1).sum());
                    for line in &batch {
                        buf.extend_from_slice(line.get().as_bytes());
                        buf.push(b'\n');
                    }
                    if let Err(e) = out.write_all(&buf).and_then(|()| out.flush()) {
                        tracing::error!("cannot write the audit log: {e}");
                    }
                    counted.fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Release);
                }
            })
            .map_err(|e| Error::Config(format!("cannot start the audit writer: {e}")))?;
        Ok(Self {
            tx: Some(tx),
            dropped,
            queued: Arc::default(),
            written,
        })
    }

    /// Whether events are written anywhere.
    pub(crate) fn is_on(&self) -> bool {
        self.tx.is_some()
    }

    /// Queues one event, serialized (one JSON object: the writer adds the line end).
    pub(crate) fn record(&self, event: Box<RawValue>) {
        let Some(tx) = &self.tx else { return };
        if tx.try_send(event).is_err() {
            self.dropped.dropped();
        } else {
            self.queued
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
    }

    /// Waits (until `deadline`) for every queued event to be written.
    pub(crate) async fn drain(&self, deadline: tokio::time::Instant) {
        let queued = self.queued.load(std::sync::atomic::Ordering::Acquire);
        while self.written.load(std::sync::atomic::Ordering::Acquire) < queued {
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!("shutting down with audit lines still unwritten");
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{AuditEvent, canonical_sha256};

    /// Latencies are written to the microsecond, without float noise.
    #[test]
    fn latencies_are_written_to_the_microsecond() {
        let mut event = AuditEvent {
            time: time::OffsetDateTime::UNIX_EPOCH,
            tenant: None,
            principal: None,
            chain: Vec::new(),
            method: None,
            tool: None,
            target: None,
            arguments_sha256: None,
            decision: None,
            policies: Vec::new(),
            status: 200,
            latency_ms: 0.284_300_999_999_999_97,
            upstream: None,
            upstream_status: None,
            upstream_ms: Some(12.345_678_9),
            approval: None,
            task: None,
        };
        let line = serde_json::to_string(&event).unwrap();
        assert!(line.contains(r#""latency_ms":0.284,"#), "{line}");
        assert!(line.contains(r#""upstream_ms":12.346"#), "{line}");
        event.upstream_ms = None;
        event.latency_ms = 1_234.000_6;
        let line = serde_json::to_string(&event).unwrap();
        assert!(line.contains(r#""latency_ms":1234.001,"#), "{line}");
        assert!(line.contains(r#""upstream_ms":null"#), "{line}");
        // What is written reads back.
        let back: AuditEvent = serde_json::from_str(&line).unwrap();
        assert!((back.latency_ms - 1_234.001).abs() < 1e-9);
    }

    #[test]
    fn the_hash_ignores_key_order_but_not_values() {
        let a = canonical_sha256(&json!({"b": 1, "a": {"y": [1, 2], "x": "s"}}));
        let b = canonical_sha256(&json!({"a": {"x": "s", "y": [1, 2]}, "b": 1}));
        assert_eq!(a, b);
        assert_ne!(
            a,
            canonical_sha256(&json!({"a": {"x": "s", "y": [2, 1]}, "b": 1}))
        );
        assert_eq!(a.len(), 64);
        // The SHA-256 of `{}`.
        assert_eq!(
            canonical_sha256(&json!({})),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}

/// The store side of auditing: audit records and last-use times, written in batches by
/// background tasks so a call never waits on the store.
///
/// Audit records queue (bounded) and are written in one transaction per 200 ms window (at
/// most 2,000 at a time), so a busy gateway pays one commit per window; a failing store is retried with the batch kept, and a full
/// queue is counted in `portcullis_gateway_audit_dropped_total`. Last-use times are
/// coalesced per NHI (the latest wins) and flushed every second; a failed flush merges them
/// back, so none is lost while the process runs, and `flush` writes what is pending.
#[derive(Clone)]
pub(crate) struct StoreSink {
    store: DynStore,
    tx: mpsc::Sender<AuditRecord>,
    /// Records queued, and records stored (shutdown waits for them to meet).
    queued: Arc<std::sync::atomic::AtomicU64>,
    stored: Arc<std::sync::atomic::AtomicU64>,
    uses: Arc<Mutex<HashMap<(String, Uuid), i64>>>,
    dropped: Drops,
    uses_dropped: Drops,
    max_uses: usize,
}

impl std::fmt::Debug for StoreSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSink").finish_non_exhaustive()
    }
}

/// How long the store writer lets audit records gather before writing them together.
const BATCH_WINDOW: Duration = Duration::from_millis(200);
/// The most audit records written in one transaction.
const MAX_BATCH: usize = 2_000;
/// The most audit records waiting for the store.
const QUEUE: usize = 65_536;
/// The most NHIs whose last-use time waits for the next flush.
const MAX_USES: usize = 100_000;

pub(crate) fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}

impl StoreSink {
    /// Starts the writers on the current tokio runtime.
    pub(crate) fn spawn(store: DynStore, dropped: Drops, uses_dropped: Drops) -> Self {
        let (tx, mut rx) = mpsc::channel::<AuditRecord>(QUEUE);
        let stored = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = stored.clone();
        let sink = Self {
            store: store.clone(),
            tx,
            queued: Arc::default(),
            stored,
            uses: Arc::default(),
            dropped,
            uses_dropped,
            max_uses: MAX_USES,
        };
        let writer = store.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                // Let a batch gather: one transaction (one fsync) per window, not per record;
                // with a whole batch already waiting, write it at once.
                if rx.len() + 1 < MAX_BATCH {
                    tokio::time::sleep(BATCH_WINDOW).await;
                }
                let mut batch = Vec::with_capacity(rx.len().min(MAX_BATCH) + 1);
                batch.push(first);
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                let mut backoff = Duration::from_millis(100);
                while let Err(e) = writer.append_audit(batch.clone()).await {
                    tracing::warn!("audit records not stored yet, retrying: {e}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                counted.fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Release);
            }
        });
        let flusher = sink.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                flusher.flush().await;
            }
        });
        sink
    }

    pub(crate) fn record(&self, record: AuditRecord) {
        if self.tx.try_send(record).is_err() {
            self.dropped.dropped();
        } else {
            self.queued
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
    }

    /// Writes pending last-use times and waits (until `deadline`) for every queued audit
    /// record to be stored.
    pub(crate) async fn drain(&self, deadline: tokio::time::Instant) {
        self.flush().await;
        let queued = self.queued.load(std::sync::atomic::Ordering::Acquire);
        while self.stored.load(std::sync::atomic::Ordering::Acquire) < queued {
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!("shutting down with audit records still unstored");
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Notes that `id` acted now.
    pub(crate) fn used(&self, tenant: &str, id: &str) {
        let Ok(id) = Uuid::parse_str(id) else { return };
        let at = now_ms();
        let mut uses = self.uses.lock();
        if uses.len() >= self.max_uses && !uses.contains_key(&(tenant.to_owned(), id)) {
            drop(uses);
            self.uses_dropped.dropped();
            return;
        }
        let entry = uses.entry((tenant.to_owned(), id)).or_insert(at);
        *entry = (*entry).max(at);
    }

    /// Writes pending last-use times; on failure they are kept for the next flush.
    pub(crate) async fn flush(&self) {
        let pending = std::mem::take(&mut *self.uses.lock());
        if pending.is_empty() {
            return;
        }
        let batch: Vec<LastUse> = pending
            .iter()
            .map(|((tenant_id, id), at_ms)| LastUse {
                tenant_id: tenant_id.clone(),
                id: *id,
                at_ms: *at_ms,
            })
            .collect();
        if let Err(e) = self.store.touch_last_used(batch).await {
            tracing::warn!("last-use times not stored yet, kept for the next flush: {e}");
            let mut uses = self.uses.lock();
            for (key, at) in pending {
                let entry = uses.entry(key).or_insert(at);
                *entry = (*entry).max(at);
            }
        }
    }
}

#[cfg(test)]
mod queue_tests {
    use std::sync::Arc;

    use portcullis_registry::SqliteStore;

    use super::{Drops, StoreSink};

    #[tokio::test]
    async fn a_full_last_use_queue_counts_what_it_drops() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("r.db")).unwrap());
        let counter = |name| prometheus::IntCounter::new(name, "test").unwrap();
        let (audit, uses) = (counter("a"), counter("u"));
        let mut sink = StoreSink::spawn(
            store,
            Drops::new("audit", audit),
            Drops::new("last-use", uses.clone()),
        );
        sink.max_uses = 3;
        let ids: Vec<String> = (0..5).map(|_| uuid::Uuid::now_v7().to_string()).collect();
        for id in &ids {
            sink.used("acme", id);
        }
        assert_eq!(uses.get(), 2, "two over the bound, counted");
        // A principal already waiting is updated, not dropped.
        sink.used("acme", &ids[0]);
        assert_eq!(uses.get(), 2);
        assert_eq!(sink.uses.lock().len(), 3);
    }
}
