//! The load generator: `POST /v1/jobs` over keep-alive connections, each with one
//! request in flight, as many clients of a daemon would send them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::http1::Conn;

/// Jobs per request in the batch form.
pub(crate) const BATCH: usize = 1_000;

/// Connections that send batches: a few clients, each sending large requests.
pub(crate) const BATCH_CONNECTIONS: usize = 8;

/// What a load run measured.
pub(crate) struct Load {
    pub(crate) took: Duration,
    /// Each request's latency in milliseconds, from the first byte written to the last
    /// byte of the response read, sorted.
    pub(crate) latencies_ms: Vec<f64>,
}

/// One job as `POST /v1/jobs` takes it: an HTTP job to `{base}{n}` with a small JSON
/// body (about 150 bytes), run after `delay` if given.
pub(crate) fn job_json(base: &str, n: usize, delay: Option<&str>) -> String {
    let delay = delay
        .map(|d| format!(r#","delay":"{d}""#))
        .unwrap_or_default();
    format!(
        r#"{{"kind":"http","payload":{{"method":"POST","url":"{base}{n}","json":{{"title":"Item {n}","section":4,"note":"a realistic size"}}}}{delay}}}"#
    )
}

/// Jobs `0..jobs` as request bodies: one job per request, or batches of [`BATCH`].
pub(crate) fn bodies(
    base: String,
    jobs: usize,
    batched: bool,
    delay: Option<&'static str>,
) -> (usize, Arc<dyn Fn(usize) -> String + Send + Sync>) {
    if !batched {
        return (jobs, Arc::new(move |n| job_json(&base, n, delay)));
    }
    let requests = jobs.div_ceil(BATCH);
    let body = move |r: usize| {
        let all: Vec<String> = (r * BATCH..((r + 1) * BATCH).min(jobs))
            .map(|n| job_json(&base, n, delay))
            .collect();
        format!(r#"{{"jobs":[{}]}}"#, all.join(","))
    };
    (requests, Arc::new(body))
}

/// Sends requests `0..requests` (body `i` from `body(i)`) over `connections`
/// connections opened before the clock starts; every answer must be `201 Created`.
pub(crate) async fn post_all(
    addr: &str,
    connections: usize,
    requests: usize,
    body: Arc<dyn Fn(usize) -> String + Send + Sync>,
) -> Result<Load> {
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections.min(requests.max(1)) {
        conns.push(Conn::connect(addr).await?);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let (next, body) = (next.clone(), body.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        return anyhow::Ok(latencies);
                    }
                    let json = body(i);
                    let sent = Instant::now();
                    let (status, answer) = conn.call("POST", "/v1/jobs", Some(&json)).await?;
                    latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                    if status != 201 {
                        bail!(
                            "POST /v1/jobs answered {status}: {}",
                            String::from_utf8_lossy(&answer)
                        );
                    }
                }
            })
        })
        .collect();
    let mut latencies_ms = Vec::with_capacity(requests);
    for task in tasks {
        latencies_ms.extend(task.await??);
    }
    let took = started.elapsed();
    latencies_ms.sort_by(f64::total_cmp);
    Ok(Load { took, latencies_ms })
}
