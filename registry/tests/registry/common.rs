//! Test helpers: stores of each backend on real files and a real Redis server.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_registry::{DynStore, SqliteStore};

/// A SQLite store in a temporary directory (kept alive by the returned guard).
pub(crate) fn sqlite() -> (DynStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("registry.db")).expect("open sqlite");
    (Arc::new(store), dir)
}

/// A private redis-server on a free loopback port, stopped on drop.
pub(crate) struct RedisServer {
    child: Child,
    pub(crate) url: String,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Starts `redis-server` (installed by `.ci/run`) without persistence on loopback.
pub(crate) fn redis_server() -> RedisServer {
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start redis-server (install it: apt-get install redis-server): {e}")
        });
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "redis-server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    RedisServer {
        child,
        url: format!("redis://127.0.0.1:{port}/"),
    }
}
