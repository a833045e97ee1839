//! Sustained load: producers enqueue at a steady rate while a worker drains, for
//! minutes; memory must stay bounded and every job must complete exactly once in the
//! store. Ignored in the normal suite (it runs for minutes): run it with
//!
//! ```sh
//! TENAX_LOAD_SECS=180 TENAX_LOAD_RATE=40000 cargo test --release -p tenax-worker \
//!     --test load_sustained -- --ignored --nocapture
//! ```
//!
//! RELIABILITY.md records a run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use tenax_core::{DEFAULT_QUEUE, Durability, NewJob, Store, StoreOptions};
use tenax_policies::{CompiledPolicy, LivePolicy};
use tenax_worker::{HandlerError, Worker, handler_fn};

fn rss_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / f64::from(1u32 << 20)
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs for minutes; see the module docs"]
async fn memory_stays_bounded_and_nothing_is_lost_under_sustained_load() -> Result<()> {
    let secs = env("TENAX_LOAD_SECS", 60);
    let rate = env("TENAX_LOAD_RATE", 20_000);
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(
        dir.path(),
        StoreOptions::default().durability(Durability::Sync),
    )?);
    let handled = Arc::new(AtomicU64::new(0));
    let counter = handled.clone();
    let worker = Worker::builder(store.clone(), LivePolicy::new(CompiledPolicy::default()))
        .handler(
            "http",
            handler_fn(move |_| {
                counter.fetch_add(1, Ordering::Relaxed);
                async { Ok::<(), HandlerError>(()) }
            }),
        )
        .concurrency(32)
        .build()?;
    let stop = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());

    // Two producer threads, batches of 100 every tick, paced to `rate` jobs/s in total.
    let began = Instant::now();
    let enqueued = Arc::new(AtomicU64::new(0));
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let (store, enqueued) = (store.clone(), enqueued.clone());
            std::thread::spawn(move || -> tenax_core::Result<()> {
                let per_thread = rate / 2;
                let tick = Duration::from_secs_f64(100.0 / per_thread as f64);
                let mut next = Instant::now();
                let mut i = 0u64;
                while began.elapsed() < Duration::from_secs(secs) {
                    let jobs = (0..100)
                        .map(|k| {
                            NewJob::new("http", format!("{{\"p\":{p},\"n\":{}}}", i * 100 + k))
                        })
                        .collect();
                    store.enqueue_batch(jobs)?;
                    enqueued.fetch_add(100, Ordering::Relaxed);
                    i += 1;
                    next += tick;
                    if let Some(wait) = next.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                }
                Ok(())
            })
        })
        .collect();

    let mut peak = 0.0f64;
    let mut samples = Vec::new();
    while producers.iter().any(|p| !p.is_finished()) {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let rss = rss_mb();
        peak = peak.max(rss);
        let c = store
            .stats()?
            .queues
            .get(DEFAULT_QUEUE)
            .map(|q| q.counts)
            .unwrap_or_default();
        samples.push(format!(
            "t={:>4}s rss={rss:.0}MB enqueued={} completed={} waiting={}",
            began.elapsed().as_secs(),
            c.enqueued,
            c.completed,
            c.waiting
        ));
        eprintln!("{}", samples.last().expect("sample"));
    }
    for p in producers {
        p.join()
            .map_err(|_| anyhow::anyhow!("producer panicked"))??;
    }
    let total = enqueued.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(120);
    while store.stats()?.queues[DEFAULT_QUEUE].counts.completed < total {
        assert!(Instant::now() < deadline, "the worker did not catch up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.shutdown();
    running.await??;
    let c = store.stats()?.queues[DEFAULT_QUEUE].counts;
    eprintln!(
        "load: {secs} s at {rate} jobs/s offered: {total} enqueued, {} completed, {} handled, peak RSS {peak:.0} MB",
        c.completed,
        handled.load(Ordering::Relaxed)
    );
    assert_eq!(c.completed, total, "every job completed");
    assert_eq!(c.waiting + c.retrying + c.running + c.dead, 0);
    assert!(peak < 300.0, "memory stayed bounded: peak {peak:.0} MB");
    Ok(())
}
