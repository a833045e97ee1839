//! Graceful shutdown: running jobs finish within the grace period or go back to the
//! queue without an attempt counted; a restart delivers every job.

mod support;

use std::time::Duration;

use anyhow::Result;
use tenax_core::{DEFAULT_QUEUE, JobStore};
use tenax_worker::Worker;

use support::recorder::Recorder;

fn counts(store: &dyn JobStore) -> tenax_core::QueueCounts {
    store.stats().expect("stats").queues[DEFAULT_QUEUE].counts
}

/// Runs a worker whose handler takes `hold`, enqueues 8 jobs, asks for a shutdown once
/// 4 are running, and returns the report.
async fn stop_mid_flight(
    store: std::sync::Arc<tenax_core::Store>,
    hold: Duration,
    grace: Duration,
    now: bool,
) -> Result<(tenax_worker::RunReport, Recorder)> {
    let rec = Recorder::new(store.clone(), |_| Ok(())).holding(hold);
    let worker = Worker::builder(
        store.clone(),
        tenax_policies::LivePolicy::new(Default::default()),
    )
    .handler("t", rec.clone())
    .concurrency(4)
    .shutdown_grace(grace)
    .build()?;
    let running = support::start(worker);
    support::enqueue(store.as_ref(), "t", 8);
    support::until(Duration::from_secs(1), || rec.count() == 4).await;
    if now {
        running.stop.shutdown_now();
    }
    Ok((running.stop().await?, rec))
}

#[tokio::test(start_paused = true)]
async fn slow_jobs_past_the_grace_period_are_released_without_an_attempt() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clock = support::clock();
    {
        let store = support::open_store(dir.path(), &clock);
        let started = tokio::time::Instant::now();
        let (report, _) = stop_mid_flight(
            store.clone(),
            Duration::from_secs(600),
            Duration::from_secs(5),
            false,
        )
        .await?;
        assert_eq!((report.completed, report.released), (0, 4));
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(5) && waited < Duration::from_secs(6),
            "{waited:?}"
        );
        let c = counts(store.as_ref());
        assert_eq!(
            (c.waiting, c.running, c.retrying),
            (8, 0, 0),
            "no attempt counted"
        );
    }
    // The next process delivers every job, each on its first counted attempt.
    let store = support::open_store(dir.path(), &clock);
    let rec = Recorder::new(store.clone(), |_| Ok(()));
    let worker = Worker::builder(
        store.clone(),
        tenax_policies::LivePolicy::new(Default::default()),
    )
    .handler("t", rec.clone())
    .build()?;
    let running = support::start(worker);
    support::until(Duration::from_secs(5), || {
        counts(store.as_ref()).completed == 8
    })
    .await;
    assert!(rec.calls().iter().all(|c| c.attempt == 0));
    running.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn jobs_that_finish_within_the_grace_period_complete() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let (report, rec) = stop_mid_flight(
        store.clone(),
        Duration::from_secs(2),
        Duration::from_secs(30),
        false,
    )
    .await?;
    assert_eq!((report.completed, report.released), (4, 0));
    assert_eq!(
        rec.count(),
        4,
        "nothing new was claimed after the shutdown request"
    );
    let c = counts(store.as_ref());
    assert_eq!((c.completed, c.waiting), (4, 4));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_immediate_shutdown_releases_at_once() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let started = tokio::time::Instant::now();
    let (report, _) = stop_mid_flight(
        store.clone(),
        Duration::from_secs(600),
        Duration::from_secs(30),
        true,
    )
    .await?;
    assert_eq!(report.released, 4);
    assert!(started.elapsed() < Duration::from_secs(1));
    Ok(())
}
