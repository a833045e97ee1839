//! Three `tenax run` daemons on three hosts (network namespaces) sharing one queue in
//! PostgreSQL, as they will be used: producers enqueue over each daemon's API, a mock
//! downstream records every delivery with the host that made it. One daemon is killed
//! with SIGKILL, another is cut off from the network and later restored; then the
//! downstream has an outage.
//!
//! Checked: no acknowledged job is lost; no job runs on two hosts at once (the
//! downstream sees no overlapping deliveries of one job from two hosts); every repeated
//! delivery is explained by the kill or the cut (its earlier delivery was made by the
//! killed host before the kill, or by the cut host around the cut); during the outage
//! the breaker opens once for all hosts, and each half-open round sends one probe in
//! total, not one per host; every host shows the same breaker.
//!
//! Needs root (`ip netns`, veth, a bridge) and a PostgreSQL server; without either it
//! prints `SKIPPED: ...` and passes.

mod cluster;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tenax_postgres::testing::TestServer;

use cluster::downstream::{Delivery, Downstream};
use cluster::net::Net;
use support::daemon::{Daemon, Launch};

const HOSTS: usize = 3;
const TOKEN: &str = "cluster-test-token-0123456789";
const LEASE: Duration = Duration::from_secs(4);
const RECOVERY: Duration = Duration::from_secs(3);
const CONCURRENCY: usize = 8;
/// How long the downstream takes to answer a delivery.
const HOLD: Duration = Duration::from_millis(100);
const API_PORT: u16 = 7100;

const POLICY: &str = r#"#{
    classes: #{ transient: #{ base: "1s", cap: "2s", max_retries: 100, jitter: 0.0 } },
    breaker: #{ failure_threshold: 5, recovery_timeout: "3s" },
}"#;

/// The hosts, their daemons and what they share.
struct Cluster {
    net: Net,
    daemons: Vec<Option<Daemon>>,
    dir: tempfile::TempDir,
    store: String,
    downstream: Downstream,
    client: reqwest::Client,
}

impl Cluster {
    fn launch(&self, i: usize) -> Daemon {
        let policy = self.dir.path().join("policy.rhai");
        let extra = format!(
            "policy_file = {policy:?}\n\
             [api]\naddr = \"{addr}:{API_PORT}\"\ntoken = \"{TOKEN}\"\n\
             [worker]\nconcurrency = {CONCURRENCY}\nshutdown_grace = \"2s\"\n\
             [http]\nallowed_bases = [\"{base}/\"]\n\
             {store}node = \"host{i}\"\n",
            policy = policy.display().to_string(),
            addr = self.net.addr(i),
            base = self.downstream.base,
            store = self.store,
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let launch = Launch {
            wrapper: self.net.exec(i),
            keep_output: true,
            ..Launch::default()
        };
        Daemon::launch(dir, &data, &extra, &launch)
    }

    fn url(&self, i: usize) -> String {
        format!("http://{}:{API_PORT}", self.net.addr(i))
    }

    async fn get(&self, i: usize, path: &str) -> Option<Value> {
        let r = self
            .client
            .get(format!("{}{path}", self.url(i)))
            .bearer_auth(TOKEN)
            .send()
            .await
            .ok()?;
        r.json().await.ok()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for (i, d) in self.daemons.iter().enumerate() {
                if let Some(d) = d {
                    let out = d.output();
                    let tail = out.len().saturating_sub(40);
                    eprintln!("--- host{i} (last lines) ---\n{}", out[tail..].join("\n"));
                }
            }
        }
    }
}

/// `postgresql://USER@HOST:PORT/DB` split into the server's address, user and database.
fn server_parts(url: &str) -> Result<(SocketAddr, String, String)> {
    let rest = url
        .split_once("://")
        .map(|(_, r)| r)
        .context("a URL with a scheme")?;
    let (user, rest) = rest.split_once('@').context("a URL with a user")?;
    let (hostport, db) = rest.split_once('/').context("a URL with a database")?;
    let addr = hostport
        .to_socket_addrs()?
        .next()
        .context("the server's address")?;
    Ok((addr, user.to_owned(), db.to_owned()))
}

/// Enqueues batches of five jobs through the daemons in turn, starting with `first`,
/// until `stop`; records the numbers of the jobs a daemon acknowledged (201). A batch
/// that failed is not sent again: the daemon may have stored it before its answer was
/// lost, and the same number twice would look like a repeated delivery.
async fn produce(
    urls: Vec<String>,
    base: String,
    first: usize,
    offset: u64,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<BTreeSet<u64>>>,
) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(1))
        .build()
        .expect("client");
    let mut n = offset;
    let mut target = first;
    while !stop.load(Ordering::SeqCst) {
        for _ in 0..urls.len() {
            let numbers: Vec<u64> = (n..n + 5).collect();
            n += 5;
            let jobs: Vec<Value> = numbers
                .iter()
                .map(|k| {
                    json!({ "kind": "http",
                            "payload": { "method": "POST", "url": format!("{base}/deliver/{k}") } })
                })
                .collect();
            let sent = client
                .post(format!("{}/v1/jobs", urls[target]))
                .bearer_auth(TOKEN)
                .json(&json!({ "jobs": jobs }))
                .send()
                .await;
            if sent.is_ok_and(|r| r.status().as_u16() == 201) {
                acked.lock().expect("acked").extend(&numbers);
                break;
            }
            // Down, cut off or refusing: the next daemon.
            target = (target + 1) % urls.len();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `check` holds, polling every 200 ms, for at most `limit`.
async fn until(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Pairs of deliveries of one job by two hosts that overlapped in time.
fn overlaps(all: &[Delivery]) -> Vec<(Delivery, Delivery)> {
    let mut by_job: BTreeMap<u64, Vec<&Delivery>> = BTreeMap::new();
    for d in all {
        by_job.entry(d.n).or_default().push(d);
    }
    let mut found = Vec::new();
    let far = Instant::now() + Duration::from_secs(3600);
    for ds in by_job.values() {
        for (i, a) in ds.iter().enumerate() {
            for b in &ds[i + 1..] {
                let (a_end, b_end) = (a.end.unwrap_or(far), b.end.unwrap_or(far));
                if a.from != b.from && a.start < b_end && b.start < a_end {
                    found.push(((*a).clone(), (*b).clone()));
                }
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hosts_share_one_queue_through_a_kill_a_cut_and_an_outage() -> Result<()> {
    let Some(server) = TestServer::find_or_skip("the multi-host test") else {
        return Ok(());
    };
    let net = match Net::create(HOSTS) {
        Ok(net) => net,
        Err(why) => {
            eprintln!("SKIPPED: the multi-host test needs root and `ip netns` ({why})");
            return Ok(());
        }
    };
    let schema = server.schema();
    let (pg, user, db) = server_parts(schema.url())?;
    let proxy = cluster::proxy::forward(SocketAddr::new(net.gateway().into(), 0), pg).await;
    let downstream = Downstream::start(SocketAddr::new(net.gateway().into(), 0), HOLD).await;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("policy.rhai"), POLICY)?;
    let store = format!(
        "[store]\nbackend = \"postgres\"\nurl = \"postgresql://{user}@{proxy}/{db}\"\n\
         schema = {:?}\nlease_ttl = \"{}s\"\npool_size = 4\n",
        schema.name(),
        LEASE.as_secs()
    );
    let mut c = Cluster {
        net,
        daemons: Vec::new(),
        dir,
        store,
        downstream,
        client: support::api_client(),
    };
    for i in 0..HOSTS {
        let d = c.launch(i);
        c.daemons.push(Some(d));
    }

    // Phase 1: producers on every host; one host killed, another cut off and restored.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let urls: Vec<String> = (0..HOSTS).map(|i| c.url(i)).collect();
    let producers: Vec<_> = (0..HOSTS)
        .map(|p| {
            tokio::spawn(produce(
                urls.clone(),
                c.downstream.base.clone(),
                p,
                p as u64 * 1_000_000,
                stop.clone(),
                acked.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let killed_at = Instant::now();
    c.daemons[0].take().expect("host0").kill9();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cut_at = Instant::now();
    c.net.cut(1);
    tokio::time::sleep(LEASE * 2).await;
    let restored_at = Instant::now();
    c.net.restore(1);
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    for p in producers {
        p.await?;
    }
    let acked = acked.lock().expect("acked").clone();
    assert!(acked.len() > 300, "only {} jobs acknowledged", acked.len());

    // Every acknowledged job is delivered, and the queue drains.
    let delivered = |all: &[Delivery]| -> BTreeSet<u64> {
        all.iter()
            .filter(|d| d.ok && d.answered)
            .map(|d| d.n)
            .collect()
    };
    until(
        Duration::from_secs(90),
        "every acknowledged job delivered",
        async || acked.is_subset(&delivered(&c.downstream.deliveries())),
    )
    .await;
    until(Duration::from_secs(30), "the queue drained", async || {
        c.get(2, "/v1/stats").await.is_some_and(|s| {
            let t = &s["total"];
            t["waiting"] == 0 && t["retrying"] == 0 && t["running"] == 0
        })
    })
    .await;

    let phase1 = c.downstream.deliveries();
    let overlapping = overlaps(&phase1);
    assert!(
        overlapping.is_empty(),
        "{} overlapping deliveries of one job on two hosts: {:?}",
        overlapping.len(),
        &overlapping[..overlapping.len().min(5)]
    );
    // Repeats: the earlier deliveries of a job delivered more than once must be the
    // killed host's before the kill, or the cut host's around the cut.
    let host = |d: &Delivery| match d.from {
        std::net::IpAddr::V4(a) => c.net.host_of(a),
        std::net::IpAddr::V6(_) => None,
    };
    let mut by_job: BTreeMap<u64, Vec<&Delivery>> = BTreeMap::new();
    for d in phase1.iter().filter(|d| d.ok) {
        by_job.entry(d.n).or_default().push(d);
    }
    let mut repeats = 0;
    let mut unexplained = Vec::new();
    for ds in by_job.values().filter(|ds| ds.len() > 1) {
        repeats += 1;
        for earlier in &ds[..ds.len() - 1] {
            let end = earlier.end.unwrap_or(restored_at);
            let explained = match host(earlier) {
                Some(0) => earlier.start < killed_at,
                Some(1) => earlier.start < restored_at && end + Duration::from_secs(2) >= cut_at,
                _ => false,
            };
            if !explained {
                unexplained.push((*earlier).clone());
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "repeats not explained by the kill or the cut: {unexplained:?}"
    );
    // The cut host came back and delivered again.
    let per_host = |from: Instant, to: Instant| -> Vec<usize> {
        (0..HOSTS)
            .map(|i| {
                phase1
                    .iter()
                    .filter(|d| host(d) == Some(i) && d.start >= from && d.start < to)
                    .count()
            })
            .collect()
    };
    let after_restore = per_host(restored_at + Duration::from_secs(1), Instant::now());
    assert!(
        after_restore[1] > 0,
        "the restored host delivers: {after_restore:?}"
    );
    let stats = c.get(2, "/v1/stats").await.context("stats")?;
    eprintln!(
        "phase 1: {} acknowledged, {} deliveries (per host: before the kill {:?}, \
         during the cut {:?}, after it {:?}), {} jobs delivered twice or more (all after \
         the kill or the cut), no overlap; stats {}",
        acked.len(),
        phase1.len(),
        per_host(phase1[0].start, killed_at),
        per_host(cut_at, restored_at),
        after_restore,
        repeats,
        stats["total"]
    );

    // Phase 2: the killed host is back. Jobs that run longer than a lease keep it by
    // renewing: each is delivered once, by one host, while the others stay busy.
    let d = c.launch(0);
    c.daemons[0] = Some(d);
    let long = LEASE + Duration::from_secs(2);
    let jobs: Vec<Value> = (0..12u64)
        .map(|k| {
            json!({ "kind": "http", "payload": { "method": "POST",
            "url": format!("{}/deliver/{}?hold_ms={}", c.downstream.base, 8_000_000 + k,
                           long.as_millis()) } })
        })
        .collect();
    let r = c
        .client
        .post(format!("{}/v1/jobs", c.url(1)))
        .bearer_auth(TOKEN)
        .json(&json!({ "jobs": jobs }))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 201);
    until(
        Duration::from_secs(60),
        "the long jobs delivered",
        async || {
            let done = delivered(&c.downstream.deliveries());
            (8_000_000..8_000_012u64).all(|k| done.contains(&k))
        },
    )
    .await;
    let long_runs: Vec<Delivery> = c
        .downstream
        .deliveries()
        .into_iter()
        .filter(|d| (8_000_000..8_000_012).contains(&d.n))
        .collect();
    assert_eq!(
        long_runs.len(),
        12,
        "each job longer than its lease delivered once: {long_runs:?}"
    );
    let long_hosts: BTreeSet<_> = long_runs.iter().filter_map(&host).collect();

    // Phase 3: the downstream has an outage.
    let before = c.get(2, "/v1/breaker").await.context("breaker")?;
    let openings_before = before["openings"].as_u64().unwrap_or(0);
    let seen = c.downstream.deliveries().len();
    c.downstream.set_outage(true);
    let outage_at = Instant::now();
    let jobs: Vec<Value> = (0..40u64)
        .map(|k| {
            json!({ "kind": "http", "payload": { "method": "POST",
            "url": format!("{}/deliver/{}", c.downstream.base, 9_000_000 + k) } })
        })
        .collect();
    let r = c
        .client
        .post(format!("{}/v1/jobs", c.url(2)))
        .bearer_auth(TOKEN)
        .json(&json!({ "jobs": jobs }))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 201);
    for i in 0..HOSTS {
        until(
            Duration::from_secs(10),
            "every host sees the breaker open",
            async || {
                c.get(i, "/v1/breaker").await.is_some_and(|b| {
                    b["state"] != "closed" && b["openings"].as_u64() > Some(openings_before)
                })
            },
        )
        .await;
    }
    tokio::time::sleep(
        (outage_at + Duration::from_secs(11)).saturating_duration_since(Instant::now()),
    )
    .await;
    c.downstream.set_outage(false);
    let recovered_at = Instant::now();
    until(
        Duration::from_secs(30),
        "the outage's jobs delivered",
        async || {
            let done = delivered(&c.downstream.deliveries());
            (9_000_000..9_000_040u64).all(|k| done.contains(&k))
        },
    )
    .await;
    let mut openings = Vec::new();
    for i in 0..HOSTS {
        let b = c.get(i, "/v1/breaker").await.context("breaker")?;
        assert_eq!(b["state"], "closed", "host{i}: {b}");
        openings.push(b["openings"].as_u64().unwrap_or(0));
    }
    assert!(
        openings.iter().all(|o| *o == openings[0]),
        "every host shows one breaker: {openings:?}"
    );
    // The requests during the outage: a first wave (attempts claimed before the
    // breaker opened), then the probes, one per half-open round in total.
    let during: Vec<Delivery> = c.downstream.deliveries()[seen..]
        .iter()
        .filter(|d| d.start >= outage_at && d.start < recovered_at)
        .cloned()
        .collect();
    let mut starts: Vec<Instant> = during.iter().map(|d| d.start).collect();
    starts.sort();
    let gap = RECOVERY.mul_f64(0.8);
    let wave_end = starts
        .windows(2)
        .position(|w| w[1].duration_since(w[0]) >= gap)
        .map_or(starts.len(), |p| p + 1);
    let (wave, probes) = starts.split_at(wave_end);
    assert!(
        wave.len() <= HOSTS * CONCURRENCY + HOSTS,
        "{} requests before every host held the breaker open",
        wave.len()
    );
    assert!(
        probes.windows(2).all(|w| w[1].duration_since(w[0]) >= gap),
        "one probe per half-open round in total: {:?}",
        probes
            .iter()
            .map(|p| p.duration_since(outage_at))
            .collect::<Vec<_>>()
    );
    assert!(
        (2..=4).contains(&probes.len()),
        "{} failed probes in an outage of 11 s with a 3 s recovery timeout",
        probes.len()
    );
    // Opened once for all hosts, then once more after each failed probe; the probe
    // after the outage closed it.
    assert_eq!(
        openings[0] - openings_before,
        1 + probes.len() as u64,
        "openings {openings_before} -> {}, {} failed probes",
        openings[0],
        probes.len()
    );
    eprintln!(
        "phase 2: 12 jobs of {long:?} (lease {LEASE:?}) delivered once each by hosts \
         {long_hosts:?}; phase 3: {} requests in the first wave, {} failed probes {:?} apart, openings +{}",
        wave.len(),
        probes.len(),
        probes
            .windows(2)
            .map(|w| w[1].duration_since(w[0]))
            .collect::<Vec<_>>(),
        openings[0] - openings_before
    );
    let overlapping = overlaps(&c.downstream.deliveries());
    assert!(overlapping.is_empty(), "{overlapping:?}");

    // Every host stops gracefully; nothing is left running or dead.
    for i in 0..HOSTS {
        let d = c.daemons[i].take().expect("running");
        let status = d.terminate();
        assert!(status.success(), "host{i} exited with {status}");
    }
    let final_stats = tenax_postgres::PgStore::open(schema.options().node("check"))?;
    let t = tenax_core::JobStore::stats(&final_stats)?.total;
    assert_eq!(
        (t.running, t.waiting, t.retrying, t.dead),
        (0, 0, 0, 0),
        "{t:?}"
    );
    let _ = killed_at;
    Ok(())
}
