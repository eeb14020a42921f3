//! The `portcullis` binary: wiring and the command line only.

mod cli;
mod config;
mod logging;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than glibc's allocator: a registry rebuild allocates and frees ~100 MiB per
/// 100,000 agents on whichever threads run it, and glibc keeps such memory in per-thread
/// arenas (measured in BENCHMARKS.md); mimalloc returns it to the system.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    logging::init();
    match cli.run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
