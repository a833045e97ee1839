//! Handlers that panic or hang fail with their documented class; the worker carries on.

mod support;

use std::time::Duration;

use anyhow::Result;
use tenax_core::{DEFAULT_QUEUE, JobStore};
use tenax_worker::{HandlerError, Worker, handler_fn};

fn counts(store: &dyn JobStore) -> tenax_core::QueueCounts {
    store.stats().expect("stats").queues[DEFAULT_QUEUE].counts
}

const POLICY: &str = r#"#{
    classes: #{
        transient: #{ base: "1s", cap: "1s", max_retries: 0 },
        panicked: #{ base: "1s", cap: "1s", max_retries: 0, breaker: false },
    },
}"#;

#[tokio::test(start_paused = true)]
async fn a_panic_and_a_hang_fail_their_jobs_and_the_rest_are_delivered() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let handler = handler_fn(|job| async move {
        match job.payload.as_slice() {
            b"panic" => panic!("the handler met a bug"),
            b"hang" => std::future::pending().await,
            _ => Ok::<(), HandlerError>(()),
        }
    });
    let worker = Worker::builder(store.clone(), support::policy(POLICY))
        .handler_with_timeout("t", handler, Duration::from_secs(10))
        .concurrency(4)
        .build()?;
    let running = support::start(worker);
    let mut jobs = vec![tenax_core::NewJob::new("t", b"panic".to_vec())];
    jobs.push(tenax_core::NewJob::new("t", b"hang".to_vec()));
    jobs.extend((0..20).map(|i| tenax_core::NewJob::new("t", i.to_string().into_bytes())));
    let ids = store.enqueue_batch(jobs)?;
    support::until(Duration::from_secs(30), || {
        let c = counts(store.as_ref());
        c.completed == 20 && c.dead == 2
    })
    .await;
    let panicked = store.dead_job(ids[0].id())?.expect("dead");
    let error = panicked.last_error.expect("error");
    assert_eq!(error.class, "panicked");
    assert!(
        error.message.contains("the handler met a bug"),
        "{}",
        error.message
    );
    let hung = store.dead_job(ids[1].id())?.expect("dead");
    let error = hung.last_error.expect("error");
    assert_eq!(error.class, "transient");
    assert!(
        error.message.contains("timed out after 10s"),
        "{}",
        error.message
    );
    let report = running.stop().await?;
    assert_eq!((report.completed, report.buried), (20, 2));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_job_of_an_unknown_kind_goes_to_the_dead_letters_with_the_reason() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let worker = Worker::builder(store.clone(), support::policy(POLICY))
        .handler("t", handler_fn(|_| async { Ok(()) }))
        .build()?;
    let running = support::start(worker);
    let id = store
        .enqueue(tenax_core::NewJob::new("nobody-handles-this", Vec::new()))?
        .id();
    support::until(Duration::from_secs(5), || counts(store.as_ref()).dead == 1).await;
    let job = store.dead_job(id)?.expect("dead");
    assert!(
        job.last_error
            .expect("error")
            .message
            .contains("no handler is registered")
    );
    running.stop().await?;
    Ok(())
}
