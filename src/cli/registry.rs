//! `portcullis registry import | export`: the registry as JSON lines, in bulk.

use std::io::BufReader;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use portcullis_registry::import;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub(crate) enum RegistryCommand {
    /// Add records and relations from a JSON lines file (`-` reads standard input), each line
    /// `{"nhi": …}` or `{"relation": …}` as `export` writes them. The whole file is checked
    /// first; it is stored in one write.
    Import {
        /// The JSON lines file (`-`: standard input).
        file: PathBuf,
        /// The configuration file, for the store it names (default: config/portcullis.toml
        /// when present, else the SQLite registry data/registry.db).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print every record and relation as JSON lines.
    Export {
        /// The configuration file, for the store it names (default: config/portcullis.toml
        /// when present, else the SQLite registry data/registry.db).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

impl RegistryCommand {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Import { file, config } => {
                let config = Config::load(config.as_deref())?;
                let batch = if file.as_os_str() == "-" {
                    import::read(std::io::stdin().lock())
                } else {
                    let f = std::fs::File::open(&file)
                        .with_context(|| format!("cannot open {}", file.display()))?;
                    import::read(BufReader::new(f))
                }
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                let store = super::serve::open_store(&config).await?;
                let existing = store.snapshot().await?;
                import::check(&batch, &existing)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                let (nhis, relations) = (batch.nhis.len(), batch.relations.len());
                store.import(batch.nhis, batch.relations).await?;
                eprintln!(
                    "imported {nhis} records and {relations} relations (revision {})",
                    store.revision().await?
                );
                Ok(())
            }
            Self::Export { config } => {
                let config = Config::load(config.as_deref())?;
                let store = super::serve::open_store(&config).await?;
                let snapshot = store.snapshot().await?;
                import::write(&snapshot, std::io::BufWriter::new(std::io::stdout().lock()))?;
                Ok(())
            }
        }
    }
}
