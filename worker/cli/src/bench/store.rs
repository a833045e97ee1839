//! The store alone: the disk's fsync rate (or the server's commit rate) and the three
//! enqueue paths.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use tenax_core::{Durability, JobStore, NewJob, Store, StoreOptions};

/// About 256 bytes of JSON, like a typical HTTP job.
pub(crate) fn payload(i: usize) -> Vec<u8> {
    format!(
        r#"{{"method":"PUT","url":"http://127.0.0.1:32400/library/metadata/{i}/refresh","headers":{{"X-Plex-Token":"0123456789abcdef"}},"json":{{"title":"Item {i}","section":4,"note":"padding to a realistic size for a media server call ......"}}}}"#
    )
    .into_bytes()
}

pub(crate) fn open(dir: &Path, durability: Durability) -> Result<Store> {
    Ok(Store::open(
        dir,
        StoreOptions::default()
            .durability(durability)
            .min_free_bytes(0),
    )?)
}

pub(crate) fn rate(n: usize, started: Instant) -> f64 {
    n as f64 / started.elapsed().as_secs_f64()
}

/// The disk's own limit: append 256 bytes and fdatasync, on the same filesystem.
pub(crate) fn fsync(dir: &Path, n: usize) -> Result<f64> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("fsync-probe"))?;
    let buf = payload(0);
    let started = Instant::now();
    for _ in 0..n {
        f.write_all(&buf)?;
        f.sync_data()?;
    }
    Ok(rate(n, started))
}

/// A connection for the commit probe, with a table of its own in the run's schema.
async fn probe(
    schema: &tenax_postgres::testing::TestSchema,
) -> Result<(tokio_postgres::Client, tokio_postgres::Statement)> {
    let mut config: tokio_postgres::Config = schema.url().parse()?;
    if let Some(pw) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
        config.password(pw);
    }
    let (client, conn) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let table = format!("{}.commit_probe", schema.name());
    client
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {};
             CREATE TABLE IF NOT EXISTS {table} (id bigserial PRIMARY KEY, body bytea NOT NULL)",
            schema.name()
        ))
        .await?;
    let insert = client
        .prepare(&format!("INSERT INTO {table} (body) VALUES ($1)"))
        .await?;
    Ok((client, insert))
}

/// The server's own commit rate as one client sees it: single-row inserts of 256
/// bytes, one synchronous commit each, on one connection (what `pgbench` measures with a
/// one-statement script and one client).
pub(crate) async fn commit(schema: &tenax_postgres::testing::TestSchema, n: usize) -> Result<f64> {
    let (client, insert) = probe(schema).await?;
    let body = payload(0);
    let started = Instant::now();
    for _ in 0..n {
        client.execute(&insert, &[&body]).await?;
    }
    Ok(rate(n, started))
}

/// Durable enqueue from one producer beside the server's commit rate, measured in
/// alternating blocks of 50 so that both see the same moments of a shared machine:
/// (enqueue jobs/s, commits/s).
pub(crate) async fn enqueue_beside_commit(
    store: Arc<dyn JobStore>,
    schema: &tenax_postgres::testing::TestSchema,
    n: usize,
) -> Result<(f64, f64)> {
    const BLOCK: usize = 50;
    let (client, insert) = probe(schema).await?;
    let body = payload(0);
    let (mut enqueueing, mut committing) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    let mut done = 0;
    while done < n {
        let started = Instant::now();
        for _ in 0..BLOCK {
            client.execute(&insert, &[&body]).await?;
        }
        committing += started.elapsed();
        let producer = store.clone();
        enqueueing += tokio::task::spawn_blocking(move || -> Result<std::time::Duration> {
            let started = Instant::now();
            for i in 0..BLOCK {
                producer.enqueue_batch(vec![NewJob::new("http", payload(done + i))])?;
            }
            Ok(started.elapsed())
        })
        .await??;
        done += BLOCK;
    }
    Ok((
        done as f64 / enqueueing.as_secs_f64(),
        done as f64 / committing.as_secs_f64(),
    ))
}

/// Durable enqueue, one call per job, from one producer.
pub(crate) fn enqueue(store: &dyn JobStore, n: usize) -> Result<f64> {
    let started = Instant::now();
    for i in 0..n {
        store.enqueue_batch(vec![NewJob::new("http", payload(i))])?;
    }
    Ok(rate(n, started))
}

/// Durable enqueue from `producers` async tasks at once, as the API's request handlers
/// enqueue: the store's committer writes each group, and settling a caller queues a task
/// instead of waking a thread.
pub(crate) async fn enqueue_concurrent_tasks(
    store: Arc<dyn JobStore>,
    n: usize,
    producers: usize,
) -> Result<f64> {
    let per = (n / producers).max(1);
    let started = Instant::now();
    let tasks: Vec<tokio::task::JoinHandle<tenax_core::Result<()>>> = (0..producers)
        .map(|p| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..per {
                    store
                        .enqueue_batch_async(vec![NewJob::new("http", payload(p * per + i))])
                        .await?;
                }
                tenax_core::Result::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    let measured = rate(per * producers, started);
    tokio::task::spawn_blocking(move || store.flush()).await??;
    Ok(measured)
}

/// Durable enqueue from `producers` threads at once (group commit).
pub(crate) fn enqueue_concurrent(
    store: Arc<dyn JobStore>,
    n: usize,
    producers: usize,
) -> Result<f64> {
    let per = (n / producers).max(1);
    let started = Instant::now();
    let threads: Vec<_> = (0..producers)
        .map(|p| {
            let store = store.clone();
            std::thread::spawn(move || -> tenax_core::Result<()> {
                for i in 0..per {
                    store.enqueue_batch(vec![NewJob::new("http", payload(p * per + i))])?;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("a producer panicked"))??;
    }
    Ok(rate(per * producers, started))
}

/// Durable enqueue of `size` jobs per call.
pub(crate) fn enqueue_batch(store: &dyn JobStore, n: usize, size: usize) -> Result<f64> {
    let batches: Vec<Vec<NewJob>> = (0..(n / size).max(1))
        .map(|b| {
            (0..size)
                .map(|i| NewJob::new("http", payload(b * size + i)))
                .collect()
        })
        .collect();
    let total: usize = batches.iter().map(Vec::len).sum();
    let started = Instant::now();
    for batch in batches {
        store.enqueue_batch(batch)?;
    }
    Ok(rate(total, started))
}

/// Fills a store with `n` jobs in batches of 10,000.
pub(crate) fn fill(store: &dyn JobStore, n: usize) -> Result<()> {
    for start in (0..n).step_by(10_000) {
        let jobs = (start..(start + 10_000).min(n))
            .map(|i| NewJob::new("http", payload(i)))
            .collect();
        store.enqueue_batch(jobs)?;
    }
    Ok(())
}
