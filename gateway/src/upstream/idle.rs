//! Idle connections to one upstream, kept for the next request.
//!
//! pingora's connector pools connections too, but for each connection it takes back it
//! spawns a task to watch it, and for each one it hands out it asks the kernel for the
//! peer's address: with one request after another on the same few connections, a task and a
//! system call per call. Here, each upstream keeps a stack of idle streams:
//!
//! - the most recently used is handed out first (warm, and the least likely to be closed);
//! - before it is handed out, one non-blocking read checks it: an upstream never speaks
//!   first on an idle connection, so anything readable is its close (or bytes that belong to
//!   no request), and the connection is dropped;
//! - a connection idle longer than the idle timeout, or beyond the cap, is dropped (the
//!   oldest first), when connections are taken back and by a sweep every
//!   [`SWEEP_EVERY`], so connections the upstream closed do not linger.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use parking_lot::Mutex;
use pingora::protocols::Stream;
use tokio::io::AsyncReadExt as _;

/// How often idle connections are checked for closes and age.
pub(crate) const SWEEP_EVERY: Duration = Duration::from_secs(15);

/// The idle connections to one upstream.
pub(crate) struct Idle {
    inner: Arc<Inner>,
    sweeping: AtomicBool,
}

struct Inner {
    /// Oldest at the front, most recently used at the back.
    streams: Mutex<VecDeque<(Stream, Instant)>>,
    timeout: Duration,
    cap: usize,
}

impl std::fmt::Debug for Idle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idle")
            .field("connections", &self.inner.streams.lock().len())
            .finish_non_exhaustive()
    }
}

impl Idle {
    /// At most `cap` idle connections, each kept at most `timeout`.
    pub(crate) fn new(timeout: Duration, cap: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                streams: Mutex::new(VecDeque::new()),
                timeout,
                cap,
            }),
            sweeping: AtomicBool::new(false),
        }
    }

    /// The most recently used connection that is still open and not too old.
    pub(crate) fn take(&self) -> Option<Stream> {
        loop {
            let (mut stream, since) = self.inner.streams.lock().pop_back()?;
            if since.elapsed() < self.inner.timeout && still_open(&mut stream) {
                return Some(stream);
            }
            // Dropped here, outside the lock.
        }
    }

    /// Keeps `stream` (its response read to the end) for the next request.
    pub(crate) fn put(&self, stream: Stream) {
        let now = Instant::now();
        let dropped = {
            let mut streams = self.inner.streams.lock();
            let mut dropped = self.inner.expired(&mut streams, now);
            if streams.len() >= self.inner.cap {
                dropped.extend(streams.pop_front().map(|(s, _)| s));
            }
            streams.push_back((stream, now));
            dropped
        };
        drop(dropped);
        self.sweep_in_background();
    }

    /// How many connections are idle.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.streams.lock().len()
    }

    /// Drops the connections that are too old or that the upstream closed.
    #[cfg(test)]
    pub(crate) fn sweep(&self) {
        self.inner.sweep();
    }

    /// Starts the periodic sweep on the current runtime, once; it ends with the pool.
    fn sweep_in_background(&self) {
        if self.sweeping.swap(true, Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.sweeping.store(false, Ordering::Relaxed);
            return;
        };
        let pool: Weak<Inner> = Arc::downgrade(&self.inner);
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = pool.upgrade() else { return };
                inner.sweep();
            }
        });
    }
}

impl Inner {
    /// Removes the connections idle for the timeout or longer (the oldest are at the front).
    fn expired(&self, streams: &mut VecDeque<(Stream, Instant)>, now: Instant) -> Vec<Stream> {
        let mut expired = Vec::new();
        while let Some((_, since)) = streams.front() {
            if now.duration_since(*since) < self.timeout {
                break;
            }
            expired.extend(streams.pop_front().map(|(s, _)| s));
        }
        expired
    }

    fn sweep(&self) {
        let dropped = {
            let mut streams = self.streams.lock();
            let mut dropped = self.expired(&mut streams, Instant::now());
            let mut kept = VecDeque::with_capacity(streams.len());
            for (mut stream, since) in streams.drain(..) {
                if still_open(&mut stream) {
                    kept.push_back((stream, since));
                } else {
                    dropped.push(stream);
                }
            }
            *streams = kept;
            dropped
        };
        drop(dropped);
    }
}

/// Whether an idle connection is still open: a read that would block. Closed (0), broken
/// (an error) or holding bytes nobody asked for, it is not reusable.
fn still_open(stream: &mut Stream) -> bool {
    let mut byte = [0u8; 1];
    // Unconstrained: tokio's cooperative budget must not make a ready read look pending.
    tokio::task::unconstrained(stream.read(&mut byte))
        .now_or_never()
        .is_none()
}
