//! `portcullis serve`: the admin API and the MCP gateway, over one registry and one engine.

use std::future::IntoFuture as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use portcullis_admin_api::{AppState, Metrics, Readiness, Vault};
use portcullis_gateway::{AuditSink, Gateway};
use portcullis_identity::{TokenKey, load_or_create_secret};
use portcullis_policy::{Engine, EngineConfig, PolicyWatcher};
use portcullis_registry::{DynStore, RedisStore, RegistryView, SqliteStore};

use crate::config::{Backend, Config};

/// Serves until Ctrl-C or SIGTERM; with `demo`, the demo's data directory, over a
/// throwaway registry (the caller removes the directory once every task has stopped).
pub(crate) async fn serve(config_path: Option<PathBuf>, demo: Option<&Path>) -> anyhow::Result<()> {
    // Listened for from the start: a signal during start-up stops the server once it is up
    // (and the demo's directory is still removed) instead of killing the process.
    let signals = Signals::listen()?;
    let mut config = Config::load(config_path.as_deref())?;
    let demo_upstreams = match demo {
        Some(dir) => Some(super::demo::configure(&mut config, dir).await?),
        None => None,
    };
    config.gateway.audit_log = config.audit_log();
    if let AuditSink::File(path) = &config.gateway.audit_log
        && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let store = open_store(&config).await?;
    let seeded = match demo_upstreams {
        Some(upstreams) => Some(super::demo::seed(&store, upstreams).await?),
        None => None,
    };

    let engine = Arc::new(
        Engine::from_dir(
            &config.policy.dir,
            EngineConfig {
                cache_capacity: config.policy.cache_capacity,
            },
        )
        .with_context(|| format!("policies in {} do not load", config.policy.dir.display()))?,
    );
    let _watcher = if config.policy.watch {
        Some(
            PolicyWatcher::spawn(engine.clone(), &config.policy.dir)
                .context("cannot watch the policy directory")?,
        )
    } else {
        None
    };
    let tokens = TokenKey::load_or_create(
        &config.signing_key_file(),
        &config.auth.issuer,
        &config.auth.audience,
    )?;
    let registry = prometheus::Registry::new();
    let session_key_file = config
        .gateway
        .session_key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("session.key"));
    let session_key =
        load_or_create_secret(&session_key_file, "session key").map_err(|e| anyhow::anyhow!(e))?;
    let gateway = Arc::new(
        Gateway::new(
            config.gateway.clone(),
            engine.clone(),
            tokens.clone(),
            &session_key,
            &registry,
            Some(store.clone()),
        )
        .map_err(|e| anyhow::anyhow!("gateway configuration: {e}"))?,
    );
    gateway.issue_agent_tokens(config.agent_key_file());
    // The vault's master keys open upstream credentials in the gateway and secrets in the
    // admin API; without them both run, and vault endpoints answer 503.
    let keys = config.vault_keys().map(Arc::new);
    match &keys {
        Ok(keys) => gateway.use_vault(keys.clone()),
        Err(e) => tracing::warn!("the vault is unavailable (its endpoints answer 503): {e}"),
    }
    // The follower keeps the engine and the gateway on the newest registry revision. If the
    // first snapshot does not install, the start goes on: every call is refused (no principal
    // is known), `/readyz` says why, and the follower keeps retrying.
    let view = Arc::new(RegistryView::new());
    let max_staleness = Duration::from_millis(config.store.max_staleness_ms);
    let (feed_engine, feed_gateway) = (engine.clone(), gateway.clone());
    let _follower =
        portcullis_registry::follow(store.clone(), view.clone(), move |snapshot, directory| {
            feed_engine.set_directory(Arc::new(directory));
            feed_gateway.install(snapshot);
            Ok(())
        })
        .await;
    if let Err(reason) = view.check(max_staleness) {
        tracing::error!("starting without a registry view, every call is refused: {reason}");
    }
    let data_plane = gateway
        .start()
        .with_context(|| format!("cannot listen on {}", config.gateway.listen))?;
    tracing::info!(
        addr = %data_plane.addr,
        threads = config.gateway.threads.map_or_else(|| "all cores".to_owned(), |n| n.to_string()),
        "MCP gateway listening"
    );
    let demo_tokens = tokens.clone();

    let metrics = Metrics::new(registry)?;
    metrics.watch_registry_view(view.clone())?;

    // Superseded secret versions are destroyed once their keeping time is over, and spent
    // approvals once theirs is.
    let sweeper = store.clone();
    let keep_approvals =
        time::Duration::seconds(i64::try_from(config.approvals.keep_secs).unwrap_or(i64::MAX / 2));
    let keep_tasks = time::Duration::seconds(
        i64::try_from(config.gateway.a2a.task_keep_secs).unwrap_or(i64::MAX / 2),
    );
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        let mut ticks: u64 = 0;
        loop {
            every.tick().await;
            // Risk drifts with time (idle days, due rotations, old denials): every 10 minutes,
            // every tenant's is recomputed (writes recompute their own tenant's at once).
            if ticks.is_multiple_of(10) {
                match sweeper.snapshot().await {
                    Ok(snapshot) => {
                        let tenants: std::collections::BTreeSet<String> = snapshot
                            .nhis
                            .iter()
                            .map(|n| n.tenant().to_owned())
                            .collect();
                        for tenant in tenants {
                            if let Err(e) =
                                portcullis_admin_api::governance::recompute_risk(&sweeper, &tenant)
                                    .await
                            {
                                tracing::warn!(%tenant, "risk not recomputed: {e}");
                            }
                        }
                    }
                    Err(e) => tracing::warn!("risk not recomputed: {e}"),
                }
            }
            ticks += 1;
            match portcullis_admin_api::vault::sweep(&sweeper).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(destroyed = n, "old secret versions destroyed"),
                Err(e) => tracing::warn!("secret versions not swept: {e}"),
            }
            let now = time::OffsetDateTime::now_utc();
            match sweeper.purge_approvals(now - keep_approvals, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "spent approvals deleted"),
                Err(e) => tracing::warn!("approvals not purged: {e}"),
            }
            match portcullis_admin_api::governance::sweep_campaigns(&sweeper).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(decided = n, "campaign items decided by their due-date rule")
                }
                Err(e) => tracing::warn!("certification campaigns not swept: {e}"),
            }
            match sweeper.purge_tasks(now - keep_tasks).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "old A2A task owners forgotten"),
                Err(e) => tracing::warn!("A2A task owners not purged: {e}"),
            }
        }
    });
    let risk = portcullis_admin_api::governance::RiskQueue::start(store.clone());
    let app = portcullis_admin_api::router(
        AppState {
            store,
            tokens,
            metrics,
            readiness: Some(Readiness {
                view,
                max_staleness,
                policy: Some(engine.clone()),
            }),
            vault: Vault::new(keys, config.vault.clone()),
            approvals: config.approvals.clone(),
            discovery: Some(gateway.clone()),
            risk: Some(risk),
        },
        &config.admin,
    );
    let listener = tokio::net::TcpListener::bind(config.admin.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.admin.listen))?;
    let admin_addr = listener.local_addr()?;
    tracing::info!(addr = %admin_addr, "admin API listening");
    let mut admin_api = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(signals.recv())
            .into_future(),
    );
    tracing::info!(
        gateway = %data_plane.addr,
        admin = %admin_addr,
        policies = engine.with_bundle(portcullis_policy::PolicyBundle::len),
        policy_dir = %config.policy.dir.display(),
        upstreams = names(config.gateway.upstreams.iter().map(|u| u.name.as_str())).as_str(),
        a2a_upstreams =
            names(config.gateway.a2a_upstreams.iter().map(|u| u.name.as_str())).as_str(),
        store = store_summary(&config).as_str(),
        audit = audit_summary(&config.gateway.audit_log).as_str(),
        "portcullis is ready"
    );
    if let Some((seeded, dir)) = seeded.as_ref().zip(demo) {
        let places = super::demo::Places {
            gateway: data_plane.addr,
            admin: admin_addr,
            dir,
            audit: &config.gateway.audit_log,
        };
        tokio::select! {
            shown = super::demo::show(seeded, &demo_tokens, &places) => shown?,
            // Stopped (Ctrl-C, SIGTERM) before the demo had shown everything.
            stopped = &mut admin_api => {
                data_plane.stop().await;
                return Ok(stopped??);
            }
        }
    }
    admin_api.await??;
    data_plane.stop().await;
    Ok(())
}

/// `a, b` (or `none`).
fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// The registry store, for the start-up line: `sqlite <path>` or `redis <url> prefix <p>`
/// (without the URL's password).
fn store_summary(config: &Config) -> String {
    match config.store.backend {
        Backend::Sqlite => format!("sqlite {}", config.sqlite_path().display()),
        Backend::Redis => format!(
            "redis {} prefix {}",
            without_credentials(&config.store.redis_url),
            config.store.redis_prefix
        ),
    }
}

/// `redis://user:secret@host/0` as `redis://***@host/0`.
fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{path}"),
        None => url.to_owned(),
    }
}

/// Where audit lines go, for the start-up line.
pub(crate) fn audit_summary(sink: &AuditSink) -> String {
    match sink {
        AuditSink::File(path) => path.display().to_string(),
        AuditSink::Stdout => "stdout".to_owned(),
        AuditSink::Off => "off".to_owned(),
    }
}

pub(crate) async fn open_store(config: &Config) -> anyhow::Result<DynStore> {
    anyhow::ensure!(
        !config.gateway.rate_limits.shared || matches!(config.store.backend, Backend::Redis),
        "gateway.rate_limits.shared needs store.backend = \"redis\" (the buckets live there)"
    );
    Ok(match config.store.backend {
        Backend::Sqlite => {
            let path = config.sqlite_path();
            tracing::info!(path = %path.display(), "registry: sqlite");
            Arc::new(SqliteStore::open(&path)?)
        }
        Backend::Redis => {
            tracing::info!(prefix = %config.store.redis_prefix, "registry: redis");
            Arc::new(
                RedisStore::connect(&config.store.redis_url, &config.store.redis_prefix).await?,
            )
        }
    })
}

/// Ctrl-C (SIGINT) and SIGTERM, caught from the moment [`Signals::listen`] is called: one
/// that arrives before [`Signals::recv`] is waited on is kept, not lost.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).context("cannot catch SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("cannot catch SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn recv(self) {
        #[cfg(unix)]
        {
            let Self {
                mut interrupt,
                mut terminate,
            } = self;
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}

#[cfg(test)]
mod tests {
    use super::without_credentials;

    #[test]
    fn the_redis_password_is_not_logged() {
        assert_eq!(
            without_credentials("redis://:s3cret@cache:6379/0"),
            "redis://***@cache:6379/0"
        );
        assert_eq!(
            without_credentials("rediss://user:p@ss@cache/"),
            "rediss://***@cache/"
        );
        assert_eq!(
            without_credentials("redis://127.0.0.1:6379/"),
            "redis://127.0.0.1:6379/"
        );
        assert_eq!(
            without_credentials("redis://host/?q=a@b"),
            "redis://host/?q=a@b"
        );
    }
}
