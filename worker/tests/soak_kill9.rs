//! The crash soak: a real `tenax run` daemon, producers enqueueing over the API, a flaky
//! downstream, and SIGKILL at random moments (during enqueue bursts, during retries,
//! while the breaker is open, during graceful shutdown), restarting each time on the
//! same data directory. At the end every acknowledged job was delivered, nothing is
//! lost, duplicates are counted, and the stats agree with the deliveries.
//!
//! `TENAX_SOAK_KILLS` sets the number of kills (default 20), `TENAX_SOAK_SEED` the seed.
//! RELIABILITY.md records a long run.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use axum::Router;
use axum::extract::Path as UrlPath;
use axum::http::StatusCode;
use serde_json::{Value, json};
use support::daemon::{Daemon, eventually};

const HEALTHY: u8 = 0;
const FLAKY: u8 = 1;
const DOWN: u8 = 2;

const POLICY: &str = r#"#{
    classes: #{
        transient: #{ base: "10ms", cap: "50ms", max_retries: 10000, jitter: 0.0 },
        unavailable: #{ base: "10ms", cap: "50ms", max_retries: 10000, jitter: 0.0 },
    },
    breaker: #{ failure_threshold: 5, recovery_timeout: "1s" },
}"#;

/// A seeded xorshift: reproducible kill moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The downstream: counts deliveries per job number; answers by mode.
struct Downstream {
    base: String,
    mode: Arc<AtomicU8>,
    deliveries: Arc<Mutex<BTreeMap<u64, u32>>>,
}

async fn downstream() -> Downstream {
    let mode = Arc::new(AtomicU8::new(HEALTHY));
    let deliveries = Arc::new(Mutex::new(BTreeMap::new()));
    let seen = AtomicU64::new(0);
    let (m, d) = (mode.clone(), deliveries.clone());
    let answer = Arc::new(move |n: u64| {
        let k = seen.fetch_add(1, Ordering::Relaxed);
        match m.load(Ordering::Relaxed) {
            DOWN => StatusCode::SERVICE_UNAVAILABLE,
            FLAKY if k.is_multiple_of(4) => StatusCode::SERVICE_UNAVAILABLE,
            _ => {
                *d.lock().expect("deliveries").entry(n).or_insert(0) += 1;
                StatusCode::OK
            }
        }
    });
    let router = Router::new().route(
        "/deliver/{n}",
        axum::routing::post(move |UrlPath(n): UrlPath<u64>| {
            let answer = answer.clone();
            async move { answer(n) }
        }),
    );
    Downstream {
        base: support::serve(router).await,
        mode,
        deliveries,
    }
}

fn start(data: &Path, base: &str, policy: &Path) -> Daemon {
    let extra = format!(
        "policy_file = {policy:?}\n[worker]\nconcurrency = 8\nshutdown_grace = \"1s\"\n\
         [http]\nallowed_bases = [\"{base}\"]\n",
        policy = policy.display().to_string()
    );
    Daemon::start_at(tempfile::tempdir().expect("config dir"), data, &extra)
}

/// Keeps posting jobs to whichever daemon is up; records what was acknowledged.
async fn produce(
    url: Arc<Mutex<String>>,
    base: String,
    next: Arc<AtomicU64>,
    acked: Arc<Mutex<BTreeSet<u64>>>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let client = support::api_client();
    let mut rng = Rng(seed | 1);
    while !stop.load(Ordering::Relaxed) {
        let size = if rng.below(3) == 0 {
            1 + rng.below(8)
        } else {
            1
        };
        let ns: Vec<u64> = (0..size)
            .map(|_| next.fetch_add(1, Ordering::Relaxed))
            .collect();
        let job = |n: &u64| json!({ "kind": "http", "payload": { "method": "POST", "url": format!("{base}/deliver/{n}") } });
        let body = if size == 1 {
            job(&ns[0])
        } else {
            json!({ "jobs": ns.iter().map(job).collect::<Vec<_>>() })
        };
        let target = format!("{}/v1/jobs", url.lock().expect("url"));
        match client.post(target).json(&body).send().await {
            Ok(r) if r.status().as_u16() == 201 => acked.lock().expect("acked").extend(ns),
            // Refused while the daemon restarts, or cut by a kill: not acknowledged.
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

async fn get(client: &reqwest::Client, url: String) -> Option<Value> {
    client.get(url).send().await.ok()?.json().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_job_is_lost_across_kill_9() -> Result<()> {
    let kills: u64 = std::env::var("TENAX_SOAK_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("TENAX_SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed);
    let began = Instant::now();
    let work = tempfile::tempdir()?;
    let data = work.path().join("data");
    let policy = work.path().join("policy.rhai");
    std::fs::write(&policy, POLICY)?;
    let mock = downstream().await;
    let client = support::api_client();
    let mut rng = Rng(seed);

    let mut daemon = start(&data, &mock.base, &policy);
    let url = Arc::new(Mutex::new(daemon.url.clone()));
    let next = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..3)
        .map(|i| {
            tokio::spawn(produce(
                url.clone(),
                mock.base.clone(),
                next.clone(),
                acked.clone(),
                stop.clone(),
                seed ^ (i + 1),
            ))
        })
        .collect();

    let mut scenarios = [0u64; 4];
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(30 + rng.below(250))).await;
        let scenario = rng.below(4);
        scenarios[scenario as usize] += 1;
        match scenario {
            // During retries: the downstream turns flaky for a moment.
            0 => {
                mock.mode.store(FLAKY, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(rng.below(100))).await;
            }
            // While the breaker is open.
            1 => {
                mock.mode.store(DOWN, Ordering::Relaxed);
                let breaker = format!("{}/v1/breaker", daemon.url);
                let deadline = Instant::now() + Duration::from_secs(3);
                while Instant::now() < deadline {
                    if get(&client, breaker.clone())
                        .await
                        .is_some_and(|b| b["state"] == "open")
                    {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            // During graceful shutdown.
            2 => {
                daemon.term();
                tokio::time::sleep(Duration::from_millis(rng.below(60))).await;
            }
            // In the middle of an enqueue burst: no warning at all.
            _ => {}
        }
        daemon.kill9();
        if rng.below(2) == 0 {
            mock.mode.store(HEALTHY, Ordering::Relaxed);
        }
        daemon = start(&data, &mock.base, &policy);
        *url.lock().expect("url") = daemon.url.clone();
    }

    stop.store(true, Ordering::Relaxed);
    for p in producers {
        p.await?;
    }
    mock.mode.store(HEALTHY, Ordering::Relaxed);
    let stats_url = format!("{}/v1/stats", daemon.url);
    let stats = eventually(Duration::from_secs(120), async || {
        let s = get(&client, stats_url.clone()).await?;
        let t = &s["total"];
        (t["waiting"] == 0 && t["retrying"] == 0 && t["running"] == 0).then_some(s)
    })
    .await;

    let acked = acked.lock().expect("acked").clone();
    let deliveries = mock.deliveries.lock().expect("deliveries").clone();
    let lost: Vec<u64> = acked
        .iter()
        .filter(|n| !deliveries.contains_key(n))
        .copied()
        .collect();
    let duplicates: u64 = deliveries.values().map(|c| u64::from(c - 1)).sum();
    let total = &stats["total"];
    eprintln!(
        "soak: {kills} kills (flaky {}, breaker open {}, graceful shutdown {}, burst {}), \
         {} jobs acknowledged, {} delivered, {} dead, {} lost, {duplicates} duplicate deliveries, {:.1} s",
        scenarios[0],
        scenarios[1],
        scenarios[2],
        scenarios[3],
        acked.len(),
        deliveries.len(),
        total["dead"],
        lost.len(),
        began.elapsed().as_secs_f64()
    );
    assert!(
        lost.is_empty(),
        "acknowledged jobs never delivered: {lost:?}"
    );
    assert_eq!(total["dead"], 0, "no job used up 10,000 retries");
    // Each stored job completed exactly once in the store, acknowledged or not (a job
    // can be stored and its acknowledgement cut by the kill).
    assert_eq!(
        total["completed"].as_u64(),
        Some(deliveries.len() as u64),
        "stats agree with the deliveries"
    );
    assert_eq!(total["enqueued"], total["completed"]);
    // At least once: a delivery can repeat only when a kill cut it between the request
    // and the stored completion, so at most one per running job per kill.
    assert!(
        duplicates <= kills * 8,
        "{duplicates} duplicates for {kills} kills"
    );
    Ok(())
}
