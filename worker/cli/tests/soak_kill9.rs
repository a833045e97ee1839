//! The crash soak: a real `tenax run` daemon, producers enqueueing over the API, a flaky
//! downstream, and SIGKILL at random moments (during enqueue bursts, during retries,
//! while the breaker is open after 503s or refused connections, during graceful
//! shutdown), restarting each time on the same data directory. At the end every
//! acknowledged job was delivered or is a dead letter, nothing is lost, every duplicate
//! delivery is explained by a kill or a cut connection, and the stats agree with the
//! deliveries.
//!
//! It runs on both stores: the embedded one in a data directory, and PostgreSQL
//! (skipped without a server). On PostgreSQL a second daemon, never killed, serves the
//! same queue throughout, with short leases; every other restart reopens the schema
//! under the killed daemon's node name (so it rescues what that one left running at
//! once), the others under a new name, so the killed daemon's jobs wait for their
//! leases to expire and are rescued by whichever daemon comes first.
//!
//! `TENAX_SOAK_KILLS` sets the number of kills (default 20), `TENAX_SOAK_SEED` the seed.
//! RELIABILITY.md records a long run.

mod soak;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{Value, json};
use soak::{Cause, Downstream, Interruption, Mode, Outage, Rng};
use support::daemon::{Daemon, eventually};

const CONCURRENCY: u64 = 8;

/// Fast schedules; the budgets (the issue's) are far beyond what the outages here use.
const POLICY: &str = r#"#{
    classes: #{
        transient: #{ base: "10ms", cap: "50ms", max_retries: 50 },
        unavailable: #{ base: "10ms", cap: "50ms", max_retries: 999 },
    },
    breaker: #{ failure_threshold: 5, recovery_timeout: "1s" },
}"#;

/// Where the soak's jobs are kept.
enum Backend {
    Fjall,
    Postgres(tenax_postgres::testing::TestSchema),
}

impl Backend {
    /// The `[store]` section, for a daemon named `node` (PostgreSQL only).
    fn store(&self, node: &str) -> String {
        match self {
            Backend::Fjall => "[store]\ndurability = \"sync\"\n".into(),
            Backend::Postgres(schema) => format!(
                "[store]\nbackend = \"postgres\"\nurl = {:?}\nschema = {:?}\nnode = {node:?}\n\
                 pool_size = 4\nlease_ttl = \"2s\"\n",
                schema.url(),
                schema.name()
            ),
        }
    }
}

fn start(backend: &Backend, node: &str, data: &Path, policy: &Path, bases: &[&str]) -> Daemon {
    let extra = format!(
        "policy_file = {policy:?}\n{store}\
         [worker]\nconcurrency = {CONCURRENCY}\nshutdown_grace = \"1s\"\n\
         [http]\nallowed_bases = {bases:?}\n",
        policy = policy.display().to_string(),
        store = backend.store(node),
    );
    Daemon::start_at(tempfile::tempdir().expect("config dir"), data, &extra)
}

/// Job `n`'s payload: a POST to `{base}/deliver/{n}`.
fn job(base: &str, n: u64) -> Value {
    json!({ "kind": "http", "payload": { "method": "POST", "url": format!("{base}/deliver/{n}") } })
}

/// The job number in a payload's URL.
fn number(job: &Value) -> u64 {
    job["payload"]["url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .and_then(|n| n.parse().ok())
        .expect("a soak job's URL ends in its number")
}

/// Keeps posting single jobs and small batches to whichever daemon is up, half of them
/// through the outage base; records the numbers acknowledged with a 201.
async fn produce(
    url: Arc<Mutex<String>>,
    bases: [String; 2],
    next: Arc<AtomicU64>,
    acked: Arc<Mutex<BTreeSet<u64>>>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let client = support::api_client();
    let mut rng = Rng::new(seed);
    while !stop.load(Ordering::Relaxed) {
        let size = if rng.below(3) == 0 {
            1 + rng.below(8)
        } else {
            1
        };
        let ns: Vec<u64> = (0..size)
            .map(|_| next.fetch_add(1, Ordering::Relaxed))
            .collect();
        let jobs: Vec<Value> = ns
            .iter()
            .map(|&n| job(&bases[(n % 2) as usize], n))
            .collect();
        let body = match jobs.as_slice() {
            [one] => one.clone(),
            _ => json!({ "jobs": jobs }),
        };
        let target = format!("{}/v1/jobs", url.lock().expect("url"));
        match client.post(target).json(&body).send().await {
            Ok(r) if r.status().as_u16() == 201 => acked.lock().expect("acked").extend(ns),
            // Refused while the daemon restarts, or cut by a kill: not acknowledged (the
            // jobs may or may not be stored).
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

async fn get(client: &reqwest::Client, url: String) -> Option<Value> {
    client.get(url).send().await.ok()?.json().await.ok()
}

/// Polls the breaker until it is open, for at most `limit`; whether it opened.
async fn breaker_opens(client: &reqwest::Client, daemon: &Daemon, limit: Duration) -> bool {
    let url = format!("{}/v1/breaker", daemon.url);
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if get(client, url.clone())
            .await
            .is_some_and(|b| b["state"] == "open")
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Every dead letter, all pages.
async fn dead_letters(client: &reqwest::Client, daemon: &Daemon) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let url = format!("{}/v1/dead?limit=1000{cursor}", daemon.url);
        let page = get(client, url).await.expect("the dead letter list");
        all.extend(page["jobs"].as_array().expect("jobs").iter().cloned());
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return all,
        }
    }
}

/// Which moment a kill hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Moment {
    /// In the middle of the enqueue bursts, without warning.
    Burst,
    /// While the downstream answers some requests 503: retries are scheduled.
    Retries,
    /// After the downstream answered 503 long enough to open the breaker.
    BreakerOpen503,
    /// After the outage base refused connections long enough to open the breaker.
    BreakerOpenRefused,
    /// A few milliseconds into a graceful shutdown (SIGTERM).
    Shutdown,
}

const MOMENTS: [Moment; 5] = [
    Moment::Burst,
    Moment::Retries,
    Moment::BreakerOpen503,
    Moment::BreakerOpenRefused,
    Moment::Shutdown,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_job_is_lost_across_kill_9() -> Result<()> {
    soak(Backend::Fjall).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_job_is_lost_across_kill_9_on_postgres() -> Result<()> {
    let Some(server) = tenax_postgres::testing::TestServer::find_or_skip("kill -9 soak") else {
        return Ok(());
    };
    soak(Backend::Postgres(server.schema())).await
}

async fn soak(backend: Backend) -> Result<()> {
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
    let mock = Downstream::start().await;
    let outage = Outage::start(&mock.base).await;
    let bases = [mock.base.clone(), outage.base.clone()];
    let allowed = [mock.base.as_str(), outage.base.as_str()];
    let client = support::api_client();
    let mut rng = Rng::new(seed);

    let shared = matches!(backend, Backend::Postgres(_));
    let mut node = "soak".to_owned();
    let mut daemon = start(&backend, &node, &data, &policy, &allowed);
    // On PostgreSQL, a second daemon that is never killed.
    let standby = shared.then(|| {
        let dir = work.path().join("standby");
        start(&backend, "soak-standby", &dir, &policy, &allowed)
    });
    let url = Arc::new(Mutex::new(daemon.url.clone()));
    let next = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..3)
        .map(|i| {
            tokio::spawn(produce(
                url.clone(),
                bases.clone(),
                next.clone(),
                acked.clone(),
                stop.clone(),
                seed ^ (0x100 + i),
            ))
        })
        .collect();

    let mut timeline: Vec<Interruption> = Vec::new();
    let mut moments: BTreeMap<Moment, u64> = BTreeMap::new();
    let mut open_at_kill = 0u64;
    let mut slowest_restart = Duration::ZERO;
    for k in 1..=kills {
        tokio::time::sleep(rng.pause(30, 250)).await;
        let moment = MOMENTS[rng.below(MOMENTS.len() as u64) as usize];
        *moments.entry(moment).or_default() += 1;
        match moment {
            Moment::Burst => {}
            Moment::Retries => {
                mock.set(Mode::Flaky);
                tokio::time::sleep(rng.pause(0, 150)).await;
            }
            Moment::BreakerOpen503 => {
                mock.set(Mode::Down);
                open_at_kill +=
                    u64::from(breaker_opens(&client, &daemon, Duration::from_secs(5)).await);
            }
            Moment::BreakerOpenRefused => {
                if outage.is_up() {
                    let at = Instant::now();
                    outage.cut().await;
                    timeline.push(Interruption {
                        cause: Cause::Cut,
                        start: at,
                        end: Instant::now(),
                    });
                }
                open_at_kill +=
                    u64::from(breaker_opens(&client, &daemon, Duration::from_secs(5)).await);
            }
            Moment::Shutdown => {
                daemon.term();
                tokio::time::sleep(rng.pause(0, 60)).await;
            }
        }
        let at = Instant::now();
        daemon.kill9();
        // Half the time the trouble outlives the daemon: the next one starts into it.
        if rng.below(2) == 0 {
            mock.set(Mode::Healthy);
            outage.restore().await;
        }
        let restart = Instant::now();
        if shared && k % 2 == 0 {
            // A new name: the killed daemon's jobs wait for their leases to expire.
            node = format!("soak-{k}");
        }
        daemon = start(&backend, &node, &data, &policy, &allowed);
        *url.lock().expect("url") = daemon.url.clone();
        // Start-up replays the store's journal, which grows while no daemon lives long
        // enough to flush it: worth watching in long runs.
        let took = restart.elapsed();
        slowest_restart = slowest_restart.max(took);
        timeline.push(Interruption {
            cause: Cause::Kill,
            start: at,
            end: Instant::now(),
        });
        if k % 50 == 0 {
            eprintln!(
                "soak: {k} kills, {} jobs acknowledged, last restart {took:?}, {:.1} s",
                acked.lock().expect("acked").len(),
                began.elapsed().as_secs_f64()
            );
        }
    }

    // Drain: no more producers, a healthy downstream, one last fresh daemon.
    stop.store(true, Ordering::Relaxed);
    for p in producers {
        p.await?;
    }
    mock.set(Mode::Healthy);
    outage.restore().await;
    daemon.terminate();
    daemon = start(&backend, &node, &data, &policy, &allowed);
    let stats_url = format!("{}/v1/stats", daemon.url);
    let stats = eventually(Duration::from_secs(120), async || {
        let s = get(&client, stats_url.clone()).await?;
        let t = &s["total"];
        (t["waiting"] == 0 && t["retrying"] == 0 && t["running"] == 0).then_some(s)
    })
    .await;
    let total = &stats["total"];
    let dead = dead_letters(&client, &daemon).await;
    let issued = next.load(Ordering::Relaxed);
    let acked = acked.lock().expect("acked").clone();
    let deliveries = mock.deliveries();

    // Dead letters: only jobs that were running at `crash_limit` (3) kills can be there.
    let mut dead_ns = BTreeSet::new();
    for letter in &dead {
        let class = &letter["last_error"]["class"];
        assert_eq!(
            class, "crashed",
            "a dead letter not explained by kills: {letter}"
        );
        dead_ns.insert(number(letter));
    }

    // Nothing acknowledged is lost.
    let lost: Vec<u64> = acked
        .iter()
        .filter(|n| !deliveries.contains_key(n) && !dead_ns.contains(n))
        .copied()
        .collect();

    // Every repeat delivery is explained by an interruption between the two.
    let mut duplicates: BTreeMap<Cause, u64> = BTreeMap::new();
    let mut unexplained = Vec::new();
    let mut widest_window = Duration::ZERO;
    for (n, times) in &deliveries {
        for pair in times.windows(2) {
            match soak::explain(&timeline, pair[0], pair[1]) {
                Some(i) => {
                    *duplicates.entry(i.cause).or_default() += 1;
                    widest_window = widest_window.max(i.start.saturating_duration_since(pair[0]));
                }
                None => unexplained.push((*n, pair[0] - began, pair[1] - began)),
            }
        }
    }
    let duplicate_total: u64 = duplicates.values().sum();
    let interruptions = timeline.len() as u64;

    // On PostgreSQL: how many jobs the standby rescued from killed daemons' expired
    // leases (its own counter; the restarted daemons rescue some too).
    let mut rescued_by_standby = None;
    if let Some(standby) = &standby {
        let text = client
            .get(format!("{}/metrics", standby.url))
            .send()
            .await?
            .text()
            .await?;
        rescued_by_standby = Some(
            text.lines()
                .filter(|l| l.starts_with("tenax_jobs_rescued_total"))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum::<f64>() as u64,
        );
    }
    let store_name = match backend {
        Backend::Fjall => "fjall",
        Backend::Postgres(_) => "postgres",
    };
    let delivered_not_dead = deliveries.keys().filter(|n| !dead_ns.contains(n)).count() as u64;
    eprintln!(
        "soak ({store_name}): seed {seed}, {kills} kills at {moments:?} (breaker seen open at {open_at_kill}), \
         {} outage cuts; {issued} jobs sent, {} acknowledged, {} stored, {} delivered, \
         {} dead, {} lost; {duplicate_total} duplicate deliveries {duplicates:?}, \
         widest crash window {widest_window:?}; slowest restart {slowest_restart:?}; \
         rescued by the standby after their lease {rescued_by_standby:?}; {:.1} s",
        interruptions - kills,
        acked.len(),
        total["enqueued"],
        deliveries.len(),
        dead.len(),
        lost.len(),
        began.elapsed().as_secs_f64()
    );

    assert!(
        lost.is_empty(),
        "acknowledged jobs neither delivered nor dead: {lost:?}"
    );
    assert!(
        unexplained.is_empty(),
        "repeat deliveries with no kill or cut between them (job, first, again, since start): \
         {unexplained:?}"
    );
    assert!(
        duplicate_total <= interruptions * CONCURRENCY,
        "{duplicate_total} duplicates for {interruptions} interruptions of {CONCURRENCY} slots"
    );
    // Stats agree with the data: each stored job ended once, completed (after a 200) or
    // dead; acknowledged or not (a kill can cut the acknowledgement of a stored job).
    assert_eq!(
        total["dead"].as_u64(),
        Some(dead.len() as u64),
        "dead count"
    );
    assert_eq!(
        total["completed"].as_u64(),
        Some(delivered_not_dead),
        "completed count"
    );
    assert_eq!(
        total["enqueued"].as_u64(),
        Some(delivered_not_dead + dead.len() as u64),
        "every stored job completed or dead"
    );
    assert!(
        deliveries.keys().all(|&n| n < issued),
        "only sent jobs are delivered"
    );
    let exit = daemon.terminate();
    assert!(exit.success(), "the last daemon stops cleanly: {exit:?}");
    if let Some(standby) = standby {
        let exit = standby.terminate();
        assert!(exit.success(), "the standby stops cleanly: {exit:?}");
    }
    Ok(())
}
