//! Several queues in one daemon: each has its own breaker, so an outage behind one queue
//! never holds up another; a job for a queue nobody serves is refused at enqueue.

mod support;

use std::time::Duration;

use anyhow::Result;
use serde_json::json;
use support::daemon::Daemon;
use support::downstream::Downstream;

/// A loopback base URL where nothing listens: connections are refused.
async fn refusing_base() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_behind_queue_a_opens_its_breaker_and_queue_b_keeps_delivering() -> Result<()> {
    let down = refusing_base().await;
    let up = Downstream::start().await;
    let client = support::api_client();
    let config = format!(
        "[queues.a]\nconcurrency = 4\n[queues.b]\nconcurrency = 2\n\n\
         [http]\nallowed_bases = [\"{down}\", \"{}\"]\n",
        up.base
    );
    let daemon = Daemon::start(&config);
    let enqueue = async |queue: &str, base: &str, n: usize| {
        let jobs: Vec<_> = (0..n)
            .map(|i| json!({ "queue": queue, "kind": "http", "payload": { "url": format!("{base}/{queue}/{i}") } }))
            .collect();
        let answer = client
            .post(format!("{}/v1/jobs", daemon.url))
            .json(&json!({ "jobs": jobs }))
            .send()
            .await
            .expect("enqueue answered");
        assert_eq!(answer.status(), 201);
    };

    // Five refused connections in a row open queue a's breaker (the default threshold).
    enqueue("a", &down, 5).await;
    let breakers = support::daemon::eventually(Duration::from_secs(15), async || {
        let b: serde_json::Value = client
            .get(format!("{}/v1/breaker", daemon.url))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let a = b["queues"].as_array()?.iter().find(|q| q["queue"] == "a")?;
        (a["state"] == "open").then_some(b)
    })
    .await;
    let b_state = breakers["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .find(|q| q["queue"] == "b");
    assert_eq!(b_state.expect("queue b listed")["state"], "closed");

    // Queue b delivers while a's breaker is open.
    enqueue("b", &up.base, 6).await;
    up.wait_for(6, Duration::from_secs(10)).await;
    // The sixth answer arrives before its completion is written: wait for the count.
    let stats = support::daemon::eventually(Duration::from_secs(10), async || {
        let stats = daemon.stats(&client).await;
        (stats["queues"]["b"]["completed"] == 6).then_some(stats)
    })
    .await;
    assert_eq!(
        stats["queues"]["a"]["steering"]["breaker"], "open",
        "{stats}"
    );
    assert_eq!(stats["queues"]["b"]["completed"], 6, "{stats}");
    let metrics = client
        .get(format!("{}/metrics", daemon.url))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains("tenax_breaker_state{queue=\"a\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tenax_breaker_state{queue=\"b\"}"),
        "{metrics}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_for_a_queue_nobody_serves_is_refused_naming_the_served_queues() -> Result<()> {
    let daemon = Daemon::start("[queues.a]\n[queues.b]\n");
    let client = support::api_client();
    let job = json!({ "queue": "c", "kind": "http", "payload": { "url": "http://127.0.0.1:9/x" } });
    let answer = client
        .post(format!("{}/v1/jobs", daemon.url))
        .json(&job)
        .send()
        .await?;
    assert_eq!(answer.status(), 422);
    let body: serde_json::Value = answer.json().await?;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`c`") && message.contains("`a`, `b`"),
        "{message}"
    );
    // Without a queue, a job goes to `worker.queue` (`default`), which is not served here.
    let job = json!({ "kind": "http", "payload": { "url": "http://127.0.0.1:9/x" } });
    let answer = client
        .post(format!("{}/v1/jobs", daemon.url))
        .json(&job)
        .send()
        .await?;
    assert_eq!(answer.status(), 422);
    Ok(())
}
