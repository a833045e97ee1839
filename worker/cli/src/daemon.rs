//! `tenax run`: the store, the live policy and its watcher, the workers with the HTTP
//! handler and the application's handlers, the API, and signal handling, wired
//! together.
//!
//! Signals: SIGINT or SIGTERM stops gracefully (a second one exits at once); SIGHUP
//! reloads the policy file at once. With `NOTIFY_SOCKET` set (systemd `Type=notify`),
//! `READY=1` is sent once the API is bound and `STOPPING=1` when a shutdown begins.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use metrics_exporter_prometheus::PrometheusBuilder;
use tenax_core::Store;
use tenax_policies::{CompiledPolicy, LivePolicy, PolicyWatcher, WatchOptions};
use tenax_worker::http::HttpHandler;
use tenax_worker::{Worker, shutdown_signal};

use crate::api::{self, ApiState, Readiness};
use crate::app::{Application, QueueParts, redacted};
use crate::config::Config;
use crate::notify::notify;
use crate::schedule::Scheduler;

/// How `tenax run` runs, beyond the configuration file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunOptions {
    /// Reload the policy file when it changes. Off: only on SIGHUP. Default: on.
    pub(crate) watch_policy: bool,
}

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
pub(crate) async fn run(config: Config, options: RunOptions, app: &Application) -> Result<()> {
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
    let schedules = config.schedules().context("the schedules")?;
    let scheduler = Scheduler::load(store.clone(), schedules.clone());
    let policy = load_policy(config.policy_file.as_deref())?;
    tenax_worker::metrics::watch_policy(&policy);
    let mut policies = Policies::default();
    let mut watchers = Vec::new();
    policies.keep(config.policy_file.clone(), policy.clone());
    let plans = config.queue_plans();
    for plan in &plans {
        if policies.get(plan.policy_file.as_deref()).is_none() {
            let path = plan.policy_file.as_deref();
            policies.keep(plan.policy_file.clone(), load_policy(path)?);
        }
    }
    for (path, live) in &policies.0 {
        if let Some(path) = path
            && options.watch_policy
        {
            watchers.push(
                PolicyWatcher::start(live.clone(), path, WatchOptions::default())
                    .with_context(|| format!("watch the policy file {}", path.display()))?,
            );
        }
        reload_on_hangup(live, path.clone())?;
        let origin = path.as_ref().map(|p| p.display().to_string());
        live.on_reload(move |event| match event {
            tenax_policies::ReloadEvent::Reloaded {
                version,
                fingerprint,
            } => tracing::info!(policy = ?origin, version, %fingerprint, "policy reloaded"),
            tenax_policies::ReloadEvent::Rejected { error } => tracing::error!(
                policy = ?origin,
                %error,
                "policy reload rejected; the previous version stays in force"
            ),
            _ => {}
        });
    }

    // One worker loop per queue, in this one process: each owns its queue's breaker,
    // pause and rate limit without a lock, as a single queue's loop always did. Each
    // tells the dashboard's recent activity of its outcomes and breaker transitions.
    let activity = api::Activity::new();
    let http_config = config.http_config_with_targets()?;
    let mut workers = Vec::with_capacity(plans.len());
    for plan in &plans {
        let live = policies
            .get(plan.policy_file.as_deref())
            .cloned()
            .unwrap_or_else(|| policy.clone());
        let http = HttpHandler::new(http_config.clone(), live.clone())
            .context("set up the HTTP handler")?;
        let mut builder = Worker::builder(store.clone(), live.clone())
            .queue(plan.name.clone())
            .concurrency(plan.concurrency)
            .shutdown_grace(config.worker.shutdown_grace)
            .default_timeout(plan.job_timeout)
            .observer(activity.clone());
        let http = redacted::handler(Arc::new(http), &config.redactor);
        builder = match config.worker.timeouts.get(HTTP_KIND) {
            Some(timeout) => builder.handler_with_timeout(HTTP_KIND, http, *timeout),
            None => builder.handler(HTTP_KIND, http),
        };
        // The application's handlers: each factory once per queue, with its policy.
        let parts = QueueParts {
            queue: plan.name.clone(),
            policy: live,
            store: store.clone(),
        };
        for (kind, make) in &app.handlers {
            let handler = make(&parts).map_err(|e| {
                anyhow::anyhow!(
                    "set up the handler of kind `{kind}` for queue `{}`: {e}",
                    plan.name
                )
            })?;
            let handler = redacted::handler(handler, &config.redactor);
            builder = match config.worker.timeouts.get(kind) {
                Some(timeout) => builder.handler_with_timeout(kind.clone(), handler, *timeout),
                None => builder.handler(kind.clone(), handler),
            };
        }
        if let Some(make) = &app.probe {
            let probe = make(&parts).map_err(|e| {
                anyhow::anyhow!("set up the health probe for queue `{}`: {e}", plan.name)
            })?;
            builder = builder.health_probe(redacted::probe(probe, &config.redactor));
        }
        let worker = builder
            .build()
            .with_context(|| format!("configure the worker of queue `{}`", plan.name))?;
        resume_outages(&activity, store.as_ref(), &worker);
        workers.push(worker);
    }
    // An application kind's schedule payload is checked by its handler (a check of
    // the file cannot: the handlers need the store).
    if let Some(first) = workers.first() {
        let validator = first.validator();
        for s in &schedules {
            validator
                .validate(&s.kind, &s.payload)
                .with_context(|| format!("schedule `{}`: its payload", s.name))?;
        }
    }
    let stops: Vec<_> = workers.iter().map(Worker::shutdown_handle).collect();

    let render = Arc::new(move || metrics.render());
    let space_store = store.clone();
    let readiness = Readiness::new(Arc::new(move || {
        space_store.check_free_space().map_err(|e| e.to_string())
    }));
    let (first, others) = workers.split_first().context("no queue to serve")?;
    let mut state = ApiState::new(store.clone(), policy.clone(), first);
    for worker in others {
        state = state.serve(worker);
    }
    let state = state
        .default_queue(config.worker.queue.clone())
        .token(config.api.token.clone())
        .read_token(config.api.read_token.clone())
        .session_lifetime(config.api.session_lifetime)
        .activity(activity)
        .metrics(render)
        .readiness(readiness.clone())
        .schedules(schedules.clone());
    let listener = tokio::net::TcpListener::bind(config.api.addr)
        .await
        .with_context(|| format!("bind the API to {}", config.api.addr))?;
    let api_addr = listener.local_addr().context("API address")?;
    let router = api::router(state, config.body_limit());
    let (api_stop_tx, api_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let api = tokio::spawn(async move {
        axum::serve(listener, router)
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
        queues = %plans
            .iter()
            .map(|p| format!("{} (concurrency {})", p.name, p.concurrency))
            .collect::<Vec<_>>()
            .join(", "),
        allowed_bases = ?config.http.allowed_bases,
        targets = ?config.http.targets.iter().map(|t| t.base.as_str()).collect::<Vec<_>>(),
        kinds = ?workers.first().map(|w| w.validator().kinds()),
        "{} is running",
        app.name
    );
    if config.http.allowed_bases.is_empty() && config.http.targets.is_empty() && app.is_plain() {
        tracing::warn!("no allowed base URLs are configured: every HTTP job will be refused");
    }
    drop(loaded);

    let (scheduler_stop, stopped) = tokio::sync::watch::channel(false);
    let scheduler = tokio::spawn(scheduler.run(stopped));

    let signals = stops.clone();
    let unready = readiness.clone();
    let stop_scheduler = scheduler_stop.clone();
    tokio::spawn(async move {
        if shutdown_signal().await.is_err() {
            return;
        }
        tracing::info!("shutting down: finishing running jobs (a second signal exits at once)");
        unready.stopping();
        notify("STOPPING=1");
        let _ = stop_scheduler.send(true);
        for stop in &signals {
            stop.shutdown();
        }
        if shutdown_signal().await.is_ok() {
            tracing::warn!(
                "second signal: exiting now; running jobs are rescued at the next start"
            );
            std::process::exit(130);
        }
    });

    let mut running = tokio::task::JoinSet::new();
    for worker in workers {
        let queue = worker.queue().to_owned();
        let ended = readiness.clone();
        running.spawn(async move {
            let report = worker.run().await;
            ended.worker_ended();
            (queue, report)
        });
    }
    notify("READY=1");
    let mut report = tenax_worker::RunReport::default();
    let mut failed = None;
    while let Some(joined) = running.join_next().await {
        let (queue, result) = joined.context("a worker task failed")?;
        match result {
            Ok(r) => {
                report.completed += r.completed;
                report.retried += r.retried;
                report.buried += r.buried;
                report.released += r.released;
            }
            Err(err) => {
                // One queue's store error stops them all: the store is shared.
                tracing::error!(%queue, %err, "the worker stopped on a store error");
                for stop in &stops {
                    stop.shutdown();
                }
                failed.get_or_insert(err);
            }
        }
    }
    let _ = scheduler_stop.send(true);
    if scheduler.await.is_err() {
        tracing::warn!("the scheduler task failed");
    }
    if let Some(err) = failed {
        return Err(anyhow::Error::new(err).context("a worker stopped on a store error"));
    }
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
        "{} stopped",
        app.name
    );
    Ok(())
}

/// Starts `worker`'s outage log from its stored breaker, so an outage that began before
/// a restart still shows on the dashboard.
fn resume_outages(activity: &api::Activity, store: &dyn tenax_core::JobStore, worker: &Worker) {
    let cfg = *worker.policy().load().policy().breaker();
    match tenax_worker::BreakerView::from_store(store, worker.queue(), &cfg) {
        Ok(view) => activity.resume(&view, store.now().as_millis()),
        Err(err) => {
            tracing::warn!(queue = worker.queue(), %err, "the stored breaker is unreadable")
        }
    }
}

/// On SIGHUP, reloads the policy file at once (no debounce); without a file, says so.
fn reload_on_hangup(policy: &LivePolicy, path: Option<std::path::PathBuf>) -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = signal(SignalKind::hangup()).context("listen for SIGHUP")?;
        let policy = policy.clone();
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                let Some(path) = path.clone() else {
                    tracing::info!(
                        reason = "sighup",
                        "no policy file is configured: nothing to reload"
                    );
                    continue;
                };
                let live = policy.clone();
                let result = tokio::task::spawn_blocking(move || live.reload_file(&path)).await;
                match result {
                    Ok(Ok(tenax_policies::Reloaded::NewVersion(version))) => {
                        tracing::info!(reason = "sighup", version, "policy file reloaded");
                    }
                    Ok(Ok(_)) => {
                        let version = policy.status().version;
                        tracing::info!(reason = "sighup", version, "policy file unchanged");
                    }
                    // The rejection is logged by the reload subscriber.
                    Ok(Err(_)) => {}
                    Err(err) => tracing::error!(reason = "sighup", %err, "policy reload failed"),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (policy, path);
    Ok(())
}

fn open_store(config: &Config) -> Result<Arc<Store>> {
    let store = Store::open(&config.data_dir, config.store_options())
        .with_context(|| format!("open the data directory {}", config.data_dir.display()))?;
    Ok(Arc::new(store))
}

/// The live policies by file (`None`: the built-in default), one per distinct file, so
/// queues sharing a script share its reloads.
#[derive(Default)]
struct Policies(Vec<(Option<std::path::PathBuf>, LivePolicy)>);

impl Policies {
    fn get(&self, path: Option<&std::path::Path>) -> Option<&LivePolicy> {
        self.0
            .iter()
            .find(|(p, _)| p.as_deref() == path)
            .map(|(_, l)| l)
    }

    fn keep(&mut self, path: Option<std::path::PathBuf>, live: LivePolicy) {
        self.0.push((path, live));
    }
}

fn load_policy(path: Option<&std::path::Path>) -> Result<LivePolicy> {
    match path {
        Some(path) => LivePolicy::from_file(path)
            .with_context(|| format!("load the policy file {}", path.display())),
        None => Ok(LivePolicy::new(CompiledPolicy::default())),
    }
}
