//! Sustained load on the real daemon over its API: producers POST batches of HTTP jobs
//! at a steady rate for minutes while `tenax run` delivers them to a loopback downstream
//! that records every delivery. The daemon's memory must stay bounded, every job whose
//! enqueue was acknowledged must be delivered exactly once, and the stats must agree.
//! Ignored in the normal suite (it runs for minutes): run it with
//!
//! ```sh
//! TENAX_LOAD_SECS=300 TENAX_LOAD_RATE=4000 cargo test --release -p tenax \
//!     --test load_daemon -- --ignored --nocapture
//! ```
//!
//! RELIABILITY.md records a run.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use serde_json::json;
use support::daemon::Daemon;

/// Jobs per API request.
const BATCH: u64 = 100;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The resident memory of process `pid`, in MB.
fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// Deliveries per job number, as the downstream saw them.
struct Deliveries(Vec<AtomicU8>);

impl Deliveries {
    fn missing_and_duplicated(&self, upto: u64) -> (u64, u64) {
        let counts = self
            .0
            .iter()
            .take(upto as usize)
            .map(|c| c.load(Ordering::Relaxed));
        counts.fold((0, 0), |(missing, dup), c| {
            (missing + u64::from(c == 0), dup + u64::from(c > 1))
        })
    }
}

async fn deliver(State(seen): State<Arc<Deliveries>>, Path(n): Path<u64>) -> &'static str {
    if let Some(count) = seen.0.get(n as usize) {
        count.fetch_add(1, Ordering::Relaxed);
    }
    "ok"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs for minutes; see the module docs"]
async fn the_daemon_stays_bounded_and_delivers_every_acknowledged_job() -> Result<()> {
    let secs = env("TENAX_LOAD_SECS", 60);
    let rate = env("TENAX_LOAD_RATE", 4_000);
    let producers = env("TENAX_LOAD_PRODUCERS", 4);
    let capacity = (secs * rate * 2 + BATCH) as usize;
    let seen = Arc::new(Deliveries(
        (0..capacity).map(|_| AtomicU8::new(0)).collect(),
    ));
    let downstream = support::serve(
        Router::new()
            .route("/deliver/{n}", post(deliver))
            .with_state(seen.clone()),
    )
    .await;
    let daemon = Daemon::start(&format!(
        "[worker]\nconcurrency = 64\n[http]\nallowed_bases = [\"{downstream}/deliver/\"]\n"
    ));
    let pid = daemon.pid();
    let client = support::api_client();

    // Each producer owns the job numbers p, p + producers, ... in units of batches, and
    // paces itself to rate / producers jobs per second.
    let began = Instant::now();
    let acknowledged = Arc::new(AtomicU64::new(0));
    let highest = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for p in 0..producers {
        let (client, url) = (client.clone(), format!("{}/v1/jobs", daemon.url));
        let (acknowledged, highest, downstream) =
            (acknowledged.clone(), highest.clone(), downstream.clone());
        tasks.push(tokio::spawn(async move {
            let tick = Duration::from_secs_f64(BATCH as f64 * producers as f64 / rate as f64);
            let mut next = tokio::time::Instant::now();
            let mut round = 0u64;
            while began.elapsed() < Duration::from_secs(secs) {
                let first = (round * producers + p) * BATCH;
                let jobs: Vec<_> = (first..first + BATCH)
                    .map(|n| {
                        json!({ "kind": "http", "payload": {
                            "method": "POST", "url": format!("{downstream}/deliver/{n}"),
                        } })
                    })
                    .collect();
                let response = client
                    .post(&url)
                    .json(&json!({ "jobs": jobs }))
                    .send()
                    .await?;
                ensure!(response.status() == 201, "enqueue: {}", response.status());
                acknowledged.fetch_add(BATCH, Ordering::Relaxed);
                highest.fetch_max(first + BATCH, Ordering::Relaxed);
                round += 1;
                next += tick;
                tokio::time::sleep_until(next).await;
            }
            anyhow::Ok(())
        }));
    }

    let mut peak = 0.0f64;
    while tasks.iter().any(|t| !t.is_finished()) {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let rss = rss_mb(pid);
        peak = peak.max(rss);
        let stats = daemon.stats(&client).await;
        let q = &stats["queues"]["default"];
        eprintln!(
            "t={:>4}s daemon rss={rss:.0}MB acknowledged={} completed={} waiting={} retrying={}",
            began.elapsed().as_secs(),
            acknowledged.load(Ordering::Relaxed),
            q["completed"],
            q["waiting"],
            q["retrying"],
        );
    }
    for task in tasks {
        task.await??;
    }
    let total = acknowledged.load(Ordering::Relaxed);
    let upto = highest.load(Ordering::Relaxed);
    ensure!(
        upto == total,
        "every batch up to {upto} acknowledged, got {total}"
    );

    // Drain: wait for the backlog, sampling memory while it goes.
    let deadline = Instant::now() + Duration::from_secs(secs.max(120));
    loop {
        let stats = daemon.stats(&client).await;
        let completed = stats["queues"]["default"]["completed"]
            .as_u64()
            .unwrap_or(0);
        peak = peak.max(rss_mb(pid));
        if completed >= total {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "the daemon did not catch up: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let stats = daemon.stats(&client).await;
    let q = &stats["queues"]["default"];
    let (missing, duplicated) = seen.missing_and_duplicated(total);
    eprintln!(
        "load over the API: {secs} s at {rate} jobs/s offered, {total} acknowledged, \
         {} completed, {missing} never delivered, {duplicated} delivered twice, \
         daemon peak RSS {peak:.0} MB, {:.0} s in all",
        q["completed"],
        began.elapsed().as_secs_f64()
    );
    ensure!(
        missing == 0,
        "{missing} acknowledged jobs were never delivered"
    );
    ensure!(
        duplicated == 0,
        "{duplicated} jobs were delivered twice without a crash"
    );
    ensure!(q["completed"] == total, "stats: {stats}");
    for state in ["waiting", "retrying", "running", "dead"] {
        ensure!(q[state] == 0, "{state} is not 0: {stats}");
    }
    ensure!(
        peak < 300.0,
        "the daemon's memory stayed bounded: peak {peak:.0} MB"
    );
    Ok(())
}
