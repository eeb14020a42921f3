//! `portcullis serve`: the admin API and the MCP gateway, over one registry and one engine.

use std::future::IntoFuture as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use portcullis_admin_api::{AppState, Metrics, Readiness, Vault};
use portcullis_gateway::Gateway;
use portcullis_identity::{TokenKey, load_or_create_secret};
use portcullis_policy::{Engine, EngineConfig, PolicyWatcher};
use portcullis_registry::{DynStore, RedisStore, RegistryView, SqliteStore};

use crate::config::{Backend, Config};

pub(crate) async fn serve(config_path: Option<PathBuf>, demo: bool) -> anyhow::Result<()> {
    let mut config = Config::load(config_path.as_deref())?;
    let demo_upstreams = if demo {
        Some(super::demo::configure(&mut config).await?)
    } else {
        None
    };
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
    let admin_api = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown())
            .into_future(),
    );
    if let Some(seeded) = &seeded {
        super::demo::show(seeded, &demo_tokens, data_plane.addr, admin_addr).await?;
    }
    admin_api.await??;
    data_plane.stop().await;
    Ok(())
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

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
