//! `GET /v1/breaker` shows an outage as it happens and after: open with the seconds to
//! the next probe, then closed with the outage's start, end and class recorded, and the
//! recovery ramp's rate.

mod support;

use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use support::daemon::{Daemon, eventually};
use support::scripted::Scripted;

const POLICY: &str = r#"#{
    classes: #{ transient: #{ base: "1h", cap: "1h", max_retries: 3 } },
    breaker: #{
        failure_threshold: 2,
        recovery_timeout: "1s",
        ramp: #{ start_rate_per_sec: 2, end_rate_per_sec: 10, duration: "1h" },
    },
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_recorded_from_opening_to_closing() -> Result<()> {
    let downstream = Scripted::start().await;
    let daemon = Daemon::with_policy(POLICY, &downstream.base, "");
    let client = support::api_client();
    let breaker_url = format!("{}/v1/breaker", daemon.url);
    let enqueue = async |n: usize| -> Result<()> {
        for _ in 0..n {
            let job = json!({ "kind": "http", "payload": { "url": downstream.switch_url() } });
            let r = client
                .post(format!("{}/v1/jobs", daemon.url))
                .json(&job)
                .send()
                .await?;
            assert_eq!(r.status().as_u16(), 201);
        }
        Ok(())
    };
    let breaker = async || -> Option<Value> {
        let all: Value = client
            .get(&breaker_url)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        all["queues"].as_array()?.first().cloned()
    };

    let closed = breaker().await.expect("breaker answered");
    assert_eq!(closed["state"], "closed", "{closed}");
    assert_eq!(closed["outages"], json!([]), "{closed}");

    // Two 503s in a row open it.
    enqueue(2).await?;
    let open = eventually(Duration::from_secs(20), async || {
        breaker().await.filter(|b| b["state"] == "open")
    })
    .await;
    let probe_in = open["probe_in_secs"]
        .as_f64()
        .expect("seconds to the probe");
    assert!((0.0..=1.0).contains(&probe_in), "{open}");
    assert_eq!(open["failure_threshold"], 2, "{open}");
    let outages = open["outages"].as_array().cloned().unwrap_or_default();
    assert_eq!(outages.len(), 1, "{open}");
    assert_eq!(outages[0]["class"], "transient", "{open}");
    assert_eq!(outages[0]["closed_at_ms"], Value::Null, "{open}");
    assert_eq!(outages[0]["opened_at_ms"], open["opened_at_ms"], "{open}");
    assert!(
        outages[0]["cause"]
            .as_str()
            .unwrap_or("")
            .contains("consecutive"),
        "{open}"
    );

    // The downstream comes back; the next job is the probe that closes the breaker.
    downstream.set_up(true);
    enqueue(1).await?;
    let after = eventually(Duration::from_secs(20), async || {
        breaker().await.filter(|b| b["state"] == "closed")
    })
    .await;
    let outages = after["outages"].as_array().cloned().unwrap_or_default();
    assert_eq!(outages.len(), 1, "{after}");
    let opened = outages[0]["opened_at_ms"].as_u64().expect("opened");
    let ended = outages[0]["closed_at_ms"].as_u64().expect("closed");
    assert!(
        ended >= opened + 1_000,
        "open at least the recovery timeout: {after}"
    );
    assert_eq!(after["closed_at_ms"].as_u64(), Some(ended), "{after}");
    let rate = after["ramp_rate_per_sec"].as_f64().expect("the ramp runs");
    assert!((2.0..3.0).contains(&rate), "{after}");
    assert_eq!(after["probe_in_secs"], Value::Null, "{after}");
    // The old top-level form still names the default queue's breaker.
    let all: Value = client.get(&breaker_url).send().await?.json().await?;
    assert_eq!(all["queue"], "default");
    assert_eq!(all["state"], "closed");
    Ok(())
}
