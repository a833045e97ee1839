//! The circuit breaker end to end: an outage pauses the queue instead of burning retries.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;
use tenax_core::{DEFAULT_QUEUE, JobStore};
use tenax_worker::{BreakerState, HandlerError, Worker};

use support::recorder::Recorder;

const POLICY: &str = r#"#{
    classes: #{ unavailable: #{ base: "10s", cap: "1m", max_retries: 999, jitter: 0.0 } },
    breaker: #{ failure_threshold: 5, recovery_timeout: "60s" },
}"#;

fn counts(store: &dyn JobStore) -> tenax_core::QueueCounts {
    store.stats().expect("stats").queues[DEFAULT_QUEUE].counts
}

/// A downstream that refuses connections while `down` is set.
fn downstream(store: Arc<dyn JobStore>, down: &Arc<AtomicBool>) -> Recorder {
    let down = down.clone();
    Recorder::new(store, move |_| {
        if down.load(Ordering::SeqCst) {
            Err(HandlerError::unavailable("connection refused"))
        } else {
            Ok(())
        }
    })
}

#[tokio::test(start_paused = true)]
async fn an_outage_opens_the_breaker_then_one_probe_closes_it_and_the_queue_drains() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let down = Arc::new(AtomicBool::new(true));
    // Each request takes 1 s, so a probe in flight is visible as a window of time.
    let rec = downstream(store.clone(), &down).holding(Duration::from_secs(1));
    let worker = Worker::builder(store.clone(), support::policy(POLICY))
        .handler("t", rec.clone())
        .concurrency(4)
        .build()?;
    let mut breaker = worker.breaker();
    let running = support::start(worker);
    support::enqueue(store.as_ref(), "t", 30);

    breaker.wait_for(|v| v.state == BreakerState::Open).await?;
    let opened_at = store.now();
    // Two rounds of four: the fifth counted failure opened it; the three others of that
    // round were already running and count for nothing more.
    assert_eq!(rec.count(), 8);
    assert_eq!(breaker.borrow().openings, 1);

    tokio::time::sleep(Duration::from_secs(59)).await;
    assert_eq!(rec.count(), 8, "nothing reaches the downstream while open");

    down.store(false, Ordering::SeqCst);
    breaker
        .wait_for(|v| v.state == BreakerState::Closed)
        .await?;
    let calls = rec.calls();
    let probe = &calls[8];
    assert!(
        probe.at.since(opened_at) >= Duration::from_secs(60),
        "probe after the timeout"
    );
    let during_probe = calls
        .iter()
        .filter(|c| c.at >= probe.at && c.at.since(probe.at) < Duration::from_secs(1))
        .count();
    assert_eq!(during_probe, 1, "exactly one probe while half-open");

    support::until(Duration::from_secs(120), || {
        counts(store.as_ref()).completed == 30
    })
    .await;
    assert_eq!(
        rec.count(),
        38,
        "30 deliveries plus the 8 failures before the breaker opened"
    );
    for call in rec.calls().iter().skip(8) {
        let failed_before = u32::from(rec.calls_for(&call.payload).len() > 1);
        assert_eq!(call.attempt, failed_before, "no attempt burned while open");
    }
    running.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_restart_during_an_outage_stays_open_with_the_remaining_timeout() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clock = support::clock();
    let down = Arc::new(AtomicBool::new(true));
    let failed = {
        let store = support::open_store(dir.path(), &clock);
        let rec = downstream(store.clone(), &down);
        let worker = Worker::builder(store.clone(), support::policy(POLICY))
            .handler("t", rec.clone())
            .concurrency(1)
            .build()?;
        let mut breaker = worker.breaker();
        let stop = worker.shutdown_handle();
        let running = tokio::spawn(worker.run());
        support::enqueue(store.as_ref(), "t", 10);
        breaker.wait_for(|v| v.state == BreakerState::Open).await?;
        tokio::time::sleep(Duration::from_secs(20)).await;
        stop.shutdown();
        running.await??;
        rec.calls()
    };
    assert_eq!(failed.len(), 5);

    // A new process: same directory, 20 s into the 60 s recovery timeout.
    let store = support::open_store(dir.path(), &clock);
    for call in &failed {
        let (job, _) = store.job(call.id)?.expect("still queued");
        assert_eq!(job.attempt, 1, "retry metadata intact");
        assert_eq!(job.last_error.expect("error").class, "unavailable");
    }
    down.store(false, Ordering::SeqCst);
    let rec = downstream(store.clone(), &down);
    let worker = Worker::builder(store.clone(), support::policy(POLICY))
        .handler("t", rec.clone())
        .build()?;
    let mut breaker = worker.breaker();
    let running = support::start(worker);
    let view = breaker.wait_for(|v| v.openings == 1).await?.clone();
    assert_eq!(
        view.state,
        BreakerState::Open,
        "still open after the restart"
    );
    tokio::time::sleep(Duration::from_secs(39)).await;
    assert_eq!(rec.count(), 0, "waits out the remaining 40 s");
    support::until(Duration::from_secs(60), || {
        counts(store.as_ref()).completed == 10
    })
    .await;
    assert!(rec.calls()[0].at.since(support::START) >= Duration::from_secs(60));
    running.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn after_recovery_the_ramp_limits_the_drain_rate() -> Result<()> {
    let ramped = r#"#{
        classes: #{ unavailable: #{ base: "10s", cap: "1m", max_retries: 999, jitter: 0.0 } },
        breaker: #{
            failure_threshold: 5,
            recovery_timeout: "60s",
            ramp: #{ start_rate_per_sec: 2.0, end_rate_per_sec: 4.0, duration: "60s" },
        },
    }"#;
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let down = Arc::new(AtomicBool::new(true));
    let rec = downstream(store.clone(), &down);
    let worker = Worker::builder(store.clone(), support::policy(ramped))
        .handler("t", rec.clone())
        .concurrency(32)
        .build()?;
    let mut breaker = worker.breaker();
    let running = support::start(worker);
    support::enqueue(store.as_ref(), "t", 5);
    breaker.wait_for(|v| v.state == BreakerState::Open).await?;
    support::enqueue(store.as_ref(), "t", 500);
    down.store(false, Ordering::SeqCst);
    breaker
        .wait_for(|v| v.state == BreakerState::Closed)
        .await?;
    let closed_at = store.now();

    tokio::time::sleep(Duration::from_secs(10)).await;
    let in_ten = rec
        .calls()
        .iter()
        .filter(|c| c.at > closed_at && c.at.since(closed_at) <= Duration::from_secs(10))
        .count();
    // About 2 jobs/s rising to 2.33 jobs/s over the first 10 s: ~22, never a flood.
    assert!(
        (18..=26).contains(&in_ten),
        "{in_ten} jobs in the first 10 s of the ramp"
    );

    // A restart inside the ramp's window keeps ramping (the close time is stored).
    running.stop().await?;
    let worker = Worker::builder(store.clone(), support::policy(ramped))
        .handler("t", rec.clone())
        .concurrency(32)
        .build()?;
    let restarted_at = store.now();
    let running = support::start(worker);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after_restart = rec.calls().iter().filter(|c| c.at >= restarted_at).count();
    assert!(
        (20..=30).contains(&after_restart),
        "{after_restart} jobs in 10 s after a restart"
    );

    // After the ramp, full speed.
    support::until(Duration::from_secs(300), || {
        counts(store.as_ref()).completed == 505
    })
    .await;
    running.stop().await?;
    Ok(())
}
