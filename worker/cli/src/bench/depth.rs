//! Claim + complete at 10,000 and at 1,000,000 queued, resident memory, and reopen time.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use tenax_core::{Durability, Store};

use super::store::{fill, open, rate};

/// What one depth run measured.
pub(crate) struct Depth {
    pub(crate) shallow_rate: f64,
    pub(crate) deep_rate: f64,
    pub(crate) reopen: Duration,
    pub(crate) rss_mb: f64,
}

/// Claims in rounds of 32 (a worker's concurrency) and completes each job.
fn drain(store: &Store, n: usize) -> Result<f64> {
    let started = Instant::now();
    let mut done = 0;
    while done < n {
        let claimed = store.claim("default", 32.min(n - done))?;
        if claimed.is_empty() {
            bail!("the queue ran dry after {done} jobs");
        }
        for c in &claimed {
            store.complete(&c.lease, None)?;
        }
        done += claimed.len();
    }
    Ok(rate(n, started))
}

/// `deep` jobs queued (1,000,000 by default); the drain measures `sample` of them.
pub(crate) fn depth(dir: &Path, deep: usize, sample: usize) -> Result<Depth> {
    let shallow_dir = dir.join("shallow");
    let store = open(&shallow_dir, Durability::Buffered)?;
    fill(&store, 10_000)?;
    let shallow_rate = drain(&store, sample.min(10_000))?;
    drop(store);

    let deep_dir = dir.join("deep");
    let store = open(&deep_dir, Durability::Buffered)?;
    eprintln!("  depth: filling {deep} jobs...");
    fill(&store, deep)?;
    let deep_rate = drain(&store, sample.min(deep))?;
    store.close()?;
    let (reopen, rss_mb) = reopen_in_a_fresh_process(&deep_dir)?;
    Ok(Depth {
        shallow_rate,
        deep_rate,
        reopen,
        rss_mb,
    })
}

/// The environment variable that makes `tenax bench` only reopen a store and report.
pub(crate) const REOPEN_ENV: &str = "TENAX_BENCH_REOPEN";

/// Reopen time and resident memory, measured in a new process: this one has filled a
/// million jobs, and its allocator keeps that memory, which says nothing about what a
/// daemon holding the store needs.
fn reopen_in_a_fresh_process(dir: &Path) -> Result<(Duration, f64)> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("bench")
        .env(REOPEN_ENV, dir)
        .output()?;
    if !out.status.success() {
        bail!(
            "the reopen probe failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    match (fields.next(), fields.next()) {
        (Some(Ok(ms)), Some(Ok(mb))) => Ok((Duration::from_secs_f64(ms / 1000.0), mb)),
        _ => bail!("the reopen probe printed {text:?}"),
    }
}

/// The child side of [`reopen_in_a_fresh_process`]: prints `<reopen ms> <rss MB>`.
pub(crate) fn reopen_probe(dir: &Path) -> Result<()> {
    let started = Instant::now();
    let store = open(dir, Durability::Buffered)?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    println!("{ms} {}", rss_mb());
    drop(store);
    Ok(())
}

/// Resident memory of this process, from `/proc/self/statm`.
fn rss_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / f64::from(1u32 << 20)
}
