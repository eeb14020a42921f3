//! `portcullis vault rewrap`: every secret version moved to the current master key;
//! `portcullis vault new-key`: a key-file line with a new random master key.

use std::path::PathBuf;

use clap::Subcommand;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub(crate) enum VaultCommand {
    /// Re-wrap every secret version's data key under the current master key (after adding a
    /// new key to the key file or setting a new VAULT_MASTER_KEY with the old one in the
    /// file); the values' ciphertexts stay as they are. Then the old key can be removed.
    Rewrap {
        /// The configuration file, for the store and the vault's master keys (default:
        /// config/portcullis.toml when present, else the defaults).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print a key-file line (`<id> <base64 key>`) holding a new random master key: append it
    /// to the key file (`>> data/vault.keys`; keep the file mode 0600).
    NewKey {
        /// The key's id, e.g. the date it was made.
        #[arg(long)]
        id: String,
    },
}

impl VaultCommand {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Rewrap { config } => {
                let config = Config::load(config.as_deref())?;
                let keys = config.vault_keys()?;
                let store = super::serve::open_store(&config).await?;
                let moved = portcullis_admin_api::vault::rewrap(&store, &keys)
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                eprintln!(
                    "{moved} secret version(s) re-wrapped under master key `{}`",
                    keys.current_id()
                );
                Ok(())
            }
            Self::NewKey { id } => {
                let line = portcullis_vault::MasterKeys::new_key_line(&id)?;
                println!("{}", *line);
                Ok(())
            }
        }
    }
}
