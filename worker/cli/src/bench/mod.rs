//! `tenax bench`: the standard workloads as one command, with the targets beside the
//! figures. Each figure is the median of `--runs` runs, each on a fresh directory.

mod api;
mod daemon;
mod depth;
mod downstream;
mod http1;
mod load;
mod report;
mod store;
mod target;
mod worker;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use report::Figure;
use target::{BackendArg, Target};

/// Every workload, in the order they run.
const WORKLOADS: [&str; 10] = [
    "fsync",
    "enqueue",
    "enqueue-concurrent",
    "enqueue-batch",
    "drain",
    "latency",
    "retry",
    "depth",
    "api-enqueue",
    "http-deliver",
];

/// The workloads of `--backend postgres`: the server's commit rate in place of the
/// disk's fsync rate, the enqueue paths, the worker, and the worker twice on one queue
/// (a second daemon).
const PG_WORKLOADS: [&str; 8] = [
    "commit",
    "enqueue",
    "enqueue-concurrent",
    "enqueue-batch",
    "drain",
    "drain-2",
    "latency",
    "retry",
];

/// The server `--backend postgres` uses unless `--url` names another.
const DEFAULT_PG_URL: &str = "postgresql://postgres@127.0.0.1:5432/test";

/// Measure throughput and latency on this machine (a few minutes at full size; `depth`
/// fills a million jobs and needs about 1 GB of disk).
#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// Workloads to run, comma-separated or repeated: fsync, enqueue, enqueue-concurrent,
    /// enqueue-batch, drain, latency, retry, depth, api-enqueue, http-deliver (the last
    /// two through a real `tenax run` child process). Default: all.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Jobs per run for every workload (depth's deep queue too). Default: each
    /// workload's standard size (depth: 1,000,000).
    #[arg(long)]
    jobs: Option<usize>,
    /// Producers for enqueue-concurrent (as async tasks, then as threads); worker
    /// concurrency for drain and retry.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Keep-alive connections for api-enqueue's single-job requests; worker concurrency
    /// of the daemon in api-enqueue and http-deliver.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Runs per workload; figures are medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Where to put the stores (an empty or missing directory). Default: a temporary
    /// directory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The store measured: the embedded fjall store, or PostgreSQL (workloads commit,
    /// enqueue, enqueue-concurrent, enqueue-batch, drain, drain-2, latency, retry; each
    /// run in a fresh schema, dropped after it).
    #[arg(long, value_enum, default_value = "fjall")]
    backend: BackendArg,
    /// With `--backend postgres`: the server, without a password (PGPASSWORD is used if
    /// set). Default: TENAX_PG_URL, else postgresql://postgres@127.0.0.1:5432/test.
    #[arg(long)]
    url: Option<String>,
}

/// Runs the selected workloads and prints the figures.
pub(crate) async fn run(args: BenchArgs) -> Result<()> {
    if let Some(dir) = std::env::var_os(depth::REOPEN_ENV) {
        return depth::reopen_probe(Path::new(&dir));
    }
    let (target, workloads): (Target, &[&str]) = match args.backend {
        BackendArg::Fjall => (Target::Fjall, &WORKLOADS),
        BackendArg::Postgres => {
            let url = args
                .url
                .clone()
                .or_else(|| std::env::var(tenax_postgres::testing::URL_VAR).ok())
                .unwrap_or_else(|| DEFAULT_PG_URL.to_owned());
            (
                Target::Postgres(tenax_postgres::testing::TestServer::at(url)),
                &PG_WORKLOADS,
            )
        }
    };
    for name in &args.only {
        if !workloads.contains(&name.as_str()) {
            bail!(
                "unknown workload `{name}` for this backend; choose from {}",
                workloads.join(", ")
            );
        }
    }
    if args.runs == 0 || args.concurrency == 0 || args.connections == 0 {
        bail!("--runs, --concurrency and --connections must be at least 1");
    }
    let _temp;
    let root = match &args.data_dir {
        Some(dir) => {
            if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
                bail!("--data-dir {} is not empty", dir.display());
            }
            dir.clone()
        }
        None => {
            _temp = tempfile::tempdir().context("temporary directory")?;
            _temp.path().to_path_buf()
        }
    };
    let selected: Vec<&'static str> = workloads
        .iter()
        .copied()
        .filter(|w| args.only.is_empty() || args.only.iter().any(|o| o == w))
        .collect();
    let mut figures = Vec::new();
    let mut fsync_median = None;
    let mut drain_median = None;
    for workload in selected {
        let found = measure(workload, &args, &root, &target, fsync_median, drain_median).await?;
        match workload {
            "fsync" | "commit" => fsync_median = found.first().map(|f| f.median),
            "drain" => drain_median = found.first().map(|f| f.median),
            _ => {}
        }
        figures.extend(found);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "figures": figures }))?
        );
    } else {
        print!("{}", report::table(&figures));
    }
    Ok(())
}

/// A fresh directory for one run.
fn fresh(root: &Path, workload: &str, run: usize) -> Result<PathBuf> {
    let dir = root.join(format!("{workload}-{run}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

async fn measure(
    workload: &'static str,
    args: &BenchArgs,
    root: &Path,
    target: &Target,
    fsync: Option<f64>,
    drain: Option<f64>,
) -> Result<Vec<Figure>> {
    let pg = target.is_postgres();
    let size = |standard: usize| args.jobs.unwrap_or(standard).max(1);
    let mut values: Vec<Vec<f64>> = Vec::new();
    for run in 0..args.runs {
        eprintln!("bench: {workload}, run {}/{}", run + 1, args.runs);
        let dir = fresh(root, workload, run)?;
        let open = |durability| target.open(&dir, durability);
        let got: Vec<f64> = match workload {
            "commit" => {
                let opened = open(tenax_core::Durability::Sync)?;
                let schema = opened.schema.as_ref().context("a PostgreSQL run")?;
                vec![store::commit(schema, size(2_000)).await?]
            }
            "fsync" => {
                let n = size(2_000);
                vec![blocking(move || store::fsync(&dir, n)).await?]
            }
            "enqueue" if pg => {
                let opened = open(tenax_core::Durability::Sync)?;
                let schema = opened.schema.as_ref().context("a PostgreSQL run")?;
                let (enqueue, commit) =
                    store::enqueue_beside_commit(opened.store.clone(), schema, size(2_000)).await?;
                vec![enqueue, commit]
            }
            "enqueue" => {
                let (n, opened) = (size(2_000), open(tenax_core::Durability::Sync)?);
                vec![blocking(move || store::enqueue(&*opened.store, n)).await?]
            }
            "enqueue-concurrent" => {
                let (n, p) = (size(if pg { 20_000 } else { 100_000 }), args.concurrency);
                let opened = open(tenax_core::Durability::Sync)?;
                let tasks = store::enqueue_concurrent_tasks(opened.store.clone(), n, p).await?;
                let threads_dir = fresh(root, "enqueue-concurrent-threads", run)?;
                let opened = target.open(&threads_dir, tenax_core::Durability::Sync)?;
                let threads =
                    blocking(move || store::enqueue_concurrent(opened.store, n, p)).await?;
                std::fs::remove_dir_all(threads_dir).ok();
                vec![tasks, threads]
            }
            "enqueue-batch" => {
                let n = size(if pg { 200_000 } else { 500_000 });
                let opened = open(tenax_core::Durability::Sync)?;
                vec![blocking(move || store::enqueue_batch(&*opened.store, n, 1_000)).await?]
            }
            "drain" => {
                let opened = open(tenax_core::Durability::Buffered)?;
                let n = size(if pg { 50_000 } else { 200_000 });
                vec![worker::drain(vec![opened.store.clone()], n, args.concurrency).await?]
            }
            "drain-2" => {
                let opened = open(tenax_core::Durability::Buffered)?;
                let schema = opened.schema.as_ref().context("a PostgreSQL run")?;
                let second = target::open_pg(schema, "bench-2")?;
                let stores = vec![opened.store.clone(), second];
                vec![worker::drain(stores, size(50_000), args.concurrency).await?]
            }
            "retry" => {
                let opened = open(tenax_core::Durability::Buffered)?;
                let n = size(if pg { 20_000 } else { 50_000 });
                vec![worker::retry(opened.store.clone(), n, args.concurrency).await?]
            }
            "latency" => {
                let opened = open(tenax_core::Durability::Sync)?;
                let (p50, p99, max) =
                    worker::latency(opened.store.clone(), size(2_000).min(20_000)).await?;
                vec![p50, p99, max]
            }
            "depth" => {
                let deep = size(1_000_000);
                let d = blocking(move || depth::depth(&dir, deep, (deep / 10).clamp(1, 100_000)))
                    .await?;
                vec![
                    d.shallow_rate,
                    d.deep_rate,
                    d.reopen.as_secs_f64() * 1000.0,
                    d.rss_mb,
                ]
            }
            "api-enqueue" => {
                let e =
                    api::api_enqueue(&dir, size(100_000), size(300_000), args.connections).await?;
                vec![
                    e.single_rate,
                    e.p50_ms,
                    e.p99_ms,
                    e.batch_rate,
                    e.generator_cpu,
                    e.daemon_cpu,
                ]
            }
            "http-deliver" => {
                let d = api::http_deliver(&dir, size(200_000), args.connections).await?;
                vec![
                    d.rate,
                    d.downstream_cpu,
                    d.daemon_cpu,
                    d.requests as f64,
                    d.distinct as f64,
                ]
            }
            _ => bail!("unknown workload `{workload}`"),
        };
        std::fs::remove_dir_all(fresh(root, workload, run)?).ok();
        for (i, v) in got.into_iter().enumerate() {
            if values.len() <= i {
                values.push(Vec::new());
            }
            values[i].push(v);
        }
    }
    let mut columns = values.into_iter();
    let mut next = || columns.next().unwrap_or_default();
    if pg {
        return Ok(pg_figures(workload, args, fsync, drain, &mut next));
    }
    Ok(match workload {
        "fsync" => vec![Figure::new(
            workload,
            "fsync: raw fdatasync of 256-byte appends",
            "/s",
            next(),
        )],
        "enqueue" => {
            let f = Figure::new(workload, "enqueue: durable, 1 producer", "jobs/s", next());
            match fsync {
                Some(raw) => {
                    let words = format!(">= 80% of fsync ({:.0}/s)", 0.8 * raw);
                    vec![f.at_least(0.8 * raw, &words)]
                }
                None => vec![f],
            }
        }
        "enqueue-concurrent" => vec![
            Figure::new(
                workload,
                format!("enqueue-concurrent: {} producer tasks", args.concurrency),
                "jobs/s",
                next(),
            )
            .at_least(50_000.0, ">= 50,000"),
            Figure::new(
                workload,
                format!("enqueue-concurrent: {} producer threads", args.concurrency),
                "jobs/s",
                next(),
            ),
        ],
        "enqueue-batch" => vec![
            Figure::new(
                workload,
                "enqueue-batch: 1,000 jobs per call",
                "jobs/s",
                next(),
            )
            .at_least(300_000.0, ">= 300,000"),
        ],
        "drain" => vec![
            Figure::new(
                workload,
                format!("drain: no-op jobs, concurrency {}", args.concurrency),
                "jobs/s",
                next(),
            )
            .at_least(50_000.0, ">= 50,000"),
        ],
        "retry" => vec![Figure::new(
            workload,
            "retry: fail once, then succeed",
            "jobs/s",
            next(),
        )],
        "latency" => vec![
            Figure::new(workload, "latency: enqueue-to-start p50", "ms", next())
                .below(1.0, "< 1 ms"),
            Figure::new(workload, "latency: enqueue-to-start p99", "ms", next())
                .below(5.0, "< 5 ms"),
            Figure::new(workload, "latency: enqueue-to-start max", "ms", next()),
        ],
        "depth" => {
            let shallow = Figure::new(
                workload,
                "depth: claim+complete, 10,000 queued",
                "jobs/s",
                next(),
            );
            let half = shallow.median / 2.0;
            let deep_name = format!("depth: claim+complete, {} queued", size(1_000_000));
            vec![
                shallow,
                Figure::new(workload, deep_name, "jobs/s", next())
                    .at_least(half, ">= half the 10,000 rate"),
                Figure::new(workload, "depth: reopen time", "ms", next()).below(2_000.0, "< 2 s"),
                Figure::new(
                    workload,
                    "depth: resident memory after reopen",
                    "MB",
                    next(),
                )
                .below(150.0, "< 150 MB"),
            ]
        }
        "api-enqueue" => {
            let c = args.connections;
            vec![
                Figure::new(
                    workload,
                    format!("api-enqueue: 1 job per POST, {c} conns"),
                    "jobs/s",
                    next(),
                )
                .at_least(33_000.0, ">= 33,000"),
                Figure::new(workload, "api-enqueue: 1 job per POST, p50", "ms", next()),
                Figure::new(workload, "api-enqueue: 1 job per POST, p99", "ms", next())
                    .below(8.0, "< 8 ms"),
                Figure::new(
                    workload,
                    format!(
                        "api-enqueue: {} jobs per POST, {} conns",
                        load::BATCH,
                        load::BATCH_CONNECTIONS
                    ),
                    "jobs/s",
                    next(),
                ),
                Figure::new(workload, "api-enqueue: load generator CPU", "%core", next()),
                Figure::new(workload, "api-enqueue: daemon CPU", "%core", next()),
            ]
        }
        "http-deliver" => vec![
            Figure::new(
                workload,
                format!("http-deliver: concurrency {}", args.connections),
                "jobs/s",
                next(),
            )
            .at_least(27_000.0, ">= 27,000"),
            Figure::new(workload, "http-deliver: downstream CPU", "%core", next()),
            Figure::new(workload, "http-deliver: daemon CPU", "%core", next()),
            Figure::new(workload, "http-deliver: requests received", "count", next()),
            Figure::new(
                workload,
                "http-deliver: distinct jobs received",
                "count",
                next(),
            ),
        ],
        _ => Vec::new(),
    })
}

/// The figures of a PostgreSQL run, with the targets for the server on this
/// machine.
fn pg_figures(
    workload: &'static str,
    args: &BenchArgs,
    commit: Option<f64>,
    drain: Option<f64>,
    next: &mut impl FnMut() -> Vec<f64>,
) -> Vec<Figure> {
    let c = args.concurrency;
    match workload {
        "commit" => vec![Figure::new(
            workload,
            "commit: the server's single-row insert, 1 client",
            "/s",
            next(),
        )],
        "enqueue" => {
            let enqueue = next();
            let beside = next();
            let mut ratios: Vec<f64> = enqueue.iter().zip(&beside).map(|(e, c)| e / c).collect();
            ratios.sort_by(f64::total_cmp);
            let ratio = ratios.get(ratios.len() / 2).copied().unwrap_or(0.0);
            let _ = commit;
            let f = Figure::new(workload, "enqueue: durable, 1 producer", "jobs/s", enqueue);
            let words = format!(
                ">= 80% of the commits beside it ({:.0}% of them)",
                100.0 * ratio
            );
            let mut f = f.at_least(0.0, &words);
            f.met = Some(ratio >= 0.8);
            vec![
                f,
                Figure::new(
                    workload,
                    "enqueue: commits in the blocks beside it",
                    "/s",
                    beside,
                ),
            ]
        }
        "enqueue-concurrent" => vec![
            Figure::new(
                workload,
                format!("enqueue-concurrent: {c} producer tasks"),
                "jobs/s",
                next(),
            ),
            Figure::new(
                workload,
                format!("enqueue-concurrent: {c} producer threads"),
                "jobs/s",
                next(),
            ),
        ],
        "enqueue-batch" => vec![
            Figure::new(
                workload,
                "enqueue-batch: 1,000 jobs per call",
                "jobs/s",
                next(),
            )
            .at_least(50_000.0, ">= 50,000"),
        ],
        "drain" => vec![
            Figure::new(
                workload,
                format!("drain: no-op jobs, 1 worker, concurrency {c}"),
                "jobs/s",
                next(),
            )
            .at_least(10_000.0, ">= 10,000"),
        ],
        "drain-2" => {
            let f = Figure::new(
                workload,
                format!("drain-2: two workers (two stores) on one queue, concurrency {c} each"),
                "jobs/s",
                next(),
            );
            match drain {
                Some(one) => vec![f.at_least(one, &format!("> one worker ({one:.0}/s)"))],
                None => vec![f],
            }
        }
        "retry" => vec![Figure::new(
            workload,
            "retry: fail once, then succeed",
            "jobs/s",
            next(),
        )],
        "latency" => vec![
            Figure::new(workload, "latency: enqueue-to-start p50", "ms", next()),
            Figure::new(workload, "latency: enqueue-to-start p99", "ms", next()),
            Figure::new(workload, "latency: enqueue-to-start max", "ms", next()),
        ],
        _ => Vec::new(),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await?
}
