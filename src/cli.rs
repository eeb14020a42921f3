//! Command-line interface.

mod demo;
mod policy;
mod registry;
mod serve;
mod token;
mod vault;

use std::path::PathBuf;
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
    /// Start the MCP gateway and the admin API.
    Serve {
        /// The configuration file (default: config/portcullis.toml when present).
        #[arg(long)]
        config: Option<PathBuf>,
        /// A throwaway registry and a sample MCP server, with four example calls.
        #[arg(long)]
        demo: bool,
    },
    /// Run the sample MCP tool server (echo, add, transfer_funds) alone: the upstream of
    /// load tests and benchmarks.
    SampleServer {
        /// Address to listen on; the endpoint is `/mcp`.
        #[arg(long, default_value = "127.0.0.1:3001")]
        listen: std::net::SocketAddr,
        /// Refuse (401) every request without this `x-api-key`, read from the environment
        /// variable `SAMPLE_API_KEY` (to put a vault credential in front of it).
        #[arg(long)]
        require_api_key: bool,
    },
    /// Issue tokens for local use.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Validate, test and explain Cedar policies.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Import and export the registry in bulk (JSON lines).
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// The secrets vault's maintenance.
    #[command(subcommand)]
    Vault(vault::VaultCommand),
}

impl Cli {
    pub(crate) fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Serve { config, demo } => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(serve::serve(config, demo))?;
                Ok(ExitCode::SUCCESS)
            }
            Command::SampleServer {
                listen,
                require_api_key,
            } => {
                let api_key = if require_api_key {
                    let key = std::env::var("SAMPLE_API_KEY")
                        .map_err(|_| anyhow::anyhow!("--require-api-key needs SAMPLE_API_KEY"))?;
                    Some(key)
                } else {
                    None
                };
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async {
                    let addr = portcullis_gateway::serve_sample_requiring(listen, api_key).await?;
                    println!("sample MCP server on http://{addr}/mcp");
                    tokio::signal::ctrl_c().await?;
                    anyhow::Ok(())
                })?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Token(cmd) => cmd.run().map(|()| ExitCode::SUCCESS),
            Command::Policy(cmd) => cmd.run(),
            Command::Vault(cmd) => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(cmd.run())?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Registry(cmd) => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(cmd.run())?;
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}
