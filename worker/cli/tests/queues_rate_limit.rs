//! A steady rate limit, measured where it matters: the inter-arrival times at the
//! downstream, not a count inside the worker.

mod support;

use std::time::Duration;

use anyhow::Result;
use serde_json::json;
use support::daemon::{Daemon, tenax};
use support::downstream::Downstream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_of_five_per_second_spaces_deliveries_two_hundred_ms_apart() -> Result<()> {
    let downstream = Downstream::start().await;
    let client = support::api_client();
    let config = format!(
        "[queues.media]\nconcurrency = 8\n\n[worker]\nqueue = \"media\"\n\n\
         [http]\nallowed_bases = [\"{}\"]\n",
        downstream.base
    );
    let daemon = Daemon::start(&config);
    let (code, out, err) = tenax(&["queue", "limit", "media", "5/s", "--api", &daemon.addr]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("5/s burst 1 (run-time)"), "{out}");

    let jobs: Vec<_> = (0..11)
        .map(|i| json!({ "kind": "http", "payload": { "url": format!("{}/items/{i}", downstream.base) } }))
        .collect();
    let answer = client
        .post(format!("{}/v1/jobs", daemon.url))
        .json(&json!({ "jobs": jobs }))
        .send()
        .await?;
    assert_eq!(answer.status(), 201);
    downstream.wait_for(11, Duration::from_secs(20)).await;

    let at = downstream.arrivals();
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    let span = at[10] - at[0];
    let min = gaps.iter().min().copied().unwrap_or_default();
    // 10 gaps of 200 ms; the tolerance absorbs one request sent late and the next on time.
    assert!(
        span >= Duration::from_millis(1900),
        "11 jobs in {span:?}: {gaps:?}"
    );
    assert!(
        min >= Duration::from_millis(150),
        "closest arrivals {min:?} apart: {gaps:?}"
    );

    // Switched off at run time, the rest go at once.
    let (code, _, err) = tenax(&["queue", "limit", "media", "off", "--api", &daemon.addr]);
    assert_eq!(code, 0, "{err}");
    let jobs: Vec<_> = (0..8)
        .map(|i| json!({ "kind": "http", "payload": { "url": format!("{}/more/{i}", downstream.base) } }))
        .collect();
    let started = std::time::Instant::now();
    client
        .post(format!("{}/v1/jobs", daemon.url))
        .json(&json!({ "jobs": jobs }))
        .send()
        .await?;
    downstream.wait_for(19, Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_rate_is_refused_with_the_accepted_forms() -> Result<()> {
    let daemon = Daemon::start("");
    let (code, _, err) = tenax(&["queue", "limit", "default", "fast", "--api", &daemon.addr]);
    assert_ne!(code, 0);
    assert!(err.contains("5/s") && err.contains("off"), "{err}");
    let (code, _, err) = tenax(&[
        "queue",
        "limit",
        "default",
        "0.001/s",
        "--api",
        &daemon.addr,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("per_second"), "{err}");
    Ok(())
}
