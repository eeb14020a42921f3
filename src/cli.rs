//! Command-line interface.

mod policy;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Portcullis: a policy-enforcing gateway for AI agents and other non-human identities.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate, test and explain Cedar policies.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
}

impl Cli {
    pub(crate) fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Policy(cmd) => cmd.run(),
        }
    }
}
