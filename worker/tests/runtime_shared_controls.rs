//! Pause, resume and rate limits across workers sharing a store (`support::expiring`),
//! on paused tokio time: a pause set through one stops every one, a resume through
//! another starts them all, and a rate limit holds in total, whether or not the store
//! announces changes.

mod support;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tenax_core::{DEFAULT_QUEUE, JobStore, NewJob};
use tenax_worker::{RateLimit, RateOverride, Worker};

use support::expiring::ExpiringStore;
use support::spans::Spans;

fn counts(store: &dyn JobStore) -> tenax_core::QueueCounts {
    store
        .stats()
        .expect("stats")
        .queues
        .get(DEFAULT_QUEUE)
        .map(|q| q.counts)
        .unwrap_or_default()
}

fn worker(store: &Arc<ExpiringStore>, spans: &Spans, name: &'static str) -> Worker {
    Worker::builder(store.clone(), support::policy("#{}"))
        .handler(
            "t",
            spans.handler(name, store.clone(), Duration::from_millis(500)),
        )
        .concurrency(8)
        .build()
        .expect("worker")
}

fn pair(dir: &std::path::Path, notify: bool) -> (Arc<ExpiringStore>, Arc<ExpiringStore>) {
    let inner = support::open_store(dir, &support::clock());
    let a = ExpiringStore::new(inner, Duration::from_secs(30), notify);
    let b = a.peer();
    (a, b)
}

async fn pause_and_resume_across_workers(notify: bool) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (a_store, b_store) = pair(dir.path(), notify);
    let spans = Spans::default();
    let (a, b) = (worker(&a_store, &spans, "a"), worker(&b_store, &spans, "b"));
    let (a_control, b_control) = (a.control(), b.control());
    let (a, b) = (support::start(a), support::start(b));

    a_control.pause(Some("deploy".into()))?;
    // Within a second every worker holds the pause (read from the store).
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    b_control.refresh()?;
    assert_eq!(
        b_control.current().paused.and_then(|p| p.reason).as_deref(),
        Some("deploy"),
        "the other worker shows the pause"
    );
    a_store.enqueue_batch((0..40).map(|i| NewJob::new("t", i.to_string())).collect())?;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(
        spans.all().is_empty(),
        "a paused queue starts nothing anywhere"
    );

    let resumed_at = b_store.now();
    b_control.resume()?;
    support::until(Duration::from_secs(30), || {
        counts(a_store.as_ref()).completed == 40
    })
    .await;
    let first_on = |worker: &str| {
        spans
            .all()
            .iter()
            .filter(|s| s.worker == worker)
            .map(|s| s.start.since(resumed_at))
            .min()
            .expect("the worker ran jobs")
    };
    assert!(
        first_on("b") < Duration::from_millis(50),
        "the resuming worker at once"
    );
    let a_resumed = first_on("a");
    assert!(
        a_resumed <= Duration::from_millis(1_100),
        "the other worker within a second: {a_resumed:?}"
    );
    assert!(a_control.current().paused.is_none());
    a.stop().await?;
    b.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_pause_through_one_worker_holds_on_all_and_a_resume_through_another_starts_all()
-> Result<()> {
    pause_and_resume_across_workers(true).await
}

#[tokio::test(start_paused = true)]
async fn without_change_events_a_pause_and_a_resume_still_reach_every_worker() -> Result<()> {
    pause_and_resume_across_workers(false).await
}

#[tokio::test(start_paused = true)]
async fn a_rate_limit_holds_in_total_across_workers() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (a_store, b_store) = pair(dir.path(), false);
    let spans = Spans::default();
    let (a, b) = (worker(&a_store, &spans, "a"), worker(&b_store, &spans, "b"));
    let a_control = a.control();
    let (a, b) = (support::start(a), support::start(b));
    let limit = RateLimit {
        per_second: 5.0,
        burst: 1,
    };
    a_control.set_rate(Some(RateOverride::Limit(limit)))?;
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    a_store.enqueue_batch((0..21).map(|i| NewJob::new("t", i.to_string())).collect())?;
    support::until(Duration::from_secs(30), || {
        counts(a_store.as_ref()).completed == 21
    })
    .await;
    let mut starts: Vec<_> = spans.all().iter().map(|s| s.start).collect();
    starts.sort();
    let gaps: Vec<u64> = starts
        .windows(2)
        .map(|w| w[1].since(w[0]).as_millis() as u64)
        .collect();
    assert!(
        gaps.iter().all(|g| *g >= 199),
        "5/s with burst 1 in total, not per worker: {gaps:?}"
    );
    let took = starts[20].since(starts[0]);
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_millis(4_300),
        "{took:?}"
    );
    a.stop().await?;
    b.stop().await?;
    Ok(())
}
