//! Portcullis NHI registry: the domain model, the SQLite and Redis stores, vault crypto and the change feed.
//!
//! Empty for now: the issue that builds it fills it in.
