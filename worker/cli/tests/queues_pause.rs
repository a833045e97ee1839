//! Pausing a queue through the real daemon: nothing is delivered while it is paused,
//! the pause survives `kill -9`, and a resume delivers the waiting jobs in due order.
//!
//! "Nothing is delivered" cannot be proven by waiting forever. The test waits until the
//! daemon itself reports the jobs due and the queue paused (so the worker has been woken
//! by the enqueues and has decided), then watches the downstream for a bounded window of
//! 1 s: an unpaused worker delivers a due job within milliseconds, so a broken pause
//! fails here every time.

mod support;

use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use support::daemon::{Daemon, tenax};
use support::downstream::Downstream;

const WINDOW: Duration = Duration::from_secs(1);

fn config(base: &str) -> String {
    format!("[worker]\nconcurrency = 1\n\n[http]\nallowed_bases = [\"{base}\"]\n")
}

/// The `default` queue's entry in `/v1/stats`, once it shows `want` jobs waiting and due.
async fn paused_with_due_jobs(client: &reqwest::Client, daemon: &Daemon, want: u64) -> Value {
    support::daemon::eventually(Duration::from_secs(10), async || {
        let stats = daemon.stats(client).await;
        let q = stats["queues"]["default"].clone();
        let due = q["next_due"]["run_at"].as_str()? <= stats["at"].as_str()?;
        (q["waiting"] == want && due && q["steering"]["paused"] == true).then_some(q)
    })
    .await
}

async fn assert_quiet(downstream: &Downstream) {
    tokio::time::sleep(WINDOW).await;
    assert_eq!(downstream.count(), 0, "a paused queue delivered a job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_queue_delivers_nothing_survives_kill_9_and_resumes_in_due_order() -> Result<()> {
    let downstream = Downstream::start().await;
    let client = support::api_client();
    let data = tempfile::tempdir()?;
    let daemon = Daemon::start_at(tempfile::tempdir()?, data.path(), &config(&downstream.base));

    let (code, out, err) = tenax(&[
        "queue",
        "pause",
        "default",
        "--reason",
        "ops: server maintenance",
        "--api",
        &daemon.addr,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("paused") && out.contains("ops: server maintenance"),
        "{out}"
    );

    for i in 0..5 {
        let job = json!({ "kind": "http", "payload": { "url": format!("{}/items/{i}", downstream.base) } });
        let answer = client
            .post(format!("{}/v1/jobs", daemon.url))
            .json(&job)
            .send()
            .await?;
        assert_eq!(
            answer.status(),
            201,
            "a paused queue still accepts enqueues"
        );
    }
    let q = paused_with_due_jobs(&client, &daemon, 5).await;
    assert_eq!(q["steering"]["paused_reason"], "ops: server maintenance");
    assert!(q["steering"]["paused_since"].is_string(), "{q}");
    assert_quiet(&downstream).await;
    let metrics = client
        .get(format!("{}/metrics", daemon.url))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains("tenax_queue_paused{queue=\"default\"} 1"),
        "{metrics}"
    );

    // kill -9 and start again on the same data: still paused, same reason, nothing sent.
    daemon.kill9();
    let daemon = Daemon::start_at(tempfile::tempdir()?, data.path(), &config(&downstream.base));
    let q = paused_with_due_jobs(&client, &daemon, 5).await;
    assert_eq!(q["steering"]["paused_reason"], "ops: server maintenance");
    assert_quiet(&downstream).await;
    let (code, out, err) = tenax(&["queue", "list", "--api", &daemon.addr]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("paused") && out.contains("ops: server maintenance"),
        "{out}"
    );

    let (code, out, err) = tenax(&["queue", "resume", "default", "--api", &daemon.addr]);
    assert_eq!(code, 0, "{out}{err}");
    downstream.wait_for(5, Duration::from_secs(10)).await;
    let expected: Vec<String> = (0..5).map(|i| format!("/items/{i}")).collect();
    assert_eq!(downstream.paths(), expected, "delivered in due order");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_a_queue_the_daemon_does_not_serve_names_the_served_ones() -> Result<()> {
    let daemon = Daemon::start("[queues.media]\n[queues.mail]\n");
    let (code, _, err) = tenax(&["queue", "pause", "video", "--api", &daemon.addr]);
    assert_ne!(code, 0);
    assert!(
        err.contains("`video`") && err.contains("`mail`, `media`"),
        "{err}"
    );
    Ok(())
}
