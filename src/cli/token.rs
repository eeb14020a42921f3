//! `portcullis token issue`: a signed token for local use; `portcullis token
//! rotate-agent-key`: a new key for the access tokens of the token endpoint.

use std::path::PathBuf;

use clap::Subcommand;
use portcullis_identity::{AgentTokens, TokenKey};

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Print a token signed with the configured key (created if there is none yet): with an
    /// agent's or service account's id as `--sub` for the gateway, with a user's name for the
    /// admin API.
    Issue {
        /// The subject (`sub`). For the gateway (`/mcp`, `/a2a`): the id of an agent or
        /// service account registered in the tenant, as the admin API returned it (a UUID) —
        /// a token whose subject is a user is refused there (403 "not a registered agent or
        /// service account"). For the admin API: the user's name, e.g. `alice` (with
        /// `--role admin` to administer the tenant).
        #[arg(long)]
        sub: String,
        /// The tenant the token acts in.
        #[arg(long)]
        tenant: String,
        /// An agent the subject's authority was delegated to (repeatable, earliest first; the
        /// last is the current actor): an RFC 8693 `act` chain, for testing delegation.
        #[arg(long = "act")]
        actors: Vec<String>,
        /// A role, e.g. `admin` (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// The configuration file whose signing key signs the token (default:
        /// config/portcullis.toml when present; without one, data/signing.key).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Add a new signing key to the agent-token key file: tokens are signed with it from the
    /// next start on, and tokens of the older keys verify until they expire.
    RotateAgentKey {
        /// The configuration file, for the agent-token key file (default:
        /// config/portcullis.toml when present, else data/agent-token.keys).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

impl TokenCommand {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Issue {
                sub,
                tenant,
                actors,
                roles,
                ttl,
                config,
            } => {
                let config = Config::load(config.as_deref())?;
                let key = TokenKey::load_or_create(
                    &config.signing_key_file(),
                    &config.auth.issuer,
                    &config.auth.audience,
                )?;
                println!(
                    "{}",
                    key.issue_delegated(&sub, &actors, &tenant, &roles, ttl)?
                );
                Ok(())
            }
            Self::RotateAgentKey { config } => {
                let config = Config::load(config.as_deref())?;
                let path = config.agent_key_file();
                let kid = AgentTokens::rotate(&path)?;
                println!("new agent-token key `{kid}` added to {}", path.display());
                Ok(())
            }
        }
    }
}
