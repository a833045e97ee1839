//! The worker's targets: drain no-op jobs through the full worker (store, live policy,
//! concurrency 32), and enqueue-to-start latency on an idle worker.
//!
//! `cargo bench -p tenax-worker --bench worker_throughput` (`-- --quick` for a smaller
//! run, `-- --runs N` for more repetitions, `-- --only drain|latency`). Each figure is
//! the median of the runs with the min..max spread. The store lives in a fresh temporary
//! directory under `TMPDIR`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tenax_core::{Durability, NewJob, Store, StoreOptions};
use tenax_policies::LivePolicy;
use tenax_worker::{HandlerError, Worker, handler_fn};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let runs: usize = value("--runs")
        .and_then(|n| n.parse().ok())
        .unwrap_or(if quick { 3 } else { 5 });
    let only = value("--only");
    let on = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!("tenax-worker benchmarks, {runs} runs each (median, min..max)");
    if on("drain") {
        let jobs = if quick { 50_000 } else { 200_000 };
        let rates: Vec<f64> = (0..runs)
            .map(|_| runtime.block_on(drain(jobs, 32)))
            .collect();
        report(
            &format!("drain {jobs} no-op jobs, concurrency 32"),
            "jobs/s",
            rates,
        );
    }
    if on("latency") {
        let samples = if quick { 500 } else { 2_000 };
        let mut p50s = Vec::new();
        let mut p99s = Vec::new();
        for _ in 0..runs {
            let (p50, p99) = runtime.block_on(latency(samples));
            p50s.push(p50);
            p99s.push(p99);
        }
        report(
            &format!("enqueue-to-start p50 ({samples} jobs, idle worker)"),
            "ms",
            p50s,
        );
        report(
            &format!("enqueue-to-start p99 ({samples} jobs, idle worker)"),
            "ms",
            p99s,
        );
    }
}

fn report(name: &str, unit: &str, mut values: Vec<f64>) {
    values.sort_by(f64::total_cmp);
    let median = values[values.len() / 2];
    let (min, max) = (values[0], values[values.len() - 1]);
    println!("{name:<55} {median:>12.3} {unit}  ({min:.3}..{max:.3})");
}

fn store(dir: &std::path::Path, durability: Durability) -> Arc<Store> {
    Arc::new(Store::open(dir, StoreOptions::default().durability(durability)).expect("open"))
}

/// Jobs per second from worker start to the last completion.
async fn drain(jobs: usize, concurrency: usize) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(dir.path(), Durability::Buffered);
    let payload = vec![b'x'; 256];
    for chunk in (0..jobs).collect::<Vec<_>>().chunks(10_000) {
        let batch = chunk
            .iter()
            .map(|_| NewJob::new("noop", payload.clone()))
            .collect();
        store.enqueue_batch(batch).expect("enqueue");
    }
    let done = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
    let counter = done.clone();
    let target = jobs as u64;
    let worker = Worker::builder(store.clone(), LivePolicy::new(Default::default()))
        .handler(
            "noop",
            handler_fn(move |_| {
                let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
                let tx = tx.clone();
                async move {
                    if n == target {
                        let _ = tx.try_send(());
                    }
                    Ok::<(), HandlerError>(())
                }
            }),
        )
        .concurrency(concurrency)
        .build()
        .expect("worker");
    let stop = worker.shutdown_handle();
    let started = Instant::now();
    let running = tokio::spawn(worker.run());
    rx.recv().await;
    stop.shutdown();
    let report = running.await.expect("join").expect("worker");
    let took = started.elapsed();
    assert_eq!(report.completed, target);
    jobs as f64 / took.as_secs_f64()
}

/// p50 and p99 in milliseconds, from calling a durable enqueue to the handler starting.
/// The measure includes the enqueue's own fdatasync: the worker is woken when the job is
/// written, and may start it before the producer's call has returned.
async fn latency(samples: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(dir.path(), Durability::Sync);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let worker = Worker::builder(store.clone(), LivePolicy::new(Default::default()))
        .handler(
            "noop",
            handler_fn(move |_| {
                let _ = tx.send(Instant::now());
                async { Ok::<(), HandlerError>(()) }
            }),
        )
        .concurrency(32)
        .build()
        .expect("worker");
    let stop = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let producer = store.clone();
    let mut waits = Vec::with_capacity(samples);
    let mut acks = Vec::with_capacity(samples);
    for _ in 0..samples {
        let p = producer.clone();
        let called = Instant::now();
        let acked = tokio::task::spawn_blocking(move || {
            p.enqueue(NewJob::new("noop", vec![b'x'; 256]))
                .expect("enqueue");
            Instant::now()
        })
        .await
        .expect("enqueue task");
        let started = rx.recv().await.expect("handler ran");
        waits.push(started.saturating_duration_since(called));
        acks.push(acked.saturating_duration_since(called));
        // Let the worker go idle again before the next job.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    acks.sort();
    println!(
        "  (the enqueue call itself, fdatasync included: p50 {:.3} ms)",
        acks[samples / 2].as_secs_f64() * 1000.0
    );
    stop.shutdown();
    running.await.expect("join").expect("worker");
    waits.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(waits[samples / 2]), ms(waits[samples * 99 / 100]))
}
