//! `tenax run`: the store, the live policy and its watcher, the worker with the HTTP
//! handler, the API, and signal handling, wired together.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use metrics_exporter_prometheus::PrometheusBuilder;
use tenax_core::Store;
use tenax_policies::{CompiledPolicy, LivePolicy, PolicyWatcher, WatchOptions};
use tenax_worker::http::HttpHandler;
use tenax_worker::{Worker, shutdown_signal};

use crate::api::{self, ApiState};
use crate::config::Config;

/// The job kind the HTTP handler serves.
pub(crate) const HTTP_KIND: &str = "http";

/// Histogram buckets in seconds, from a millisecond to five minutes.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0,
];

/// How often the Prometheus recorder folds histogram samples into its buckets.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// Runs the daemon until SIGINT or SIGTERM; a second signal exits at once.
pub(crate) async fn run(config: Config) -> Result<()> {
    let metrics = PrometheusBuilder::new()
        .set_buckets(BUCKETS)
        .context("metric buckets")?
        .install_recorder()
        .context("install the metrics recorder")?;
    tenax_worker::metrics::describe();
    // `install_recorder` leaves upkeep to us: without it every histogram sample is kept
    // until the next scrape, and a daemon nobody scrapes grows by ~16 bytes per job.
    let upkeep = metrics.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(METRICS_UPKEEP);
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });

    let store = open_store(&config)?;
    let policy = load_policy(&config)?;
    tenax_worker::metrics::watch_policy(&policy);
    let _watcher = match &config.policy_file {
        Some(path) => Some(
            PolicyWatcher::start(policy.clone(), path, WatchOptions::default())
                .with_context(|| format!("watch the policy file {}", path.display()))?,
        ),
        None => None,
    };
    policy.on_reload(|event| match event {
        tenax_policies::ReloadEvent::Reloaded {
            version,
            fingerprint,
        } => tracing::info!(version, %fingerprint, "policy reloaded"),
        tenax_policies::ReloadEvent::Rejected { error } => {
            tracing::error!(%error, "policy reload rejected; the previous version stays in force");
        }
        _ => {}
    });

    let http = HttpHandler::new(config.http_config(), policy.clone())
        .context("set up the HTTP handler")?;
    let mut builder = Worker::builder(store.clone(), policy.clone())
        .queue(config.worker.queue.clone())
        .concurrency(config.worker.concurrency)
        .shutdown_grace(config.worker.shutdown_grace)
        .default_timeout(config.worker.job_timeout);
    builder = match config.worker.timeouts.get(HTTP_KIND) {
        Some(timeout) => builder.handler_with_timeout(HTTP_KIND, http, *timeout),
        None => builder.handler(HTTP_KIND, http),
    };
    let worker = builder.build().context("configure the worker")?;
    let stop = worker.shutdown_handle();

    let render = Arc::new(move || metrics.render());
    let state = ApiState::new(
        store.clone(),
        policy.clone(),
        worker.validator(),
        worker.breaker(),
        config.worker.queue.clone(),
    )
    .token(config.api.token.clone())
    .metrics(render);
    let listener = tokio::net::TcpListener::bind(config.api.addr)
        .await
        .with_context(|| format!("bind the API to {}", config.api.addr))?;
    let api_addr = listener.local_addr().context("API address")?;
    let app = api::router(state, config.body_limit());
    let (api_stop_tx, api_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let api = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = api_stop_rx.await;
            })
            .await
    });

    let loaded = policy.load();
    tracing::info!(
        data_dir = %config.data_dir.display(),
        policy = %loaded.origin(),
        policy_hash = %loaded.fingerprint(),
        api = %format!("http://{api_addr}"),
        queue = %config.worker.queue,
        concurrency = config.worker.concurrency,
        allowed_bases = ?config.http.allowed_bases,
        "tenax is running"
    );
    if config.http.allowed_bases.is_empty() {
        tracing::warn!("no allowed base URLs are configured: every HTTP job will be refused");
    }
    drop(loaded);

    let signals = stop.clone();
    tokio::spawn(async move {
        if shutdown_signal().await.is_err() {
            return;
        }
        tracing::info!("shutting down: finishing running jobs (a second signal exits at once)");
        signals.shutdown();
        if shutdown_signal().await.is_ok() {
            tracing::warn!(
                "second signal: exiting now; running jobs are rescued at the next start"
            );
            std::process::exit(130);
        }
    });

    let report = worker
        .run()
        .await
        .context("the worker stopped on a store error")?;
    let _ = api_stop_tx.send(());
    match tokio::time::timeout(Duration::from_secs(5), api).await {
        Ok(Ok(Err(err))) => tracing::warn!(%err, "the API server stopped with an error"),
        Err(_) => tracing::warn!("the API server did not stop within 5 s"),
        _ => {}
    }
    store.flush().context("flush the store")?;
    tracing::info!(
        completed = report.completed,
        retried = report.retried,
        buried = report.buried,
        released = report.released,
        "tenax stopped"
    );
    Ok(())
}

fn open_store(config: &Config) -> Result<Arc<Store>> {
    let store = Store::open(&config.data_dir, config.store_options())
        .with_context(|| format!("open the data directory {}", config.data_dir.display()))?;
    Ok(Arc::new(store))
}

fn load_policy(config: &Config) -> Result<LivePolicy> {
    match &config.policy_file {
        Some(path) => LivePolicy::from_file(path)
            .with_context(|| format!("load the policy file {}", path.display())),
        None => Ok(LivePolicy::new(CompiledPolicy::default())),
    }
}
