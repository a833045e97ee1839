//! A policy reload applies from the next decision on; a bad reload changes nothing.

mod support;

use std::time::Duration;

use anyhow::Result;
use tenax_policies::CompiledPolicy;
use tenax_worker::{HandlerError, Worker};

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
