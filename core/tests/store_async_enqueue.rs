//! Async enqueue: durable before its future resolves, shared syncs among concurrent
//! tasks, and no request lost when its future or the store goes away early.

use std::collections::HashSet;
use std::time::Duration;

use tenax_core::{Durability, JobId, NewJob, Store, StoreOptions};

fn open(dir: &std::path::Path) -> Store {
    let opts = StoreOptions::default().durability(Durability::Sync);
    Store::open(dir, opts).expect("open store")
}

fn job(i: usize) -> NewJob {
    NewJob::new("http", format!(r#"{{"n":{i}}}"#).into_bytes())
}

/// Every job of the store's default queue, claimed at once.
fn claim_all(store: &Store) -> HashSet<JobId> {
    let claimed = store.claim("default", 100_000).expect("claim");
    claimed.iter().map(|c| c.job.id).collect()
}

/// Waits for a future with a deadline, so that a lost wake-up fails instead of hanging.
async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("the enqueue settled")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_producer_tasks_each_get_their_jobs_stored_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    let tasks: Vec<_> = (0..32)
        .map(|p| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..50 {
                    let e = within(store.enqueue_async(job(p * 50 + i))).await;
                    ids.push(e.expect("enqueue").id());
                }
                ids
            })
        })
        .collect();
    let mut acknowledged = HashSet::new();
    for t in tasks {
        for id in t.await.expect("producer") {
            assert!(acknowledged.insert(id), "id {id} acknowledged twice");
        }
    }
    assert_eq!(acknowledged.len(), 1_600);
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        claim_all(&store),
        acknowledged,
        "all of them, after a reopen"
    );
}

#[tokio::test]
async fn requests_pending_when_the_store_is_dropped_are_still_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    let pending: Vec<_> = (0..20).map(|i| store.enqueue_async(job(i))).collect();
    // The last handle goes while the requests wait for the committer.
    tokio::task::spawn_blocking(move || drop(store))
        .await
        .expect("drop");
    let mut acknowledged = HashSet::new();
    for p in pending {
        acknowledged.insert(within(p).await.expect("written").id());
    }
    let store = open(dir.path());
    assert_eq!(claim_all(&store), acknowledged);
}

#[tokio::test]
async fn a_dropped_future_does_not_withdraw_its_enqueue() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    drop(store.enqueue_async(job(1)));
    // An enqueue after it settles after it: the first one was written too.
    let later = within(store.enqueue_async(job(2))).await.expect("enqueue");
    let stored = claim_all(&store);
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(stored.contains(&later.id()));
}

#[tokio::test]
async fn a_rejected_job_fails_its_future_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        Store::open(dir.path(), StoreOptions::default().max_payload_bytes(64)).expect("open store");
    let too_big = NewJob::new("http", vec![b'x'; 65]);
    let r = within(store.enqueue_batch_async(vec![job(1), too_big])).await;
    let e = r.expect_err("a payload over the limit is refused");
    assert!(
        e.to_string().contains("64"),
        "the error names the limit: {e}"
    );
    assert!(claim_all(&store).is_empty());
    assert_eq!(store.stats().expect("stats").total.enqueued, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_producer_tasks_share_syncs() {
    const TASKS: usize = 32;
    const EACH: usize = 10;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(TASKS));
    let before = store.sync_count();
    let tasks: Vec<_> = (0..TASKS)
        .map(|p| {
            let (store, start) = (store.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                for i in 0..EACH {
                    within(store.enqueue_async(job(p * EACH + i)))
                        .await
                        .expect("enqueue");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("producer");
    }
    let syncs = store.sync_count() - before;
    let enqueues = (TASKS * EACH) as u64;
    // The background flush may add a sync now and then; sharing makes it a fraction.
    assert!(
        syncs * 4 <= enqueues,
        "{enqueues} acknowledged enqueues took {syncs} syncs"
    );
    assert_eq!(claim_all(&store).len(), TASKS * EACH);
}
