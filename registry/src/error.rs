//! Store errors: what went wrong, in terms a caller can map to a response.

/// A store operation that did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist (or belongs to another tenant).
    #[error("{0} not found")]
    NotFound(String),
    /// The record changed since the version the caller read.
    #[error("version conflict: expected version {expected}, the stored version is {actual}")]
    Conflict { expected: u64, actual: u64 },
    /// A record with this id already exists.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// A bound was reached (too many pending approvals of one principal, ...).
    #[error("{0}")]
    Limit(String),
    /// An argument the store cannot read (a malformed cursor, say).
    #[error("{0}")]
    Invalid(String),
    /// The store itself failed (I/O, connection, corrupt data).
    #[error("store failure: {0}")]
    Backend(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Backend(format!("sqlite: {e}"))
    }
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        Self::Backend(format!("redis: {e}"))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        Self::Backend(format!("stored record does not parse: {e}"))
    }
}
