//! The gateway over real sockets: a real upstream MCP server, real tokens, real policies.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

mod approvals;
mod calls;
mod credentials;
mod families;
mod harness;
mod inprocess;
mod issuers;
mod oauth;
mod pinning;
mod ratelimits;
mod sessions;
mod trust;
mod upstream;
