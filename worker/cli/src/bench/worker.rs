//! Workloads through the full worker: drain, enqueue-to-start latency, the retry path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use tenax_core::{JobStore, NewJob};
use tenax_policies::{CompiledPolicy, LivePolicy};
use tenax_worker::{HandlerError, Worker, handler_fn};

use super::report::percentile;
use super::store::{fill, payload};

/// Every retry at the smallest delay the policy bounds allow, no jitter.
const RETRY_POLICY: &str = r#"#{ classes: #{ transient: #{ base: "10ms", cap: "10ms", max_retries: 3, jitter: 0.0, breaker: false } } }"#;

/// Runs a worker over the queued jobs until the handler has been called `expected` times;
/// how long that took.
async fn run_until(
    stores: Vec<Arc<dyn JobStore>>,
    policy: LivePolicy,
    concurrency: usize,
    expected: u64,
    fail_first: bool,
) -> Result<Duration> {
    let seen = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
    let counter = seen.clone();
    let handler = Arc::new(handler_fn(move |job| {
        let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
        let tx = tx.clone();
        async move {
            if n == expected {
                let _ = tx.try_send(());
            }
            if fail_first && job.attempt == 0 {
                return Err(HandlerError::transient("first attempts fail"));
            }
            Ok(())
        }
    }));
    // One worker per store: each a daemon of its own on a shared queue.
    let mut workers = Vec::new();
    for store in stores {
        workers.push(
            Worker::builder(store, policy.clone())
                .handler("http", handler.clone())
                .concurrency(concurrency)
                .build()?,
        );
    }
    let stops: Vec<_> = workers.iter().map(Worker::shutdown_handle).collect();
    let started = Instant::now();
    let running: Vec<_> = workers.into_iter().map(|w| tokio::spawn(w.run())).collect();
    rx.recv().await;
    let took = started.elapsed();
    for stop in stops {
        stop.shutdown();
    }
    for r in running {
        r.await??;
    }
    Ok(took)
}

/// No-op jobs through the full worker (one per store, all on the first store's queue):
/// jobs per second from start to the last one.
pub(crate) async fn drain(
    stores: Vec<Arc<dyn JobStore>>,
    jobs: usize,
    concurrency: usize,
) -> Result<f64> {
    let first = stores
        .first()
        .ok_or_else(|| anyhow::anyhow!("no store"))?
        .clone();
    tokio::task::spawn_blocking(move || fill(&*first, jobs)).await??;
    let policy = LivePolicy::new(CompiledPolicy::default());
    let took = run_until(stores, policy, concurrency, jobs as u64, false).await?;
    Ok(jobs as f64 / took.as_secs_f64())
}

/// Jobs that fail once (`transient`) and then succeed: completed jobs per second.
pub(crate) async fn retry(
    store: Arc<dyn JobStore>,
    jobs: usize,
    concurrency: usize,
) -> Result<f64> {
    let filled = store.clone();
    tokio::task::spawn_blocking(move || fill(&*filled, jobs)).await??;
    let policy = LivePolicy::new(CompiledPolicy::load_str(RETRY_POLICY, "bench-retry.rhai")?);
    let took = run_until(vec![store], policy, concurrency, 2 * jobs as u64, true).await?;
    Ok(jobs as f64 / took.as_secs_f64())
}

/// Enqueue-to-start on an idle worker, one durable enqueue at a time with a pause in
/// between: (p50, p99, max) in milliseconds, from the enqueue call to the handler.
pub(crate) async fn latency(store: Arc<dyn JobStore>, samples: usize) -> Result<(f64, f64, f64)> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let worker = Worker::builder(store.clone(), LivePolicy::new(CompiledPolicy::default()))
        .handler(
            "http",
            handler_fn(move |_| {
                let _ = tx.send(Instant::now());
                async { Ok::<(), HandlerError>(()) }
            }),
        )
        .concurrency(32)
        .build()?;
    let stop = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let mut waits = Vec::with_capacity(samples);
    for i in 0..samples {
        let producer = store.clone();
        let called = Instant::now();
        tokio::task::spawn_blocking(move || {
            producer.enqueue_batch(vec![NewJob::new("http", payload(i))])
        })
        .await??;
        let started = rx
            .recv()
            .await
            .ok_or_else(|| anyhow::anyhow!("the worker stopped"))?;
        waits.push(started.saturating_duration_since(called).as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stop.shutdown();
    running.await??;
    waits.sort_by(f64::total_cmp);
    let max = waits.last().copied().unwrap_or(0.0);
    Ok((percentile(&waits, 50.0), percentile(&waits, 99.0), max))
}
