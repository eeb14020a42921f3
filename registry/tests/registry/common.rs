//! Test helpers: stores of each backend on real files and a real Redis server.

use std::sync::Arc;

use portcullis_registry::{DynStore, SqliteStore};

pub(crate) use portcullis_registry::testutil::RedisServer;

/// A SQLite store in a temporary directory (kept alive by the returned guard).
pub(crate) fn sqlite() -> (DynStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("registry.db")).expect("open sqlite");
    (Arc::new(store), dir)
}

/// A private redis-server on a free loopback port, stopped on drop.
pub(crate) fn redis_server() -> RedisServer {
    RedisServer::start()
}
