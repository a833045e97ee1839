//! Leases that expire, on paused tokio time: workers as hosts sharing one store whose
//! leases expire (`support::expiring`). A running attempt keeps its lease by renewing
//! it; a lost lease stops the attempt and drops its result; a worker cut off from the
//! store stops its attempts before another may rescue them; the jobs of a dead worker
//! are rescued by another after the lease; a graceful stop hands jobs over at once.

mod support;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tenax_core::{DEFAULT_QUEUE, JobStore, NewJob};
use tenax_worker::{Handler, Worker};

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

fn shared(dir: &std::path::Path, lease: Duration) -> Arc<ExpiringStore> {
    let inner = support::open_store(dir, &support::clock());
    ExpiringStore::new(inner, lease, true)
}

fn worker(store: &Arc<ExpiringStore>, handler: impl Handler, concurrency: usize) -> Worker {
    Worker::builder(store.clone(), support::policy("#{}"))
        .handler("t", handler)
        .concurrency(concurrency)
        .shutdown_grace(Duration::from_secs(1))
        .build()
        .expect("worker")
}

fn enqueue(store: &ExpiringStore, n: usize) -> Vec<tenax_core::JobId> {
    let jobs = (0..n).map(|i| NewJob::new("t", i.to_string())).collect();
    store
        .enqueue_batch(jobs)
        .expect("enqueue")
        .iter()
        .map(|e| e.id())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_long_attempt_keeps_its_lease_by_renewing_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = shared(dir.path(), Duration::from_secs(3));
    let spans = Spans::default();
    let handler = spans.handler("a", store.clone(), Duration::from_secs(20));
    let running = support::start(worker(&store, handler, 1));
    let id = enqueue(&store, 1)[0];
    support::until(Duration::from_secs(60), || {
        counts(store.as_ref()).completed == 1
    })
    .await;
    let report = running.stop().await?;
    // Renewed about once a second for 20 s; never rescued, never lost.
    assert!(store.renewals() >= 15, "{} renewals", store.renewals());
    assert_eq!(store.rescued(), 0);
    assert_eq!((report.completed, report.lost), (1, 0));
    let attempts = spans.of(id);
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert!(attempts[0].returned);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_attempt_whose_lease_was_taken_is_stopped_and_its_result_dropped() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = shared(dir.path(), Duration::from_secs(30));
    let spans = Spans::default();
    let handler = spans.handler("a", store.clone(), Duration::from_secs(10));
    let running = support::start(worker(&store, handler, 1));
    let id = enqueue(&store, 1)[0];
    support::until(Duration::from_secs(5), || spans.all().len() == 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Another host rescues the job (as if this one's lease had expired).
    let stolen_at = store.now();
    store.steal(id);
    support::until(Duration::from_secs(60), || {
        counts(store.as_ref()).completed == 1
    })
    .await;
    let report = running.stop().await?;
    let attempts = spans.of(id);
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    let first = &attempts[0];
    assert!(
        !first.returned,
        "the first attempt was stopped, not finished"
    );
    let stopped = first.end.expect("ended").since(stolen_at);
    assert!(
        stopped <= Duration::from_secs(1),
        "stopped {stopped:?} after the steal"
    );
    assert!(attempts[1].returned);
    assert_eq!((report.completed, report.lost), (1, 1));
    assert!(spans.overlaps().is_empty());
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_late_outcome_of_a_taken_lease_is_refused_and_counted() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = shared(dir.path(), Duration::from_secs(30));
    let spans = Spans::default();
    let handler = spans.handler("a", store.clone(), Duration::from_millis(500));
    let running = support::start(worker(&store, handler, 1));
    let id = enqueue(&store, 1)[0];
    support::until(Duration::from_secs(5), || spans.all().len() == 1).await;
    // Taken before the next renewal can notice: the completion is what finds out.
    store.steal(id);
    support::until(Duration::from_secs(60), || {
        counts(store.as_ref()).completed == 1
    })
    .await;
    let report = running.stop().await?;
    let attempts = spans.of(id);
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(attempts.iter().all(|a| a.returned));
    assert_eq!((report.completed, report.lost), (1, 1), "{report:?}");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_worker_cut_off_from_the_store_stops_its_attempt_before_another_may_take_it() -> Result<()>
{
    let dir = tempfile::tempdir()?;
    let lease = Duration::from_secs(5);
    let a_store = shared(dir.path(), lease);
    let b_store = a_store.peer();
    let spans = Spans::default();
    let a = support::start(worker(
        &a_store,
        spans.handler("a", a_store.clone(), Duration::from_secs(60)),
        1,
    ));
    let id = enqueue(&a_store, 1)[0];
    support::until(Duration::from_secs(5), || spans.all().len() == 1).await;
    let b = support::start(worker(
        &b_store,
        spans.handler("b", b_store.clone(), Duration::from_secs(1)),
        1,
    ));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cut_at = a_store.now();
    a_store.set_down(true);
    support::until(Duration::from_secs(30), || {
        counts(b_store.as_ref()).completed == 1
    })
    .await;
    let attempts = spans.of(id);
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    let (first, second) = (&attempts[0], &attempts[1]);
    assert_eq!((first.worker, second.worker), ("a", "b"));
    assert!(!first.returned, "the cut-off attempt was abandoned");
    let ended = first.end.expect("ended");
    assert!(
        ended.since(cut_at) < lease,
        "abandoned {:?} after the cut, within the lease",
        ended.since(cut_at)
    );
    assert!(second.start >= ended, "taken over only after it stopped");
    assert!(spans.overlaps().is_empty(), "{:?}", spans.overlaps());
    assert_eq!(a_store.rescued(), 1, "one rescue, counted as a crash");

    // The link comes back: the cut-off worker carries on, writing nothing for the job.
    a_store.set_down(false);
    enqueue(&a_store, 4);
    support::until(Duration::from_secs(120), || {
        counts(a_store.as_ref()).completed == 5
    })
    .await;
    let a_report = a.stop().await?;
    let b_report = b.stop().await?;
    assert_eq!(a_report.lost, 1, "{a_report:?}");
    assert_eq!(b_report.lost, 0);
    assert_eq!(a_report.completed + b_report.completed, 5);
    assert!(spans.overlaps().is_empty());
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_jobs_of_a_worker_that_died_are_rescued_by_another_after_the_lease() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let lease = Duration::from_secs(10);
    let a_store = shared(dir.path(), lease);
    let b_store = a_store.peer();
    let spans = Spans::default();
    let a = worker(
        &a_store,
        spans.handler("a", a_store.clone(), Duration::from_secs(60)),
        4,
    );
    let a_task = tokio::spawn(a.run());
    let ids = enqueue(&a_store, 3);
    support::until(Duration::from_secs(5), || spans.all().len() == 3).await;
    let b = support::start(worker(
        &b_store,
        spans.handler("b", b_store.clone(), Duration::from_secs(1)),
        4,
    ));
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The process dies: its loop and its attempts stop, nothing is written.
    let died_at = a_store.now();
    a_task.abort();
    support::until(Duration::from_secs(60), || {
        counts(b_store.as_ref()).completed == 3
    })
    .await;
    for id in ids {
        let attempts = spans.of(id);
        assert_eq!(attempts.len(), 2, "{attempts:?}");
        let taken = attempts[1].start.since(died_at);
        assert_eq!(attempts[1].worker, "b");
        assert!(
            taken <= lease + Duration::from_secs(1),
            "rescued {taken:?} after the death"
        );
    }
    assert_eq!(b_store.rescued(), 3);
    assert!(spans.overlaps().is_empty());
    let report = b.stop().await?;
    assert_eq!(report.completed, 3);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_graceful_stop_releases_its_jobs_to_the_other_workers_at_once() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let a_store = shared(dir.path(), Duration::from_secs(60));
    let b_store = a_store.peer();
    let spans = Spans::default();
    let a = support::start(worker(
        &a_store,
        spans.handler("a", a_store.clone(), Duration::from_secs(600)),
        2,
    ));
    enqueue(&a_store, 2);
    support::until(Duration::from_secs(5), || spans.all().len() == 2).await;
    let b = support::start(worker(
        &b_store,
        spans.handler("b", b_store.clone(), Duration::from_secs(1)),
        2,
    ));
    let stopped_at = a_store.now();
    let a_report = a.stop().await?;
    assert_eq!(a_report.released, 2);
    support::until(Duration::from_secs(10), || {
        counts(b_store.as_ref()).completed == 2
    })
    .await;
    let b_starts: Vec<_> = spans
        .all()
        .into_iter()
        .filter(|s| s.worker == "b")
        .map(|s| s.start.since(stopped_at))
        .collect();
    assert_eq!(b_starts.len(), 2);
    // The grace period (1 s), not the lease (60 s).
    assert!(
        b_starts.iter().all(|d| *d <= Duration::from_millis(1_100)),
        "{b_starts:?}"
    );
    assert_eq!(b_store.rescued(), 0, "released, not rescued");
    b.stop().await?;
    Ok(())
}
