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
                // The demo's throwaway directory is removed once the runtime (and every task
                // writing there) has stopped, whether the demo ended well or not.
                let demo_dir = demo.then(demo::DemoDir::create).transpose()?;
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()?;
                let served =
                    runtime.block_on(serve::serve(config, demo_dir.as_ref().map(|d| d.path())));
                runtime.shutdown_timeout(std::time::Duration::from_secs(2));
                drop(demo_dir);
                served?;
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::Cli;

    /// Every option and argument of every command says what it is.
    #[test]
    fn every_argument_is_described() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if !matches!(id, "help" | "version") && arg.get_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "portcullis", &mut missing);
        assert!(missing.is_empty(), "undescribed: {missing:?}");
    }

    /// `token issue --sub` says whose id it takes where.
    #[test]
    fn the_token_subject_is_explained() {
        let cli = Cli::command();
        let sub = cli
            .find_subcommand("token")
            .and_then(|t| t.find_subcommand("issue"))
            .and_then(|i| i.get_arguments().find(|a| a.get_id() == "sub"))
            .and_then(|a| a.get_help())
            .map(ToString::to_string)
            .unwrap_or_default();
        for needle in [
            "agent",
            "/mcp",
            "not a registered agent",
            "admin API",
            "user",
        ] {
            assert!(
                sub.contains(needle),
                "`{needle}` missing from --sub's help: {sub}"
            );
        }
    }
}
