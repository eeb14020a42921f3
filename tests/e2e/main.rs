//! End-to-end tests of the `portcullis` binary: real processes, real files, real sockets.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail the test loudly on a broken fixture"
)]

mod a2a;
mod approvals;
mod cli;
mod console;
mod demo;
mod durability;
mod features;
mod governance;
mod interop;
mod scaleout;
mod schemathesis;
mod shutdown;
mod tenants;
mod vault;
mod walkthrough;
