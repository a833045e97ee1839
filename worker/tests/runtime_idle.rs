//! An idle worker sleeps: no store calls while nothing is due, and it wakes on time.

mod support;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tenax_core::{JobStore, NewJob};
use tenax_worker::Worker;

use support::counting::CountingStore;
use support::recorder::Recorder;

#[tokio::test(start_paused = true)]
async fn an_idle_worker_makes_no_store_calls_and_wakes_for_due_and_new_jobs() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let inner = support::open_store(dir.path(), &support::clock());
    let store = Arc::new(CountingStore::new(inner));
    let rec = Recorder::new(store.clone(), |_| Ok(()));
    let worker = Worker::builder(
        store.clone(),
        tenax_policies::LivePolicy::new(Default::default()),
    )
    .handler("t", rec.clone())
    .build()?;
    let running = support::start(worker);

    // One job due in an hour.
    store.enqueue_batch(vec![
        NewJob::new("t", b"later".to_vec()).with_delay(Duration::from_secs(3600)),
    ])?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let calls_when_idle = store.calls();
    tokio::time::sleep(Duration::from_secs(3000)).await;
    assert_eq!(
        store.calls(),
        calls_when_idle,
        "no store calls while nothing is due"
    );
    assert_eq!(rec.count(), 0);

    // It runs when due, not before.
    support::until(Duration::from_secs(700), || rec.count() == 1).await;
    let late = rec.calls()[0]
        .at
        .since(support::START.saturating_add(Duration::from_secs(3600)));
    assert!(
        late < Duration::from_millis(100),
        "ran {late:?} after its due time"
    );

    // A new enqueue wakes it at once.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let before = store.now();
    store.enqueue_batch(vec![NewJob::new("t", b"now".to_vec())])?;
    support::until(Duration::from_secs(1), || rec.count() == 2).await;
    assert!(rec.calls()[1].at.since(before) < Duration::from_millis(100));

    // And then it is idle again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let calls_when_idle = store.calls();
    tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
    assert_eq!(
        store.calls(),
        calls_when_idle,
        "no store calls over an idle day"
    );
    running.stop().await?;
    Ok(())
}
