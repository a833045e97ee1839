//! The daemon as users meet it: `api-enqueue` and `http-deliver` against a real
//! `tenax run` process with its default configuration (durable `sync` enqueue, log level
//! `info`, the metrics recorder), the load generator and the downstream in this process.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::daemon::{CpuMeter, Daemon};
use super::downstream::Downstream;
use super::load::{BATCH_CONNECTIONS, bodies, post_all};
use super::report::percentile;

/// What one `api-enqueue` run measured.
pub(crate) struct Enqueue {
    pub(crate) single_rate: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) batch_rate: f64,
    /// CPU of this process (the generator) and of the daemon during the single-job
    /// phase, in percent of one core.
    pub(crate) generator_cpu: f64,
    pub(crate) daemon_cpu: f64,
}

/// A base URL nothing listens on: `api-enqueue`'s jobs are due in an hour, so the daemon
/// never calls it during the run; the figure is the API and the store alone.
const NOWHERE: &str = "http://127.0.0.1:9/deliver/";

/// `single` jobs one per request over `connections` connections, then `batched` jobs
/// in batches; the daemon's stats must count every one.
pub(crate) async fn api_enqueue(
    dir: &Path,
    single: usize,
    batched: usize,
    connections: usize,
) -> Result<Enqueue> {
    let daemon = Daemon::start(dir, connections, NOWHERE).await?;
    let (requests, body) = bodies(NOWHERE.to_owned(), single, false, Some("1h"));
    let meter = CpuMeter::start(&daemon);
    let load = post_all(&daemon.addr, connections, requests, body).await?;
    let (generator_cpu, daemon_cpu) = meter.read();
    let (requests, body) = bodies(NOWHERE.to_owned(), batched, true, Some("1h"));
    let batch = post_all(&daemon.addr, BATCH_CONNECTIONS, requests, body).await?;
    daemon
        .wait_for_count("enqueued", (single + batched) as u64)
        .await?;
    daemon.stop().await?;
    Ok(Enqueue {
        single_rate: single as f64 / load.took.as_secs_f64(),
        p50_ms: percentile(&load.latencies_ms, 50.0),
        p99_ms: percentile(&load.latencies_ms, 99.0),
        batch_rate: batched as f64 / batch.took.as_secs_f64(),
        generator_cpu,
        daemon_cpu,
    })
}

/// What one `http-deliver` run measured.
pub(crate) struct Deliver {
    pub(crate) rate: f64,
    /// CPU of this process (the downstream) and of the daemon while delivering.
    pub(crate) downstream_cpu: f64,
    pub(crate) daemon_cpu: f64,
    /// Requests the downstream received, and distinct jobs among them.
    pub(crate) requests: u64,
    pub(crate) distinct: u64,
}

/// `jobs` HTTP jobs enqueued in batches while the downstream holds its door shut, then
/// delivered at `concurrency`: deliveries per second from opening the door to the last
/// one. Fails unless the downstream saw every job exactly once and the daemon's stats
/// count every job completed.
pub(crate) async fn http_deliver(dir: &Path, jobs: usize, concurrency: usize) -> Result<Deliver> {
    let downstream = Downstream::start(jobs).await?;
    let daemon = Daemon::start(dir, concurrency, &downstream.base).await?;
    let (requests, body) = bodies(downstream.base.clone(), jobs, true, None);
    post_all(&daemon.addr, BATCH_CONNECTIONS, requests, body).await?;

    let meter = CpuMeter::start(&daemon);
    let started = Instant::now();
    downstream.open();
    let limit = Duration::from_secs(60 + jobs as u64 / 1_000);
    if tokio::time::timeout(limit, downstream.all_delivered())
        .await
        .is_err()
    {
        let (requests, distinct) = downstream.counts();
        let stats = daemon.queue_stats().await?;
        bail!("after {limit:?}, {requests} requests for {distinct} of {jobs} jobs; stats: {stats}");
    }
    let took = started.elapsed();
    let (downstream_cpu, daemon_cpu) = meter.read();

    // Once the stats count every job completed, nothing is running and nothing more
    // can arrive: the downstream's counts are final.
    daemon.wait_for_count("completed", jobs as u64).await?;
    let (requests, distinct) = downstream.counts();
    daemon.stop().await?;
    if requests != jobs as u64 || distinct != jobs as u64 {
        bail!("the downstream received {requests} requests for {distinct} distinct jobs of {jobs}");
    }
    Ok(Deliver {
        rate: jobs as f64 / took.as_secs_f64(),
        downstream_cpu,
        daemon_cpu,
        requests,
        distinct,
    })
}
