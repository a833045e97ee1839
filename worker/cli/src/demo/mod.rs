//! `tenax demo`: the whole product in one self-running story, on loopback.
//!
//! A mock media server ([`downstream`]) misbehaves the way the original tool's server
//! did: items it has not scanned yet (404), items it rejects for good (400), the odd
//! busy answer (503 with `Retry-After`), and an outage during which nothing listens at
//! all. A real store in a temporary directory and a real worker with the HTTP handler
//! deliver a few hundred jobs to it, under a policy script with demo-sized delays
//! ([`policy`]). The run ends when the store says every job is delivered or dead, and
//! the summary shows where each one went.
//!
//! Nothing here reaches into the worker: the demo sees only what any embedder sees (the
//! store's stats and dead letters, the breaker's watch channel, a wrapping handler), so
//! what it shows is what the library does.

mod breaker;
mod downstream;
mod plan;
mod policy;
mod progress;
mod summary;
mod tally;

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use tenax_core::{JobStore, NewJob, QueueCounts, Store, StoreOptions};
use tenax_policies::{CompiledPolicy, LivePolicy};
use tenax_worker::Worker;
use tenax_worker::http::{HttpConfig, HttpHandler, HttpRequest};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use downstream::{Downstream, MockTiming};
use plan::Plan;
pub(crate) use summary::DemoSummary;

/// How to run the demo. Every field has a default; `tenax demo` needs none.
#[derive(Clone, Debug)]
pub(crate) struct DemoOptions {
    /// Jobs to enqueue. Default: 300.
    pub(crate) jobs: u32,
    /// Picks which items misbehave and seeds the retry jitter, so a run can be repeated.
    /// Default: 7.
    pub(crate) seed: u64,
    /// Shorter outage, scan delay and deadline, for tests. Default: off.
    pub(crate) fast: bool,
    /// No progress on stderr and no summary on stdout. Default: off.
    pub(crate) quiet: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            jobs: 300,
            seed: 7,
            fast: false,
            quiet: false,
        }
    }
}

/// Jobs delivered at once. Several, so the outage is met by attempts in flight and the
/// breaker has to stop a crowd, not a queue of one.
const CONCURRENCY: usize = 8;

/// Runs the demo: mock downstream, store, worker, jobs; waits until every job is
/// delivered or dead (or the deadline passes), shuts the worker down gracefully, prints
/// the summary to stdout and returns it.
///
/// # Errors
/// When the store, the policy, the worker or the mock cannot be set up, or the worker
/// fails on its store. Jobs that end up dead are not errors: see
/// [`DemoSummary::accounting_holds`].
pub(crate) async fn run(options: DemoOptions) -> anyhow::Result<DemoSummary> {
    let (timing, deadline) = timing(&options);
    let (notes_tx, notes_rx) = mpsc::unbounded_channel();
    let plan = Plan::draw(options.jobs, options.seed);
    let downstream = Downstream::start(plan, timing, notes_tx.clone()).await?;
    let base_url = downstream.base_url();

    // NOTE: `Durability::Sync` (the default) even though the data is thrown away: the
    // demo shows the store operators get, and a batch enqueue costs one fsync either way.
    let dir = tempfile::tempdir().context("creating the demo's data directory")?;
    let store = Arc::new(Store::open(dir.path(), StoreOptions::default())?);
    let policy = LivePolicy::new(CompiledPolicy::load_str(policy::SCRIPT, policy::ORIGIN)?);
    let http = HttpHandler::new(
        HttpConfig {
            allowed_bases: vec![base_url.clone()],
            default_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            ..HttpConfig::default()
        },
        policy.clone(),
    )?;
    let counting = tally::Counting::new(http);
    let tally = counting.tally();
    let shared: Arc<dyn JobStore> = Arc::clone(&store) as Arc<dyn JobStore>;
    let worker = Worker::builder(shared, policy)
        .handler("http", counting)
        .concurrency(CONCURRENCY)
        .default_timeout(Duration::from_secs(10))
        .shutdown_grace(Duration::from_secs(5))
        .jitter_seed(options.seed)
        .build()?;

    let jobs = requests(&base_url, options.jobs);
    let validator = worker.validator();
    for job in &jobs {
        validator.validate("http", &job.payload)?;
    }
    let mut summary = DemoSummary {
        base_url: base_url.clone(),
        requested: u64::from(options.jobs),
        ..DemoSummary::default()
    };
    if !options.quiet {
        eprintln!(
            "tenax demo: {} jobs to a flaky mock media server at {base_url}, concurrency {CONCURRENCY}",
            options.jobs
        );
    }
    let started = Instant::now();
    store.enqueue_batch(jobs.into_iter().map(|j| j.job).collect())?;

    let breaker_rx = worker.breaker();
    let shutdown = worker.shutdown_handle();
    let worker_task = tokio::spawn(worker.run());
    let breaker_task = tokio::spawn(breaker::follow(breaker_rx.clone(), notes_tx));
    let (done_tx, done_rx) = oneshot::channel();
    let progress_task = (!options.quiet).then(|| {
        let progress = progress::Progress {
            store: Arc::clone(&store),
            breaker: breaker_rx,
            notes: notes_rx,
            total: summary.requested,
            started,
        };
        tokio::spawn(progress.run(done_rx))
    });

    summary.stopped_early =
        wait_until_accounted(&store, summary.requested, started + deadline).await?;
    summary.elapsed = started.elapsed();
    shutdown.shutdown();
    let worker_result = worker_task.await.context("the worker task panicked")?;
    summary.breaker = breaker_task.await.context("the breaker watcher panicked")?;
    let _ = done_tx.send(());
    if let Some(task) = progress_task {
        let _ = task.await;
    }
    summary.report = worker_result?;
    summary.downstream_outage = downstream.outage();
    drop(downstream);

    let tally = tally.lock().unwrap_or_else(PoisonError::into_inner).clone();
    summary.collect(&store, &tally)?;
    if !options.quiet {
        summary.print(&mut std::io::stdout().lock())?;
    }
    Ok(summary)
}

/// The mock's timing and the hard deadline of the run.
fn timing(options: &DemoOptions) -> (MockTiming, Duration) {
    // The outage starts after a third of the jobs have been answered once, so plenty
    // are still waiting when it hits, whatever the machine's speed.
    let outage_after = u64::from(options.jobs / 3).max(1);
    if options.fast {
        let timing = MockTiming {
            latency: Duration::from_millis(5),
            scan_delay: Duration::from_secs(1),
            outage_after,
            outage_for: Duration::from_secs(3),
        };
        (timing, Duration::from_secs(30))
    } else {
        let timing = MockTiming {
            latency: Duration::from_millis(40),
            scan_delay: Duration::from_millis(2_500),
            outage_after,
            outage_for: Duration::from_secs(7),
        };
        (timing, Duration::from_secs(90))
    }
}

/// A job and its payload (kept apart so it can be validated before the enqueue).
struct Request {
    job: NewJob,
    payload: Vec<u8>,
}

/// One `POST /items/{n}/refresh` per item, as the sync tool would send them.
fn requests(base_url: &str, jobs: u32) -> Vec<Request> {
    (1..=jobs)
        .map(|n| {
            let url = format!("{base_url}/items/{n}/refresh");
            let body = serde_json::json!({ "item": n, "reason": "metadata changed" });
            let payload = HttpRequest::post_json(url, body).to_payload();
            let job = NewJob::new("http", payload.clone());
            Request { job, payload }
        })
        .collect()
}

/// Polls the store until every job is delivered or dead; returns why it stopped early
/// otherwise (the deadline, or Ctrl-C).
async fn wait_until_accounted(
    store: &Store,
    requested: u64,
    deadline: Instant,
) -> anyhow::Result<Option<&'static str>> {
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let counts: QueueCounts = store.stats()?.total;
        if counts.completed + counts.dead >= requested && counts.live() == 0 {
            return Ok(None);
        }
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return Ok(Some("the deadline passed")),
            _ = &mut interrupted => return Ok(Some("interrupted")),
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

#[cfg(test)]
mod tests;
