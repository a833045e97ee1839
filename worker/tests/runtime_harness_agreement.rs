//! The test harness decides exactly as the worker does: the same handler errors, run once
//! through `testing::Harness` and once through a real worker on a store, end the same
//! way (completed, retried after the same delay, or buried for the same reason).

mod support;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, ensure};
use tenax_core::{DEFAULT_QUEUE, JobId, JobState, JobStore, NewJob};
use tenax_policies::CompiledPolicy;
use tenax_worker::testing::{Harness, TestOutcome};
use tenax_worker::{Handler, HandlerError, Worker, handler_fn};

/// Every field of a handler's error reaches the policy here: the `delay` function reads
/// the status, the message and the `Retry-After` hint, so a worker or harness that
/// dropped one would decide differently. No jitter, so delays compare exactly.
const POLICY: &str = r#"
fn delay(class, attempt, delay_ms, error) {
    if error.status == 503 { return "7m"; }
    if error.message.contains("schema") { return "dead"; }
    if error.retry_after_ms != () { return error.retry_after_ms + 1000; }
    delay_ms
}

#{
    classes: #{
        transient: #{ base: "20s", cap: "1h", max_retries: 3, jitter: 0.0 },
        not_found: #{ base: "30s", cap: "1h", max_retries: 5, jitter: 0.0, breaker: false },
        unavailable: #{ base: "10s", cap: "1h", max_retries: 0, jitter: 0.0 },
        panicked: #{ base: "40s", cap: "1h", max_retries: 2, jitter: 0.0 },
    },
    breaker: #{ failure_threshold: 100 },
}"#;

/// Attempts of the `hangs` kind are cut at this timeout, in the worker and the harness.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The table: each kind's handler, from success to panics and hangs.
const KINDS: &[&str] = &[
    "ok", "flaky", "shedding", "schema", "hinted", "missing", "down", "bad", "panics", "hangs",
];

fn handler(kind: &str) -> Arc<dyn Handler> {
    let fail = |error: HandlerError| -> Arc<dyn Handler> {
        Arc::new(handler_fn(move |_| {
            let error = error.clone();
            async move { Err(error) }
        }))
    };
    match kind {
        "ok" => Arc::new(handler_fn(|_| async { Ok(()) })),
        "flaky" => fail(HandlerError::transient("HTTP 502").with_status(502)),
        "shedding" => fail(HandlerError::transient("HTTP 503").with_status(503)),
        "schema" => fail(HandlerError::transient("schema mismatch in field 3")),
        "hinted" => fail(
            HandlerError::transient("HTTP 429")
                .with_status(429)
                .with_retry_after(Duration::from_secs(45)),
        ),
        "missing" => fail(HandlerError::not_found("HTTP 404").with_status(404)),
        "down" => fail(HandlerError::unavailable("connection refused")),
        "bad" => fail(HandlerError::permanent("HTTP 400").with_status(400)),
        "panics" => Arc::new(handler_fn(|_| async { panic!("bug in the handler") })),
        "hangs" => Arc::new(handler_fn(|_| std::future::pending())),
        other => panic!("no case {other}"),
    }
}

/// What the worker did with job `id`, in the harness's terms (messages as stored).
fn worker_outcome(store: &dyn JobStore, id: JobId) -> Result<String> {
    let Some((job, state)) = store.job(id)? else {
        return Ok("completed".to_owned());
    };
    let error = job.last_error.expect("a failed job keeps its error");
    Ok(match state {
        JobState::Pending => format!(
            "retry after {:?}: {}: {}",
            job.run_at.since(error.at),
            error.class,
            error.message
        ),
        JobState::Dead => format!("buried: {}: {}", error.class, error.message),
        JobState::Running => anyhow::bail!("job {id} is still running"),
    })
}

/// The harness's outcome, written as `worker_outcome` writes the worker's.
fn harness_outcome(outcome: &TestOutcome) -> String {
    match outcome {
        TestOutcome::Completed => "completed".to_owned(),
        TestOutcome::Retry { delay, error } => {
            format!("retry after {delay:?}: {}: {}", error.class, error.message)
        }
        TestOutcome::Buried { reason, error } => format!(
            "buried: {}: {} [buried: {reason}]",
            error.class, error.message
        ),
    }
}

#[tokio::test(start_paused = true)]
async fn the_harness_and_the_worker_decide_the_same_for_every_kind_of_handler_error() -> Result<()>
{
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let mut builder = Worker::builder(store.clone(), support::policy(POLICY));
    for kind in KINDS {
        builder = builder.handler_with_timeout(*kind, handler(kind), TIMEOUT);
    }
    let running = support::start(builder.build()?);
    let jobs = KINDS
        .iter()
        .map(|kind| NewJob::new(*kind, Vec::new()))
        .collect();
    let ids: Vec<JobId> = store
        .enqueue_batch(jobs)?
        .into_iter()
        .map(tenax_core::Enqueued::id)
        .collect();
    // Every first attempt concludes (the hang at its timeout) before any retry is due.
    support::until(Duration::from_secs(10), || {
        let c = store.stats().expect("stats").queues[DEFAULT_QUEUE].counts;
        c.completed + c.retrying + c.dead == KINDS.len() as u64
    })
    .await;
    running.stop().await?;

    let harness = Harness::new(CompiledPolicy::load_str(POLICY, "test.rhai")?).timeout(TIMEOUT);
    for (kind, id) in KINDS.iter().zip(ids) {
        let run = tenax_worker::JobRun::new(*kind, Vec::new());
        let expected = harness_outcome(&harness.run(handler(kind), run).await);
        let actual = worker_outcome(store.as_ref(), id)?;
        ensure!(
            actual == expected,
            "kind `{kind}`: the worker did `{actual}`, the harness said `{expected}`"
        );
    }
    Ok(())
}
