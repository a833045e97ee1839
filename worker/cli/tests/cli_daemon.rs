//! The daemon end to end through its API and the CLI: delivery, the dead letter tools,
//! policy hot reload, metrics, and the offline fallback.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Result;
use axum::Router;
use axum::http::StatusCode;
use serde_json::{Value, json};
use support::daemon::{Daemon, eventually, tenax, tenax_in};

const FAST_POLICY: &str = r#"#{
    classes: #{ transient: #{ base: "50ms", cap: "100ms", max_retries: 1, jitter: 0.0 } },
}"#;

/// A downstream answering 200, or 400 while `failing` is set; counts requests.
async fn downstream(failing: Arc<AtomicBool>, hits: Arc<AtomicUsize>) -> String {
    let router = Router::new().fallback(move || {
        let (failing, hits) = (failing.clone(), hits.clone());
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            if failing.load(Ordering::SeqCst) {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            }
        }
    });
    support::serve(router).await
}

fn config(base: &str, policy: Option<&std::path::Path>) -> String {
    let mut text = format!("[http]\nallowed_bases = [\"{base}\"]\n");
    if let Some(p) = policy {
        text = format!("policy_file = {:?}\n{text}", p.display().to_string());
    }
    text
}

async fn get(client: &reqwest::Client, url: String) -> Result<(u16, Value)> {
    let r = client.get(url).send().await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_deliver_bury_requeue_purge_and_metrics() -> Result<()> {
    let failing = Arc::new(AtomicBool::new(false));
    let hits = Arc::new(AtomicUsize::new(0));
    let base = downstream(failing.clone(), hits.clone()).await;
    let daemon = Daemon::start(&config(&base, None));
    let client = support::api_client();

    // Enqueue through the CLI; the job is delivered.
    let payload =
        json!({ "url": format!("{base}/items/1"), "method": "POST", "json": { "id": 1 } });
    let (code, out, err) = tenax(&[
        "enqueue",
        "--api",
        &daemon.addr,
        "http",
        &payload.to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let id = serde_json::from_str::<Value>(&out)?["id"]
        .as_u64()
        .expect("an id");
    eventually(Duration::from_secs(10), async || {
        let (status, _) = get(&client, format!("{}/v1/jobs/{id}", daemon.url))
            .await
            .ok()?;
        (status == 404).then_some(())
    })
    .await;
    assert_eq!(hits.load(Ordering::SeqCst), 1, "delivered once");

    // Bulk enqueue from JSON lines while the downstream refuses: they go to the DLQ.
    failing.store(true, Ordering::SeqCst);
    let lines: String = (2..5)
        .map(|i| {
            format!(
                "{}\n",
                json!({ "kind": "http", "payload": { "url": format!("{base}/items/{i}") } })
            )
        })
        .collect();
    let (code, out, err) = tenax_in(&["enqueue", "--api", &daemon.addr, "-"], Some(&lines));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out)?["jobs"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    eventually(Duration::from_secs(10), async || {
        let (_, stats) = get(&client, format!("{}/v1/stats", daemon.url))
            .await
            .ok()?;
        (stats["total"]["dead"] == 3).then_some(())
    })
    .await;

    let (code, out, _) = tenax(&["dlq", "list", "--api", &daemon.addr, "--class", "permanent"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.lines().filter(|l| l.contains("permanent")).count(),
        3,
        "{out}"
    );
    let (code, out, _) = tenax(&[
        "dlq",
        "list",
        "--api",
        &daemon.addr,
        "--json",
        "--limit",
        "2",
    ]);
    assert_eq!(code, 0);
    let page: Value = serde_json::from_str(&out)?;
    let first = page["jobs"][0]["id"].as_u64().expect("id");
    assert!(page["next"].is_string(), "a full page has a cursor");
    let (code, out, _) = tenax(&[
        "dlq",
        "show",
        "--json",
        "--api",
        &daemon.addr,
        &first.to_string(),
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("HTTP 400"), "{out}");

    // Requeue one by id once the downstream is fixed: delivered.
    failing.store(false, Ordering::SeqCst);
    let (code, out, _) = tenax(&["dlq", "requeue", "--api", &daemon.addr, &first.to_string()]);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&out)?["requeued"], 1);
    eventually(Duration::from_secs(10), async || {
        let (_, stats) = get(&client, format!("{}/v1/stats", daemon.url))
            .await
            .ok()?;
        (stats["total"]["dead"] == 2 && stats["total"]["completed"] == 2).then_some(())
    })
    .await;

    // Purge the rest.
    let (code, out, _) = tenax(&["dlq", "purge", "--api", &daemon.addr, "--older-than", "0s"]);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&out)?["purged"], 2);

    // Metrics, the breaker and stats through the CLI.
    let text = client
        .get(format!("{}/metrics", daemon.url))
        .send()
        .await?
        .text()
        .await?;
    for metric in [
        "tenax_jobs_completed_total",
        "tenax_jobs_buried_total",
        "tenax_jobs_enqueued_total",
        "tenax_policy_version",
        "tenax_breaker_state",
        "tenax_queue_depth",
        "tenax_job_duration_seconds_bucket",
    ] {
        assert!(text.contains(metric), "{metric} missing from:\n{text}");
    }
    let (code, out, _) = tenax(&["breaker", "--json", "--api", &daemon.addr]);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&out)?["state"], "closed");
    let (code, out, _) = tenax(&["stats", "--api", &daemon.addr]);
    assert_eq!(code, 0);
    assert!(out.contains("default"), "{out}");

    // A graceful stop exits 0; then `stats` reads the data directory directly.
    let config_path = daemon.config.clone();
    let dir_keep = daemon.dir.path().to_path_buf();
    assert!(dir_keep.exists());
    let status = daemon.terminate();
    assert!(status.success(), "{status:?}");
    let (code, out, err) = tenax(&[
        "stats",
        "--config",
        config_path.to_str().expect("utf-8"),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("reading"),
        "says it reads the directory: {err}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&out)?["total"]["completed"],
        2
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_hot_reload_is_seen_through_the_api() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let policy = dir.path().join("policy.rhai");
    std::fs::write(&policy, FAST_POLICY)?;
    let daemon = Daemon::start_in(dir, &config("http://127.0.0.1:9", Some(&policy)));
    let client = support::api_client();
    let (_, first) = get(&client, format!("{}/v1/policy", daemon.url)).await?;
    assert_eq!(first["version"], 1);

    std::fs::write(
        &policy,
        FAST_POLICY.replace("max_retries: 1", "max_retries: 4"),
    )?;
    let second = eventually(Duration::from_secs(15), async || {
        let (_, p) = get(&client, format!("{}/v1/policy", daemon.url))
            .await
            .ok()?;
        (p["version"] == 2).then_some(p)
    })
    .await;
    assert_ne!(second["fingerprint"], first["fingerprint"]);

    std::fs::write(&policy, "#{ classes: #{ transient: #{ bsae: \"1s\" } } }")?;
    let rejected = eventually(Duration::from_secs(15), async || {
        let (_, p) = get(&client, format!("{}/v1/policy", daemon.url))
            .await
            .ok()?;
        p["last_error"].is_string().then_some(p)
    })
    .await;
    assert_eq!(
        rejected["version"], 2,
        "a bad edit keeps the running policy"
    );
    assert!(
        rejected["last_error"]
            .as_str()
            .expect("error")
            .contains("bsae")
    );
    let (code, out, _) = tenax(&["policy", "show", "--json", "--api", &daemon.addr]);
    assert_eq!(code, 0);
    assert!(out.contains("\"version\": 2"), "{out}");
    Ok(())
}
