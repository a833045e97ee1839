//! The steady rate limit and the pause in the worker loop, on paused tokio time: the
//! script's limit spaces starts, a run-time setting overrides it, and a paused queue
//! starts nothing until it is resumed, then everything due at once.

mod support;

use std::time::Duration;

use anyhow::Result;
use tenax_worker::{RateLimit, RateOverride, Worker};

use support::recorder::Recorder;

const LIMITED: &str = "#{ rate_limit: #{ per_second: 5.0, burst: 1 } }";

/// The times (store clock, ms) at which each call started.
fn starts(rec: &Recorder) -> Vec<u64> {
    rec.calls().iter().map(|c| c.at.as_millis()).collect()
}

#[tokio::test(start_paused = true)]
async fn the_scripts_rate_limit_spaces_starts_and_a_run_time_setting_overrides_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let rec = Recorder::new(store.clone(), |_| Ok(()));
    let worker = Worker::builder(store.clone(), support::policy(LIMITED))
        .handler("t", rec.clone())
        .concurrency(8)
        .build()?;
    let control = worker.control();
    let running = support::start(worker);

    support::enqueue(store.as_ref(), "t", 11);
    support::until(Duration::from_secs(10), || rec.count() == 11).await;
    let at = starts(&rec);
    let gaps: Vec<u64> = at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|g| *g >= 199), "5/s with burst 1: {gaps:?}");

    // A run-time `off` beats the script: the next eight start together.
    control.set_rate(Some(RateOverride::Unlimited))?;
    support::enqueue(store.as_ref(), "t", 8);
    support::until(Duration::from_secs(1), || rec.count() == 19).await;
    let at = starts(&rec);
    assert!(at[18] - at[11] < 50, "unlimited: {:?}", &at[11..]);

    // A run-time limit beats it too, and survives in the store.
    let slow = RateLimit {
        per_second: 2.0,
        burst: 1,
    };
    control.set_rate(Some(RateOverride::Limit(slow)))?;
    support::enqueue(store.as_ref(), "t", 3);
    support::until(Duration::from_secs(10), || rec.count() == 22).await;
    let at = starts(&rec);
    assert!(
        at[20] - at[19] >= 499 && at[21] - at[20] >= 499,
        "{:?}",
        &at[19..]
    );
    let stored = tenax_worker::QueueControl::read(store.as_ref(), tenax_core::DEFAULT_QUEUE)?;
    assert_eq!(stored.rate_override, Some(RateOverride::Limit(slow)));
    running.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_paused_queue_starts_nothing_and_a_resume_starts_every_due_job_at_once() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let rec = Recorder::new(store.clone(), |_| Ok(()));
    let worker = Worker::builder(store.clone(), support::policy("#{}"))
        .handler("t", rec.clone())
        .concurrency(1)
        .build()?;
    let control = worker.control();
    control.pause(Some("maintenance".into()))?;
    let running = support::start(worker);
    support::enqueue(store.as_ref(), "t", 4);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(rec.count(), 0, "a paused queue started a job");

    let resumed = store.now().as_millis();
    control.resume()?;
    support::until(Duration::from_secs(1), || rec.count() == 4).await;
    let at = starts(&rec);
    assert!(
        at.iter().all(|t| t - resumed < 100),
        "prompt after resume: {at:?}"
    );
    let payloads: Vec<String> = rec.calls().into_iter().map(|c| c.payload).collect();
    assert_eq!(payloads, ["0", "1", "2", "3"], "in due order");
    running.stop().await?;
    Ok(())
}
