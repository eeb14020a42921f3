//! The process log: human-readable lines on standard error.
//!
//! Colours only on a terminal (and never with `NO_COLOR` set), so a log redirected to a file
//! or collected by a service manager holds plain text.
//!
//! Without `RUST_LOG` the level is `info`, except for pingora's connection pool: it reports
//! its own bookkeeping at warn and error — "failed to acquire reusable stream" when an idle
//! pooled connection is still held by its idle watcher, "Unexpected data read in idle
//! connection", "Data received on idle client connection" — and in each case it drops that
//! connection and the call goes on over a new one, so these lines are noise on calls that
//! succeed. A failure that matters (an upstream that cannot be reached, a timeout) comes back
//! to the gateway as an error, which answers the call (502/504) and logs it under its own
//! target. `RUST_LOG` set (e.g. `RUST_LOG=info,pingora_core=debug`) replaces this default
//! entirely.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// The filter used when `RUST_LOG` is unset: `info`, pingora's pool bookkeeping hidden.
pub(crate) const DEFAULT_FILTER: &str = "info,pingora_core::connectors=off,pingora_pool=error";

/// Installs the global subscriber: text lines on standard error.
pub(crate) fn init() {
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_ansi(colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .with_writer(std::io::stderr)
        .init();
}

/// `RUST_LOG` when it is set and parses, else [`DEFAULT_FILTER`].
fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
}

/// Colours on a terminal, unless `NO_COLOR` is set to anything but the empty string
/// (<https://no-color.org>).
fn colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::EnvFilter;

    use super::{DEFAULT_FILTER, colour};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The default filter hides pingora's pool bookkeeping, and nothing of ours.
    #[test]
    fn the_default_filter_hides_only_pool_noise() {
        let out = Capture::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new(DEFAULT_FILTER))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(target: "pingora_core::connectors", "failed to acquire reusable stream");
            tracing::warn!(target: "pingora_core::connectors", "Unexpected data read in idle connection");
            tracing::warn!(target: "pingora_pool::connection", "Data received on idle client connection, close it");
            tracing::error!(target: "pingora_core::protocols::http::v1::client", "a real pingora error");
            tracing::warn!(target: "portcullis_gateway::forward", "upstream unreachable");
            tracing::info!(target: "portcullis::cli::serve", "ready");
            tracing::debug!(target: "portcullis_gateway", "chatter");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        for hidden in ["reusable stream", "idle connection", "chatter"] {
            assert!(!text.contains(hidden), "`{hidden}` logged:\n{text}");
        }
        for shown in ["a real pingora error", "upstream unreachable", "ready"] {
            assert!(text.contains(shown), "`{shown}` missing:\n{text}");
        }
    }

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None));
    }
}
