//! The configuration file (`config/portcullis.toml` documents every key).

use std::path::{Path, PathBuf};

use portcullis_admin_api::{AdminConfig, VaultConfig};
use portcullis_gateway::{AuditSink, GatewayConfig};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    /// Where the embedded store and the signing key live.
    pub(crate) data_dir: PathBuf,
    pub(crate) admin: AdminConfig,
    pub(crate) gateway: GatewayConfig,
    pub(crate) store: StoreConfig,
    pub(crate) policy: PolicyConfig,
    pub(crate) auth: AuthConfig,
    pub(crate) vault: VaultConfig,
    pub(crate) approvals: portcullis_registry::approval::ApprovalConfig,
    /// Whether the file sets `gateway.audit_log` (else audit lines go to
    /// `<data_dir>/audit.jsonl`: see [`Config::audit_log`]).
    #[serde(skip)]
    pub(crate) audit_log_set: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            admin: AdminConfig::default(),
            gateway: GatewayConfig::default(),
            store: StoreConfig::default(),
            policy: PolicyConfig::default(),
            auth: AuthConfig::default(),
            vault: VaultConfig::default(),
            approvals: portcullis_registry::approval::ApprovalConfig::default(),
            audit_log_set: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Backend {
    Sqlite,
    Redis,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct StoreConfig {
    pub(crate) backend: Backend,
    /// Default: `<data_dir>/registry.db`.
    pub(crate) sqlite_path: Option<PathBuf>,
    pub(crate) redis_url: String,
    pub(crate) redis_prefix: String,
    /// `/readyz` answers 503 once the gateway's registry view has been behind the store for
    /// longer than this (and until the first snapshot is installed), in milliseconds.
    pub(crate) max_staleness_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Sqlite,
            sqlite_path: None,
            redis_url: "redis://127.0.0.1:6379/".into(),
            redis_prefix: "portcullis".into(),
            max_staleness_ms: 5_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct PolicyConfig {
    pub(crate) dir: PathBuf,
    /// Reload on change.
    pub(crate) watch: bool,
    /// Most decisions kept in the decision cache.
    pub(crate) cache_capacity: u64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("policies"),
            watch: true,
            cache_capacity: portcullis_policy::EngineConfig::default().cache_capacity,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AuthConfig {
    /// Default: `<data_dir>/signing.key`.
    pub(crate) signing_key_file: Option<PathBuf>,
    /// Default: `<data_dir>/agent-token.keys`.
    pub(crate) agent_key_file: Option<PathBuf>,
    pub(crate) issuer: String,
    pub(crate) audience: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            signing_key_file: None,
            agent_key_file: None,
            issuer: "portcullis".into(),
            audience: "portcullis".into(),
        }
    }
}

impl Config {
    /// Reads `path`; without a path, `config/portcullis.toml` if it exists, else defaults.
    pub(crate) fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let default = Path::new("config/portcullis.toml");
        let path = match path {
            Some(p) => p,
            None if default.exists() => default,
            None => return Ok(Self::default()),
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let mut config: Self =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        config.gateway.approvals = config.approvals.clone();
        config.audit_log_set = toml::from_str::<toml::Table>(&text)
            .is_ok_and(|t| t.get("gateway").and_then(|g| g.get("audit_log")).is_some());
        Ok(config)
    }

    /// Where audit lines go: `gateway.audit_log` when the file sets it, else their own file,
    /// `<data_dir>/audit.jsonl` (kept apart from the process log on standard error and from
    /// what `serve --demo` prints).
    pub(crate) fn audit_log(&self) -> AuditSink {
        if self.audit_log_set {
            self.gateway.audit_log.clone()
        } else {
            AuditSink::File(self.data_dir.join("audit.jsonl"))
        }
    }

    pub(crate) fn sqlite_path(&self) -> PathBuf {
        self.store
            .sqlite_path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("registry.db"))
    }

    /// The vault's master keys: `VAULT_MASTER_KEY` and `vault.master_key_file`.
    pub(crate) fn vault_keys(
        &self,
    ) -> Result<portcullis_vault::MasterKeys, portcullis_vault::VaultError> {
        let env = std::env::var("VAULT_MASTER_KEY").ok();
        portcullis_vault::MasterKeys::load(env.as_deref(), self.vault.master_key_file.as_deref())
    }

    pub(crate) fn agent_key_file(&self) -> PathBuf {
        self.auth
            .agent_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("agent-token.keys"))
    }

    pub(crate) fn signing_key_file(&self) -> PathBuf {
        self.auth
            .signing_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("signing.key"))
    }
}

#[cfg(test)]
mod tests {
    use super::Config;

    /// Every shipped config parses, and an unknown key is refused.
    #[test]
    fn every_example_config_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("config dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                Config::load(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
        assert!(n >= 2);
        let err = toml::from_str::<Config>("[admin]\nlisten = \"127.0.0.1:1\"\nport = 3\n")
            .expect_err("unknown key");
        assert!(err.to_string().contains("port"), "{err}");
    }

    /// The registry staleness bound has a default of a few seconds, which the default config
    /// file states, and can be set.
    #[test]
    fn the_staleness_bound_is_configurable() {
        let defaults = Config::default().store.max_staleness_ms;
        assert!((1_000..=10_000).contains(&defaults), "{defaults}");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let shipped = Config::load(Some(&dir.join("portcullis.toml"))).expect("default config");
        assert_eq!(shipped.store.max_staleness_ms, defaults);
        assert_eq!(
            shipped.gateway.a2a,
            portcullis_gateway::A2aConfig::default()
        );
        let set: Config = toml::from_str("[store]\nmax_staleness_ms = 250\n").expect("parses");
        assert_eq!(set.store.max_staleness_ms, 250);
    }

    /// Audit lines go to their own file under the data directory unless the configuration
    /// names a sink; "stdout", "off" and a file stay available.
    #[test]
    fn audit_lines_default_to_a_file_in_the_data_directory() {
        use portcullis_gateway::AuditSink;
        use std::path::PathBuf;

        let file = PathBuf::from("data").join("audit.jsonl");
        assert_eq!(Config::default().audit_log(), AuditSink::File(file.clone()));
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let shipped = Config::load(Some(&dir.join("portcullis.toml"))).expect("default config");
        assert_eq!(shipped.audit_log(), AuditSink::File(file));

        let tmp = tempfile::tempdir().expect("tempdir");
        let load = |text: &str| {
            let path = tmp.path().join("c.toml");
            std::fs::write(&path, text).expect("write");
            Config::load(Some(&path)).expect("loads").audit_log()
        };
        assert_eq!(
            load("data_dir = \"/srv/pc\"\n"),
            AuditSink::File(PathBuf::from("/srv/pc/audit.jsonl"))
        );
        assert_eq!(
            load("[gateway]\naudit_log = \"stdout\"\n"),
            AuditSink::Stdout
        );
        assert_eq!(load("[gateway]\naudit_log = \"off\"\n"), AuditSink::Off);
        assert_eq!(
            load("[gateway]\naudit_log = { file = \"/var/log/a.jsonl\" }\n"),
            AuditSink::File(PathBuf::from("/var/log/a.jsonl"))
        );
    }
}
