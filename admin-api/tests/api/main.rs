//! The admin API through the real HTTP stack: a real listener, a real client, real stores.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

mod approvals;
mod audit;
mod certifications;
mod clients;
mod harness;
mod inactivity;
mod ready;
mod risk;
mod scenario;
mod seed;
mod tenants;
mod tokens;
mod vault;
