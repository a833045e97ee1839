//! Outcomes through the live policy: complete, retry with growing gaps, bury.

mod support;

use std::time::Duration;

use anyhow::Result;
use tenax_core::{DEFAULT_QUEUE, JobState, JobStore};
use tenax_worker::{BreakerState, HandlerError, Worker};

use support::recorder::Recorder;

const POLICY: &str = r#"#{
    classes: #{
        transient: #{ base: "1s", cap: "1m", max_retries: 6, jitter: 0.0 },
        not_found: #{ base: "30s", cap: "2m", max_retries: 20, jitter: 0.0 },
    },
}"#;

fn counts(store: &dyn JobStore) -> tenax_core::QueueCounts {
    store.stats().expect("stats").queues[DEFAULT_QUEUE].counts
}

#[tokio::test(start_paused = true)]
async fn a_success_completes_once() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let rec = Recorder::new(store.clone(), |_| Ok(()));
    let worker = Worker::builder(store.clone(), support::policy(POLICY))
        .handler("t", rec.clone())
        .build()?;
    let running = support::start(worker);
    support::enqueue(store.as_ref(), "t", 1);
    support::until(Duration::from_secs(5), || {
        counts(store.as_ref()).completed == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(rec.count(), 1, "delivered exactly once");
    let report = running.stop().await?;
    assert_eq!((report.started, report.completed), (1, 1));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_permanent_failure_goes_to_the_dead_letters_at_once_and_spares_the_breaker() -> Result<()>
{
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let rec = Recorder::new(store.clone(), |_| {
        Err(HandlerError::permanent("HTTP 400 Bad Request").with_status(400))
    });
    let worker = Worker::builder(store.clone(), support::policy(POLICY))
        .handler("t", rec.clone())
        .build()?;
    let breaker = worker.breaker();
    let running = support::start(worker);
    support::enqueue(store.as_ref(), "t", 10);
    support::until(Duration::from_secs(5), || counts(store.as_ref()).dead == 10).await;
    assert_eq!(rec.count(), 10, "one attempt each");
    let view = breaker.borrow().clone();
    assert_eq!(
        (view.state, view.consecutive_failures),
        (BreakerState::Closed, 0)
    );
    let (job, state) = store.job(rec.calls()[0].id)?.expect("kept in the DLQ");
    assert_eq!(state, JobState::Dead);
    let error = job.last_error.expect("error recorded");
    assert_eq!(error.class, "permanent");
    assert!(
        error.message.starts_with("HTTP 400 Bad Request [buried:"),
        "{}",
        error.message
    );
    running.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn transient_failures_retry_with_growing_gaps_then_complete() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let rec = Recorder::new(store.clone(), |job| {
        if job.attempt < 5 {
            Err(HandlerError::transient("HTTP 503").with_status(503))
        } else {
            Ok(())
        }
    });
    let worker = Worker::builder(store.clone(), support::policy(POLICY))
        .handler("t", rec.clone())
        .build()?;
    let running = support::start(worker);
    support::enqueue(store.as_ref(), "t", 1);
    support::until(Duration::from_secs(120), || {
        counts(store.as_ref()).completed == 1
    })
    .await;

    let times: Vec<_> = rec.calls().iter().map(|c| c.at).collect();
    assert_eq!(times.len(), 6, "five failures and the success");
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1].since(w[0])).collect();
    for (n, gap) in gaps.iter().enumerate() {
        let minimum = Duration::from_secs(1 << n); // 1, 2, 4, 8, 16 s
        assert!(
            *gap >= minimum,
            "gap {n} was {gap:?}, below the policy's {minimum:?}"
        );
        // The fifth counted failure opens the breaker (threshold 5), so the last wait is
        // the 60 s recovery timeout: the probe is the job's own retry.
        let longest = minimum.max(if n == 4 {
            Duration::from_secs(60)
        } else {
            minimum
        });
        assert!(
            *gap < longest + Duration::from_millis(100),
            "gap {n} was {gap:?}"
        );
    }
    assert!(gaps.windows(2).all(|w| w[1] > w[0]), "gaps grow: {gaps:?}");
    running.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn endless_transient_failures_end_in_the_dlq_after_exactly_max_retries() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let rec = Recorder::new(store.clone(), |_| Err(HandlerError::transient("HTTP 503")));
    let worker = Worker::builder(store.clone(), support::policy(POLICY))
        .handler("t", rec.clone())
        .build()?;
    let running = support::start(worker);
    support::enqueue(store.as_ref(), "t", 1);
    support::until(Duration::from_secs(600), || {
        counts(store.as_ref()).dead == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        rec.count(),
        7,
        "the first attempt and max_retries = 6 retries"
    );
    let job = store.dead_job(rec.calls()[0].id)?.expect("dead");
    assert_eq!(job.attempt, 7);
    assert!(
        job.last_error
            .expect("error")
            .message
            .contains("all 6 retries are used up"),
        "the DLQ says why"
    );
    running.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn not_found_retries_slowly_and_never_moves_the_breaker() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clock = support::clock();
    let store = support::open_store(dir.path(), &clock);
    // The item is "scanned" ten minutes after the start; 404 until then.
    let scanned = support::START.saturating_add(Duration::from_secs(600));
    let store_for_handler = store.clone();
    let rec = Recorder::new(store.clone(), move |_| {
        if store_for_handler.now() < scanned {
            Err(HandlerError::not_found("HTTP 404").with_status(404))
        } else {
            Ok(())
        }
    });
    let worker = Worker::builder(store.clone(), support::policy(POLICY))
        .handler("t", rec.clone())
        .build()?;
    let breaker = worker.breaker();
    let running = support::start(worker);
    support::enqueue(store.as_ref(), "t", 20);
    support::until(Duration::from_secs(3600), || {
        counts(store.as_ref()).completed == 20
    })
    .await;
    let view = breaker.borrow().clone();
    assert_eq!(
        (view.state, view.openings, view.consecutive_failures),
        (BreakerState::Closed, 0, 0)
    );
    assert_eq!(
        store.state("breaker/default")?,
        None,
        "no breaker state was ever written"
    );
    let first = &rec.calls_for("0");
    assert!(first.len() >= 4, "retried while not found: {}", first.len());
    assert!(first[1].at.since(first[0].at) >= Duration::from_secs(30));
    running.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_job_waiting_for_its_retry_does_not_delay_due_jobs() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let rec = Recorder::new(store.clone(), |job| {
        if job.payload == b"slow" {
            Err(HandlerError::not_found("HTTP 404"))
        } else {
            Ok(())
        }
    });
    let worker = Worker::builder(store.clone(), support::policy(POLICY))
        .handler("t", rec.clone())
        .build()?;
    let running = support::start(worker);
    store.enqueue(tenax_core::NewJob::new("t", b"slow".to_vec()))?;
    support::until(Duration::from_secs(5), || {
        counts(store.as_ref()).retrying == 1
    })
    .await;
    let enqueued_at = store.now();
    support::enqueue(store.as_ref(), "t", 50);
    support::until(Duration::from_secs(5), || {
        counts(store.as_ref()).completed == 50
    })
    .await;
    let latest = rec.calls().iter().map(|c| c.at).max().expect("calls");
    assert!(
        latest.since(enqueued_at) < Duration::from_secs(1),
        "due jobs ran at once, not after the 30 s retry ({:?})",
        latest.since(enqueued_at)
    );
    assert_eq!(
        rec.calls_for("slow").len(),
        1,
        "the waiting job was not re-run early"
    );
    running.stop().await?;
    Ok(())
}
