//! The health probe: a half-open breaker asks it before a probe job, so a downstream
//! that is still down costs no job an attempt.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Result;
use tenax_core::DEFAULT_QUEUE;
use tenax_worker::{BreakerState, HandlerError, Worker, probe_fn};

use support::recorder::Recorder;

const POLICY: &str = r#"#{
    classes: #{ unavailable: #{ base: "1s", cap: "1s", max_retries: 999, jitter: 0.0 } },
    breaker: #{ failure_threshold: 1, recovery_timeout: "60s" },
}"#;

/// A probe answering from `healthy`, counting its calls.
fn probe(
    healthy: &Arc<AtomicBool>,
    asked: &Arc<AtomicUsize>,
) -> impl tenax_worker::HealthProbe + use<> {
    let (healthy, asked) = (healthy.clone(), asked.clone());
    probe_fn(move || {
        let (healthy, asked) = (healthy.clone(), asked.clone());
        async move {
            asked.fetch_add(1, Ordering::SeqCst);
            if healthy.load(Ordering::SeqCst) {
                Ok(())
            } else {
                Err(HandlerError::unavailable("503 while starting"))
            }
        }
    })
}

#[tokio::test(start_paused = true)]
async fn a_failing_probe_keeps_the_breaker_open_without_touching_a_job() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let healthy = Arc::new(AtomicBool::new(false));
    let asked = Arc::new(AtomicUsize::new(0));
    let up = healthy.clone();
    let rec = Recorder::new(store.clone(), move |_| {
        if up.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(HandlerError::unavailable("connection refused"))
        }
    });
    let worker = Worker::builder(store.clone(), support::policy(POLICY))
        .handler("t", rec.clone())
        .health_probe(probe(&healthy, &asked))
        .concurrency(1)
        .build()?;
    let mut breaker = worker.breaker();
    let running = support::start(worker);
    support::enqueue(store.as_ref(), "t", 3);

    breaker.wait_for(|v| v.state == BreakerState::Open).await?;
    assert_eq!(rec.count(), 1, "the first failure opened it");
    assert_eq!(
        asked.load(Ordering::SeqCst),
        0,
        "only a half-open breaker asks"
    );

    // Three recovery timeouts: each one asks the probe once, which fails, and the
    // breaker reopens with a fresh timeout. No job runs.
    for round in 1..=3 {
        tokio::time::sleep(Duration::from_secs(60)).await;
        support::until(Duration::from_secs(5), || {
            asked.load(Ordering::SeqCst) == round
        })
        .await;
        breaker.wait_for(|v| v.state == BreakerState::Open).await?;
    }
    assert_eq!(rec.count(), 1, "no job was sent while the probe failed");
    assert_eq!(breaker.borrow().openings, 4);
    let snapshot = store
        .state(&tenax_worker::breaker::Snapshot::key(DEFAULT_QUEUE))?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    assert!(snapshot.contains("\"openings\":4"), "persisted: {snapshot}");

    healthy.store(true, Ordering::SeqCst);
    breaker
        .wait_for(|v| v.state == BreakerState::Closed)
        .await?;
    assert_eq!(asked.load(Ordering::SeqCst), 4);
    support::until(Duration::from_secs(30), || {
        store
            .stats()
            .map(|s| s.queues[DEFAULT_QUEUE].counts.completed)
            .unwrap_or(0)
            == 3
    })
    .await;
    // One failed attempt before the outage was known, then one each: nothing burned.
    assert_eq!(rec.count(), 4);
    assert_eq!(rec.calls().iter().filter(|c| c.attempt > 0).count(), 1);
    running.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_idle_half_open_queue_asks_nothing_until_a_job_is_due() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let healthy = Arc::new(AtomicBool::new(true));
    let asked = Arc::new(AtomicUsize::new(0));
    let fail_once = Arc::new(AtomicBool::new(true));
    let rec = Recorder::new(store.clone(), move |_| {
        if fail_once.swap(false, Ordering::SeqCst) {
            Err(HandlerError::unavailable("down"))
        } else {
            Ok(())
        }
    });
    let policy = r#"#{
        classes: #{ unavailable: #{ max_retries: 0 } },
        breaker: #{ failure_threshold: 1, recovery_timeout: "60s" },
    }"#;
    let worker = Worker::builder(store.clone(), support::policy(policy))
        .handler("t", rec.clone())
        .health_probe(probe(&healthy, &asked))
        .build()?;
    let mut breaker = worker.breaker();
    let running = support::start(worker);
    support::enqueue(store.as_ref(), "t", 1);
    breaker.wait_for(|v| v.state == BreakerState::Open).await?;

    // The only job is dead (no retries): nothing is due, so nothing is asked.
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(asked.load(Ordering::SeqCst), 0);

    support::enqueue(store.as_ref(), "t", 1);
    breaker
        .wait_for(|v| v.state == BreakerState::Closed)
        .await?;
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert_eq!(rec.count(), 2);
    running.stop().await?;
    Ok(())
}
