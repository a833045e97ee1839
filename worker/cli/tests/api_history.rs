//! `GET /v1/history` counts exactly what the worker wrote: a known sequence of
//! deliveries to a loopback downstream comes back as the same numbers of completed,
//! retried (by class) and buried jobs.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use support::daemon::Daemon;
use support::scripted::Scripted;

/// Retries wait an hour, so nothing runs twice during the test.
const POLICY: &str = r#"#{
    classes: #{
        transient: #{ base: "1h", cap: "1h", max_retries: 3 },
        not_found: #{ base: "1h", cap: "1h", max_retries: 3 },
    },
    breaker: #{ failure_threshold: 50 },
}"#;

/// Completed, retried by class and buried, summed over every minute of `queue`.
fn totals(history: &Value, queue: &str) -> (u64, BTreeMap<String, u64>, u64) {
    let mut completed = 0;
    let mut retried = BTreeMap::new();
    let mut buried = 0;
    let queues = history["queues"].as_array().cloned().unwrap_or_default();
    let minutes = queues
        .iter()
        .find(|q| q["queue"] == queue)
        .and_then(|q| q["minutes"].as_array().cloned())
        .unwrap_or_default();
    for minute in minutes {
        completed += minute["completed"].as_u64().unwrap_or(0);
        buried += minute["buried"].as_u64().unwrap_or(0);
        for (class, n) in minute["retried"].as_object().into_iter().flatten() {
            *retried.entry(class.clone()).or_insert(0) += n.as_u64().unwrap_or(0);
        }
    }
    (completed, retried, buried)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_counts_every_outcome_by_minute_and_class() -> Result<()> {
    let downstream = Scripted::start().await;
    let daemon = Daemon::with_policy(POLICY, &downstream.base, "");
    let client = support::api_client();
    let url = |path: &str| format!("{}{path}", daemon.url);

    // Before anything ran: 60 empty minutes, oldest first.
    let empty: Value = client.get(url("/v1/history")).send().await?.json().await?;
    let minutes = empty["queues"][0]["minutes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(minutes.len(), 60, "{empty}");
    let starts: Vec<u64> = minutes
        .iter()
        .filter_map(|m| m["start_ms"].as_u64())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[1] == w[0] + 60_000),
        "{starts:?}"
    );
    assert_eq!(totals(&empty, "default"), (0, BTreeMap::new(), 0));

    // 3 delivered, 2 × 503 (transient), 1 × 404 (not_found), 1 × 400 (permanent).
    let mut jobs = Vec::new();
    for (code, n) in [(200, 3), (503, 2), (404, 1), (400, 1)] {
        for i in 0..n {
            let target = downstream.status_url(code, &format!("answer-{i}"));
            jobs.push(json!({ "kind": "http", "payload": { "url": target } }));
        }
    }
    let r = client
        .post(url("/v1/jobs"))
        .json(&json!({ "jobs": jobs }))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 201);

    let want_retried = BTreeMap::from([("not_found".to_owned(), 1), ("transient".to_owned(), 2)]);
    let history = support::daemon::eventually(Duration::from_secs(30), async || {
        let h: Value = client
            .get(url("/v1/history?minutes=60"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let (completed, retried, buried) = totals(&h, "default");
        (completed + retried.values().sum::<u64>() + buried >= 7).then_some(h)
    })
    .await;
    assert_eq!(
        totals(&history, "default"),
        (3, want_retried, 1),
        "{history}"
    );
    // The store agrees.
    let stats = daemon.stats(&client).await;
    let counts = &stats["queues"]["default"];
    assert_eq!(counts["completed"], 3, "{stats}");
    assert_eq!(counts["retrying"], 3, "{stats}");
    assert_eq!(counts["dead"], 1, "{stats}");

    // A shorter window ends at the same minute.
    let short: Value = client
        .get(url("/v1/history?minutes=2"))
        .send()
        .await?
        .json()
        .await?;
    let last = |h: &Value| {
        h["queues"][0]["minutes"]
            .as_array()
            .and_then(|m| m.last().cloned())
    };
    assert_eq!(
        short["queues"][0]["minutes"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        last(&short).map(|m| m["start_ms"].clone()),
        last(&history).map(|m| m["start_ms"].clone())
    );
    for bad in ["0", "61", "x"] {
        let r = client
            .get(url(&format!("/v1/history?minutes={bad}")))
            .send()
            .await?;
        assert_eq!(r.status().as_u16(), 400, "minutes={bad}");
    }
    Ok(())
}
