//! A policy reload applies from the next decision on; a bad reload changes nothing; an
//! attempt is classified and decided with one policy even when a reload lands meanwhile.

mod support;

use std::time::Duration;

use anyhow::Result;
use tenax_core::{DEFAULT_QUEUE, JobState, NewJob};
use tenax_policies::{ClassifyInput, CompiledPolicy};
use tenax_worker::{BreakerState, HandlerError, JobRun, Worker, handler_fn};

use support::recorder::Recorder;

fn script(base: &str) -> String {
    format!(
        r#"#{{ classes: #{{ transient: #{{ base: "{base}", cap: "1h", max_retries: 10, jitter: 0.0, breaker: false }} }} }}"#
    )
}

#[tokio::test(start_paused = true)]
async fn a_reload_changes_the_next_delay_and_a_bad_one_changes_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let policy_file = dir.path().join("policy.rhai");
    std::fs::write(&policy_file, script("10s"))?;
    let live = tenax_policies::LivePolicy::from_file(&policy_file)?;
    let rec = Recorder::new(store.clone(), |_| Err(HandlerError::transient("HTTP 503")));
    let worker = Worker::builder(store.clone(), live.clone())
        .handler("t", rec.clone())
        .build()?;
    let running = support::start(worker);
    support::enqueue(store.as_ref(), "t", 1);

    support::until(Duration::from_secs(1), || rec.count() == 1).await;
    // Failure 1 was scheduled with the old policy (10 s). Reload to a 100 s base.
    std::fs::write(&policy_file, script("100s"))?;
    live.reload_file(&policy_file)?;
    assert_eq!(live.load().version(), 2);

    support::until(Duration::from_secs(300), || rec.count() == 3).await;
    let calls = rec.calls();
    let gap = |i: usize| calls[i + 1].at.since(calls[i].at);
    assert_eq!(gap(0).as_secs(), 10, "already scheduled: keeps its time");
    assert_eq!(
        gap(1).as_secs(),
        200,
        "next decision uses the new policy (100 s doubled)"
    );

    // A broken edit is refused; the running policy stays.
    std::fs::write(
        &policy_file,
        "#{ classes: #{ transient: #{ base: \"soon\" } } }",
    )?;
    assert!(live.reload_file(&policy_file).is_err());
    assert_eq!(live.load().version(), 2);
    assert!(
        live.status().last_error.is_some(),
        "the error is kept for `GET /v1/policy`"
    );
    support::until(Duration::from_secs(900), || rec.count() == 4).await;
    let calls = rec.calls();
    assert_eq!(
        calls[3].at.since(calls[2].at).as_secs(),
        400,
        "still the reloaded policy"
    );

    // And an in-process replace (what the watcher does) applies the same way.
    live.replace(CompiledPolicy::load_str(&script("1s"), "inline.rhai")?);
    support::until(Duration::from_secs(900), || rec.count() == 5).await;
    running.stop().await?;
    Ok(())
}

/// Classifies 503 as `transient`, retries it after 10 s and opens the breaker at once.
const BEFORE: &str = r#"
fn classify(input) { if input.status == 503 { "transient" } }
#{
    classes: #{ transient: #{ base: "10s", cap: "1h", max_retries: 10, jitter: 0.0, breaker: true } },
    breaker: #{ failure_threshold: 1 },
}"#;

/// Disagrees on everything: 503 is `permanent`, `transient` waits 100 s and spares the
/// breaker, whose threshold is 5.
const AFTER: &str = r#"
fn classify(input) { "permanent" }
#{
    classes: #{ transient: #{ base: "100s", cap: "1h", max_retries: 10, jitter: 0.0, breaker: false } },
    breaker: #{ failure_threshold: 5 },
}"#;

#[tokio::test(start_paused = true)]
async fn a_reload_during_an_attempt_leaves_its_class_decision_and_breaker_count_to_one_policy()
-> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = support::open_store(dir.path(), &support::clock());
    let live = support::policy(BEFORE);
    let reloader = live.clone();
    // Reloads first, then classifies as the HTTP handler does, with the attempt's policy.
    let handler = handler_fn(move |job: JobRun| {
        let live = reloader.clone();
        async move {
            live.replace(CompiledPolicy::load_str(AFTER, "after.rhai").expect("valid"));
            let policy = job
                .policy()
                .expect("the worker hands each attempt its policy");
            let class = policy
                .classify_or_default(&ClassifyInput::status(503, "busy"))
                .expect("503 is a failure");
            Err(HandlerError::new(class, "HTTP 503").with_status(503))
        }
    });
    let worker = Worker::builder(store.clone(), live.clone())
        .handler("t", handler)
        .build()?;
    let breaker = worker.breaker();
    let running = support::start(worker);
    let id = store.enqueue(NewJob::new("t", Vec::new()))?.id();
    support::until(Duration::from_secs(5), || {
        let c = store.stats().expect("stats").queues[DEFAULT_QUEUE].counts;
        c.retrying + c.dead == 1
    })
    .await;
    running.stop().await?;
    assert_eq!(live.load().version(), 2, "the reload happened mid-attempt");

    let (job, state) = store.job(id)?.expect("the job is kept");
    let error = job.last_error.expect("the failure is recorded");
    assert_eq!(
        (state, error.class.as_str()),
        (JobState::Pending, "transient"),
        "classified by the attempt's policy, not the reloaded one"
    );
    assert_eq!(
        job.run_at.since(error.at),
        Duration::from_secs(10),
        "decided by the policy that classified it"
    );
    assert_eq!(
        breaker.borrow().state,
        BreakerState::Open,
        "counted toward the breaker, and against the threshold, of that same policy"
    );
    Ok(())
}
