//! One circuit breaker per queue across workers sharing a store (`support::expiring`),
//! on paused tokio time: an outage seen by one opens it for all, the half-open probe is
//! one in total, and a worker that is not told of a change still sees it within a
//! second.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use tenax_core::{DEFAULT_QUEUE, JobStore, NewJob, Timestamp};
use tenax_worker::breaker::Snapshot;
use tenax_worker::{BreakerState, HandlerError, Worker, handler_fn};

use support::expiring::ExpiringStore;

const POLICY: &str = r#"#{
    classes: #{ unavailable: #{ base: "10s", cap: "1m", max_retries: 999, jitter: 0.0 } },
    breaker: #{ failure_threshold: 5, recovery_timeout: "60s" },
}"#;

/// Calls that reached the downstream: which worker, when.
type Calls = Arc<Mutex<Vec<(&'static str, Timestamp)>>>;

fn counts(store: &dyn JobStore) -> tenax_core::QueueCounts {
    store.stats().expect("stats").queues[DEFAULT_QUEUE].counts
}

/// A worker whose handler calls a downstream that refuses while `down` is set; each
/// call takes a second (a job with payload `block`: an hour, then it succeeds).
fn worker(
    name: &'static str,
    store: &Arc<ExpiringStore>,
    down: &Arc<AtomicBool>,
    calls: &Calls,
    concurrency: usize,
) -> Worker {
    Worker::builder(store.clone(), support::policy(POLICY))
        .handler("t", handler(name, store, down, calls))
        .concurrency(concurrency)
        .build()
        .expect("worker")
}

/// The handler of [`worker`].
fn handler(
    name: &'static str,
    store: &Arc<ExpiringStore>,
    down: &Arc<AtomicBool>,
    calls: &Calls,
) -> impl tenax_worker::Handler {
    let (down, calls, clock) = (down.clone(), calls.clone(), store.clone());
    handler_fn(move |job| {
        let down = down.load(Ordering::SeqCst);
        calls.lock().expect("calls").push((name, clock.now()));
        let block = job.payload == b"block";
        async move {
            if block {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            if down {
                Err(HandlerError::unavailable("connection refused"))
            } else {
                Ok(())
            }
        }
    })
}

fn stored_breaker(store: &dyn JobStore) -> Snapshot {
    let bytes = store
        .state(&Snapshot::key(DEFAULT_QUEUE))
        .expect("read")
        .expect("a stored breaker");
    Snapshot::decode(&bytes).expect("decodes")
}

#[tokio::test(start_paused = true)]
async fn an_outage_opens_the_breaker_once_for_every_worker_and_one_probe_in_total_closes_it()
-> Result<()> {
    let dir = tempfile::tempdir()?;
    let inner = support::open_store(dir.path(), &support::clock());
    let a_store = ExpiringStore::new(inner, Duration::from_secs(30), true);
    let b_store = a_store.peer();
    let down = Arc::new(AtomicBool::new(true));
    let calls: Calls = Arc::default();
    let a = worker("a", &a_store, &down, &calls, 4);
    let b = worker("b", &b_store, &down, &calls, 4);
    let (mut a_view, mut b_view) = (a.breaker(), b.breaker());
    let (a, b) = (support::start(a), support::start(b));
    a_store.enqueue_batch((0..30).map(|i| NewJob::new("t", i.to_string())).collect())?;

    a_view.wait_for(|v| v.state == BreakerState::Open).await?;
    b_view.wait_for(|v| v.state == BreakerState::Open).await?;
    let opened_at = stored_breaker(a_store.as_ref()).opened_at;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before_open = calls.lock().expect("calls").len();
    assert!(
        (5..=12).contains(&before_open),
        "{before_open} calls before the breaker opened"
    );
    tokio::time::sleep(Duration::from_secs(55)).await;
    assert_eq!(
        calls.lock().expect("calls").len(),
        before_open,
        "no worker calls the downstream while the breaker is open"
    );

    down.store(false, Ordering::SeqCst);
    let closed = |v: &tenax_worker::BreakerView| v.state == BreakerState::Closed && v.openings == 1;
    a_view.wait_for(closed).await?;
    b_view.wait_for(closed).await?;
    let all = calls.lock().expect("calls").clone();
    let probe = all[before_open];
    assert!(probe.1.since(opened_at) >= Duration::from_secs(60));
    let during_probe = all
        .iter()
        .filter(|c| c.1 >= probe.1 && c.1.since(probe.1) < Duration::from_secs(1))
        .count();
    assert_eq!(during_probe, 1, "one probe in total, not one per worker");
    let snap = stored_breaker(a_store.as_ref());
    assert_eq!((snap.openings, snap.state), (1, BreakerState::Closed));
    assert!(snap.permits.is_empty());

    support::until(Duration::from_secs(120), || {
        counts(a_store.as_ref()).completed == 30
    })
    .await;
    let workers: std::collections::HashSet<_> = calls
        .lock()
        .expect("calls")
        .iter()
        .skip(before_open + 1)
        .map(|c| c.0)
        .collect();
    assert_eq!(workers.len(), 2, "both workers drain after the recovery");
    a.stop().await?;
    b.stop().await?;
    Ok(())
}

/// Without a change event, a worker re-reads the breaker within a second; with one, at
/// once.
async fn another_worker_sees_the_open_breaker(notify: bool) -> Result<Duration> {
    let dir = tempfile::tempdir()?;
    let inner = support::open_store(dir.path(), &support::clock());
    let a_store = ExpiringStore::new(inner, Duration::from_secs(30), notify);
    let b_store = a_store.peer();
    let down = Arc::new(AtomicBool::new(true));
    let calls: Calls = Arc::default();
    // B's one slot is busy with a long job when A meets the outage.
    let b = worker("b", &b_store, &down, &calls, 1);
    let mut b_view = b.breaker();
    let b = support::start(b);
    b_store.enqueue_batch(vec![NewJob::new("t", "block")])?;
    support::until(Duration::from_secs(5), || {
        calls.lock().expect("calls").len() == 1
    })
    .await;
    let a = worker("a", &a_store, &down, &calls, 5);
    let mut a_view = a.breaker();
    a_store.enqueue_batch((0..5).map(|i| NewJob::new("t", i.to_string())).collect())?;
    let a = support::start(a);
    a_view.wait_for(|v| v.state == BreakerState::Open).await?;
    let opened = a_store.now();
    b_view.wait_for(|v| v.state == BreakerState::Open).await?;
    let seen = b_store.now().since(opened);
    let by_b = calls
        .lock()
        .expect("calls")
        .iter()
        .filter(|c| c.0 == "b")
        .count();
    assert_eq!(by_b, 1, "only its long job ran on b");
    a.stop().await?;
    b.stop().await?;
    Ok(seen)
}

#[tokio::test(start_paused = true)]
async fn a_worker_told_of_the_change_sees_the_open_breaker_at_once() -> Result<()> {
    let seen = another_worker_sees_the_open_breaker(true).await?;
    assert!(seen < Duration::from_millis(50), "seen after {seen:?}");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_worker_not_told_of_the_change_sees_the_open_breaker_within_a_second() -> Result<()> {
    let seen = another_worker_sees_the_open_breaker(false).await?;
    assert!(seen <= Duration::from_secs(1), "seen after {seen:?}");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_probe_permit_of_a_worker_that_died_lapses_and_another_probes() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let lease = Duration::from_secs(10);
    let inner = support::open_store(dir.path(), &support::clock());
    let a_store = ExpiringStore::new(inner, lease, true);
    let b_store = a_store.peer();
    let down = Arc::new(AtomicBool::new(true));
    let calls: Calls = Arc::default();
    let a = worker("a", &a_store, &down, &calls, 5);
    let mut a_view = a.breaker();
    let a_task = tokio::spawn(a.run());
    a_store.enqueue_batch((0..5).map(|i| NewJob::new("t", i.to_string())).collect())?;
    a_view.wait_for(|v| v.state == BreakerState::Open).await?;
    // A sends the probe at the end of the timeout and dies while it runs.
    a_view
        .wait_for(|v| v.state == BreakerState::HalfOpen)
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let died_at = a_store.now();
    a_task.abort();
    assert_eq!(stored_breaker(a_store.as_ref()).permits.len(), 1);

    down.store(false, Ordering::SeqCst);
    let b = worker("b", &b_store, &down, &calls, 5);
    let mut b_view = b.breaker();
    let b = support::start(b);
    b_view
        .wait_for(|v| v.state == BreakerState::Closed && v.openings == 1)
        .await?;
    let probe = *calls
        .lock()
        .expect("calls")
        .iter()
        .find(|c| c.0 == "b")
        .expect("b probed");
    let waited = probe.1.since(died_at);
    assert!(
        waited >= lease - Duration::from_secs(1) && waited <= lease + Duration::from_secs(2),
        "b probed {waited:?} after a died"
    );
    support::until(Duration::from_secs(120), || {
        counts(b_store.as_ref()).completed == 5
    })
    .await;
    b.stop().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_health_probe_is_asked_once_per_round_in_total_and_a_pass_lets_one_probe_job_through()
-> Result<()> {
    let dir = tempfile::tempdir()?;
    let inner = support::open_store(dir.path(), &support::clock());
    let a_store = ExpiringStore::new(inner, Duration::from_secs(30), true);
    let b_store = a_store.peer();
    let down = Arc::new(AtomicBool::new(true));
    let calls: Calls = Arc::default();
    let asked: Calls = Arc::default();
    let with_probe = |name: &'static str, store: &Arc<ExpiringStore>| {
        let (flag, asked, clock) = (down.clone(), asked.clone(), store.clone());
        let probe = tenax_worker::probe_fn(move || {
            asked.lock().expect("asked").push((name, clock.now()));
            let down = flag.load(Ordering::SeqCst);
            async move {
                if down {
                    Err(HandlerError::unavailable("still starting"))
                } else {
                    Ok(())
                }
            }
        });
        Worker::builder(store.clone(), support::policy(POLICY))
            .handler("t", handler(name, store, &down, &calls))
            .health_probe(probe)
            .concurrency(4)
            .build()
            .expect("worker")
    };
    let (a, b) = (with_probe("a", &a_store), with_probe("b", &b_store));
    let mut view = a.breaker();
    let (a, b) = (support::start(a), support::start(b));
    a_store.enqueue_batch((0..20).map(|i| NewJob::new("t", i.to_string())).collect())?;
    view.wait_for(|v| v.state == BreakerState::Open).await?;
    let opened = a_store.now();
    let before = calls.lock().expect("calls").len();

    // Three recovery timeouts: three questions in total, never a job.
    tokio::time::sleep(Duration::from_secs(3 * 60 + 30)).await;
    let questions: Vec<_> = asked.lock().expect("asked").clone();
    assert_eq!(questions.len(), 3, "one question per round: {questions:?}");
    for (i, q) in questions.iter().enumerate() {
        let round = q.1.since(opened).as_secs();
        assert!(
            (60 * (i as u64 + 1)..60 * (i as u64 + 1) + 2).contains(&round),
            "question {i} at {round} s"
        );
    }
    assert_eq!(
        calls.lock().expect("calls").len(),
        before,
        "no job while it fails"
    );

    // Back: the next question passes, one probe job goes, then the queue drains.
    down.store(false, Ordering::SeqCst);
    let closed = view.wait_for(|v| v.state == BreakerState::Closed && v.openings > 0);
    tokio::time::timeout(Duration::from_secs(120), closed)
        .await
        .expect("closed after the outage")?;
    let all = calls.lock().expect("calls").clone();
    let probe = all[before];
    let during = all
        .iter()
        .filter(|c| c.1 >= probe.1 && c.1.since(probe.1) < Duration::from_secs(1))
        .count();
    assert_eq!(during, 1, "one probe job after the passed question");
    support::until(Duration::from_secs(120), || {
        counts(a_store.as_ref()).completed == 20
    })
    .await;
    a.stop().await?;
    b.stop().await?;
    Ok(())
}
