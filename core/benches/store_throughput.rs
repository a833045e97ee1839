//! Throughput of the store alone, against the targets of tenax-core.
//!
//! `cargo bench -p tenax-core --bench store_throughput` (add `-- --quick` for a smaller
//! run, `-- --runs N` for more repetitions). Each figure is the median of the runs with
//! the min..max spread. The data directory is a fresh temporary directory under
//! `TMPDIR` (set it to put the store on another disk).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenax_core::{Durability, NewJob, Store, StoreOptions};

struct Config {
    runs: usize,
    single: usize,
    concurrent: usize,
    batch_jobs: usize,
    drain: usize,
    deep: usize,
}

impl Config {
    fn full(runs: usize) -> Self {
        Config {
            runs,
            single: 2_000,
            concurrent: 100_000,
            batch_jobs: 500_000,
            drain: 100_000,
            deep: 1_000_000,
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if quick { 3 } else { 5 });
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let on = |name: &str| only.as_deref().is_none_or(|o| o == name);
    if !on("all") && only.is_some() {
        let cfg = Config::full(runs);
        let f: fn(&Config) -> f64 = match only.as_deref() {
            Some("fsync") => |_| fsync_rate(2_000),
            Some("enqueue") => |c| enqueue_single(c.single, Durability::Sync),
            Some("enqueue-concurrent") => |c| enqueue_concurrent(c.concurrent, 32),
            Some("enqueue-tasks") => |c| enqueue_concurrent_tasks(c.concurrent, 32),
            Some("enqueue-batch") => |c| enqueue_batch(c.batch_jobs, 1_000),
            Some("claim-complete") => |c| claim_complete(10_000, c.drain.min(10_000)),
            Some("depth") => |c| {
                let rate = deep_queue(c.deep, c.drain);
                for line in DEEP.lock().expect("report").drain(..) {
                    println!("  {line}");
                }
                rate
            },
            other => panic!("unknown workload {other:?}"),
        };
        let v = measure(cfg.runs, || f(&cfg));
        report(only.as_deref().unwrap_or_default(), "ops/s", &v);
        return;
    }
    let cfg = if quick {
        Config {
            runs,
            single: 500,
            concurrent: 20_000,
            batch_jobs: 100_000,
            drain: 20_000,
            deep: 200_000,
        }
    } else {
        Config::full(runs)
    };
    println!(
        "tenax-core store throughput ({} runs each, median [min..max])",
        cfg.runs
    );
    let fsync = measure(cfg.runs, || fsync_rate(2_000));
    report("raw fdatasync", "syncs/s", &fsync);
    let single = measure(cfg.runs, || enqueue_single(cfg.single, Durability::Sync));
    report("enqueue, 1 producer", "jobs/s", &single);
    println!(
        "{:>42} {:.0}% of raw fdatasync (target >= 80%)",
        "",
        100.0 * median(&single) / median(&fsync)
    );
    if std::env::var_os("TENAX_BENCH_CPU").is_some() {
        let cpu = measure(cfg.runs, || {
            enqueue_single(cfg.concurrent, Durability::Buffered)
        });
        report("enqueue, 1 producer, no sync (CPU cost)", "jobs/s", &cpu);
    }
    let conc = measure(cfg.runs, || enqueue_concurrent(cfg.concurrent, 32));
    report("enqueue, 32 producer threads", "jobs/s", &conc);
    let tasks = measure(cfg.runs, || enqueue_concurrent_tasks(cfg.concurrent, 32));
    report("enqueue, 32 producer tasks", "jobs/s", &tasks);
    let batch = measure(cfg.runs, || enqueue_batch(cfg.batch_jobs, 1_000));
    report("enqueue, batches of 1000", "jobs/s", &batch);
    let shallow = measure(cfg.runs, || claim_complete(10_000, cfg.drain.min(10_000)));
    report("claim+complete, 10k queued", "jobs/s", &shallow);
    let deep = measure(1, || deep_queue(cfg.deep, cfg.drain));
    println!(
        "{:<42} see below",
        format!("claim+complete, {} queued", cfg.deep)
    );
    for line in DEEP.lock().expect("report").iter() {
        println!("  {line}");
    }
    report(
        &format!("claim+complete, {} queued", cfg.deep),
        "jobs/s",
        &deep,
    );
    println!(
        "{:>42} {:.0}% of the 10k rate (target >= 50%)",
        "",
        100.0 * median(&deep) / median(&shallow)
    );
}

static DEEP: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn measure(runs: usize, mut f: impl FnMut() -> f64) -> Vec<f64> {
    let mut v: Vec<f64> = (0..runs).map(|_| f()).collect();
    v.sort_by(f64::total_cmp);
    v
}

fn median(v: &[f64]) -> f64 {
    v[v.len() / 2]
}

fn report(name: &str, unit: &str, v: &[f64]) {
    println!(
        "{name:<42} {:>10.0} {unit} [{:.0}..{:.0}]",
        median(v),
        v[0],
        v[v.len() - 1]
    );
}

fn payload(i: usize) -> Vec<u8> {
    // About 256 bytes of JSON, like a typical HTTP job.
    format!(
        r#"{{"method":"PUT","url":"http://127.0.0.1:32400/library/metadata/{i}/refresh","headers":{{"X-Plex-Token":"0123456789abcdef"}},"body":{{"title":"Item {i}","section":4,"note":"padding to a realistic size for a media server call ......"}}}}"#
    )
    .into_bytes()
}

fn open(dir: &Path, durability: Durability) -> Store {
    Store::open(
        dir,
        StoreOptions::default()
            .durability(durability)
            .min_free_bytes(0),
    )
    .expect("open")
}

fn per_sec(n: usize, t: Duration) -> f64 {
    n as f64 / t.as_secs_f64()
}

/// The disk's own limit: append 256 bytes and fdatasync, in the same filesystem.
fn fsync_rate(n: usize) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("f"))
        .expect("file");
    let buf = payload(0);
    let start = Instant::now();
    for _ in 0..n {
        f.write_all(&buf).expect("write");
        f.sync_data().expect("fdatasync");
    }
    per_sec(n, start.elapsed())
}

fn enqueue_single(n: usize, durability: Durability) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path(), durability);
    let start = Instant::now();
    for i in 0..n {
        store
            .enqueue(NewJob::new("http", payload(i)))
            .expect("enqueue");
    }
    per_sec(n, start.elapsed())
}

fn enqueue_concurrent(n: usize, producers: usize) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(open(dir.path(), Durability::Sync));
    let start = Instant::now();
    let threads: Vec<_> = (0..producers)
        .map(|p| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..n / producers {
                    store
                        .enqueue(NewJob::new("http", payload(p * n + i)))
                        .expect("enqueue");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("producer");
    }
    per_sec(n / producers * producers, start.elapsed())
}

/// The same from async tasks on a 2-thread runtime, as an async server enqueues: the
/// store's committer writes the groups.
fn enqueue_concurrent_tasks(n: usize, producers: usize) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path(), Durability::Sync);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let start = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..producers)
            .map(|p| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0..n / producers {
                        let job = NewJob::new("http", payload(p * n + i));
                        store.enqueue_async(job).await.expect("enqueue");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("producer");
        }
    });
    per_sec(n / producers * producers, start.elapsed())
}

fn enqueue_batch(n: usize, size: usize) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path(), Durability::Sync);
    let batches: Vec<Vec<NewJob>> = (0..n / size)
        .map(|b| {
            (0..size)
                .map(|i| NewJob::new("http", payload(b * size + i)))
                .collect()
        })
        .collect();
    let start = Instant::now();
    for batch in batches {
        store.enqueue_batch(batch).expect("enqueue batch");
    }
    per_sec(n / size * size, start.elapsed())
}

fn fill(store: &Store, n: usize) {
    for start in (0..n).step_by(10_000) {
        let jobs = (start..(start + 10_000).min(n))
            .map(|i| NewJob::new("http", payload(i)))
            .collect();
        store.enqueue_batch(jobs).expect("fill");
    }
}

/// Claims in rounds of 32 (a worker's concurrency) and completes each job.
fn drain(store: &Store, n: usize) -> Duration {
    let start = Instant::now();
    let mut done = 0;
    while done < n {
        let claimed = store.claim("default", 32.min(n - done)).expect("claim");
        assert!(!claimed.is_empty(), "queue ran dry");
        for c in &claimed {
            store.complete(&c.lease, None).expect("complete");
        }
        done += claimed.len();
    }
    start.elapsed()
}

fn claim_complete(depth: usize, n: usize) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path(), Durability::Buffered);
    fill(&store, depth);
    per_sec(n, drain(&store, n))
}

fn rss_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1 << 20) as f64
}

fn deep_queue(depth: usize, n: usize) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path(), Durability::Buffered);
    let t = Instant::now();
    fill(&store, depth);
    let fill_time = t.elapsed();
    let rate = per_sec(n, drain(&store, n));
    drop(store);
    let t = Instant::now();
    let store = open(dir.path(), Durability::Buffered);
    let reopen = t.elapsed();
    let after_reopen = per_sec(n, drain(&store, n));
    let mut lines = DEEP.lock().expect("report");
    lines.push(format!("filled {depth} jobs in {fill_time:.2?}"));
    lines.push(format!(
        "reopen with {} queued: {reopen:.2?} (target < 2 s)",
        depth - n
    ));
    lines.push(format!(
        "claim+complete after reopen: {after_reopen:.0} jobs/s"
    ));
    lines.push(format!(
        "resident memory: {:.0} MB (target < 150 MB)",
        rss_mb()
    ));
    rate
}
