//! Through the real binary, what an operator does with jobs: the attempt history
//! (`GET /v1/jobs/{id}`, `tenax job show`), `tenax job list`, `tenax job cancel`,
//! `tenax dlq delete`, and `--dry-run` for `dlq requeue` and `dlq purge`.

mod support;

use std::time::Duration;

use anyhow::Result;
use axum::Router;
use axum::http::StatusCode;
use serde_json::{Value, json};
use support::daemon::{Daemon, eventually, tenax};

/// A downstream that answers 400 to `/bad` and 503 to everything else.
async fn downstream() -> String {
    let router = Router::new()
        .route(
            "/bad",
            axum::routing::any(|| async { StatusCode::BAD_REQUEST }),
        )
        .fallback(|| async { StatusCode::SERVICE_UNAVAILABLE });
    support::serve(router).await
}

async fn enqueue(client: &reqwest::Client, daemon: &Daemon, job: Value) -> Result<u64> {
    let answer: Value = client
        .post(format!("{}/v1/jobs", daemon.url))
        .json(&job)
        .send()
        .await?
        .json()
        .await?;
    Ok(answer["id"].as_u64().expect("an id"))
}

async fn job_in_state(client: &reqwest::Client, daemon: &Daemon, id: u64, state: &str) -> Value {
    eventually(Duration::from_secs(30), async || {
        let job: Value = client
            .get(format!("{}/v1/jobs/{id}", daemon.url))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (job["state"] == state).then_some(job)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_attempt_is_shown_with_its_status_delay_and_policy_version() -> Result<()> {
    let base = downstream().await;
    let daemon = Daemon::start(&format!("[http]\nallowed_bases = [\"{base}/\"]\n"));
    let client = support::api_client();
    let bad = enqueue(
        &client,
        &daemon,
        json!({ "kind": "http", "payload": { "url": format!("{base}/bad") } }),
    )
    .await?;
    let flaky = enqueue(
        &client,
        &daemon,
        json!({ "kind": "http", "payload": { "url": format!("{base}/down") } }),
    )
    .await?;

    let dead = job_in_state(&client, &daemon, bad, "dead").await;
    let attempts = dead["attempts"].as_array().expect("a history");
    assert_eq!(attempts.len(), 1, "{dead}");
    assert_eq!(attempts[0]["outcome"], "dead");
    assert_eq!(attempts[0]["status"], 400);
    assert_eq!(attempts[0]["policy_version"], 1);
    assert!(attempts[0]["delay_ms"].is_null(), "a burial has no delay");

    let retrying = job_in_state(&client, &daemon, flaky, "retrying").await;
    let first = &retrying["attempts"][0];
    assert_eq!(
        (&first["outcome"], &first["status"]),
        (&json!("retry"), &json!(503))
    );
    assert!(first["delay_ms"].as_u64().is_some_and(|d| d > 0), "{first}");
    assert_eq!(first["policy_version"], 1);
    assert!(
        first["started_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("20"))
    );

    let (code, out, err) = tenax(&["job", "show", &bad.to_string(), "--api", &daemon.addr]);
    assert_eq!(code, 0, "{err}");
    let table = out.split("attempts\n").nth(1).expect("an attempts table");
    assert!(table.contains("outcome"), "{out}");
    assert!(table.contains(" dead "), "{out}");
    assert!(table.contains(" 400 "), "{out}");
    let (code, out, _) = tenax(&[
        "job",
        "show",
        &bad.to_string(),
        "--json",
        "--api",
        &daemon.addr,
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out)?["attempts"][0]["status"],
        400
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_waiting_job_becomes_a_dead_letter_that_can_be_deleted() -> Result<()> {
    let daemon = Daemon::start("[http]\nallowed_bases = [\"http://127.0.0.1:9/\"]\n");
    let client = support::api_client();
    let job =
        json!({ "kind": "http", "delay": "1h", "payload": { "url": "http://127.0.0.1:9/x" } });
    let id = enqueue(&client, &daemon, job).await?.to_string();

    let (code, out, err) = tenax(&["job", "cancel", &id, "--api", &daemon.addr]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out)?["status"], "cancelled");
    let shown: Value = client
        .get(format!("{}/v1/dead/{id}", daemon.url))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(shown["last_error"]["class"], "cancelled");
    let stats = daemon.stats(&client).await;
    assert_eq!(
        (&stats["total"]["waiting"], &stats["total"]["dead"]),
        (&json!(0), &json!(1))
    );

    let (code, out, _) = tenax(&["job", "cancel", &id, "--api", &daemon.addr]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out)?["status"],
        "already_dead"
    );

    let (code, _, err) = tenax(&["dlq", "delete", &id, "--api", &daemon.addr]);
    assert_eq!(code, 0, "{err}");
    let gone = client
        .get(format!("{}/v1/jobs/{id}", daemon.url))
        .send()
        .await?;
    assert_eq!(gone.status(), 404);
    let (code, _, err) = tenax(&["dlq", "delete", &id, "--api", &daemon.addr]);
    assert_ne!(code, 0, "a second delete finds nothing");
    assert!(err.contains("not"), "{err}");
    let (code, _, _) = tenax(&["job", "cancel", "999999", "--api", &daemon.addr]);
    assert_ne!(code, 0, "an unknown job cannot be cancelled");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_list_pages_through_one_state_online_and_offline() -> Result<()> {
    let daemon = Daemon::start("[http]\nallowed_bases = [\"http://127.0.0.1:9/\"]\n");
    let client = support::api_client();
    let mut ids = Vec::new();
    for n in 0..3 {
        let job = json!({ "kind": "http", "delay": format!("{}h", n + 1), "payload": { "url": "http://127.0.0.1:9/x" } });
        ids.push(enqueue(&client, &daemon, job).await?);
    }
    let list = |extra: &[&str]| {
        let mut args = vec![
            "job", "list", "--state", "waiting", "--limit", "2", "--json",
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = tenax(&args);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<Value>(&out).expect("JSON")
    };
    let ids_of = |page: &Value| -> Vec<u64> {
        page["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .filter_map(|j| j["id"].as_u64())
            .collect()
    };
    let first = list(&["--api", &daemon.addr]);
    let next = first["next"].as_str().expect("a second page").to_owned();
    let second = list(&["--api", &daemon.addr, "--cursor", &next]);
    assert!(second["next"].is_null(), "two pages hold three jobs");
    assert_eq!([ids_of(&first), ids_of(&second)].concat(), ids, "due order");
    let none = list(&["--api", &daemon.addr, "--kind", "other"]);
    assert!(ids_of(&none).is_empty());

    let (code, out, _) = tenax(&["job", "list", "--state", "waiting", "--api", &daemon.addr]);
    assert_eq!(code, 0);
    assert!(out.contains("state"), "a header: {out}");
    assert!(out.contains(&format!("{:>8}  waiting", ids[2])), "{out}");
    let refused = client
        .get(format!("{}/v1/jobs?state=sleeping", daemon.url))
        .send()
        .await?;
    assert_eq!(refused.status(), 400);

    let config = daemon.config.to_str().expect("utf-8").to_owned();
    assert!(daemon.terminate().success());
    let (code, out, err) = tenax(&[
        "job", "list", "--state", "waiting", "--json", "--config", &config,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("reading"), "offline: {err}");
    assert_eq!(
        ids_of(&serde_json::from_str(&out)?).len(),
        3,
        "offline: {out}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_says_what_requeue_and_purge_would_change_and_changes_nothing() -> Result<()> {
    let daemon = Daemon::start("[http]\nallowed_bases = [\"http://127.0.0.1:9/\"]\n");
    let client = support::api_client();
    let mut ids = Vec::new();
    for _ in 0..12 {
        let job =
            json!({ "kind": "http", "delay": "1h", "payload": { "url": "http://127.0.0.1:9/x" } });
        let id = enqueue(&client, &daemon, job).await?.to_string();
        let (code, _, err) = tenax(&["job", "cancel", &id, "--api", &daemon.addr]);
        assert_eq!(code, 0, "{err}");
        ids.push(id);
    }
    let dead = |stats: &Value| stats["total"]["dead"].clone();
    assert_eq!(dead(&daemon.stats(&client).await), 12);

    let (code, out, err) = tenax(&[
        "dlq",
        "requeue",
        "--class",
        "cancelled",
        "--dry-run",
        "--api",
        &daemon.addr,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("would requeue 12 dead job(s)"), "{out}");
    let first: Vec<&str> = ids.iter().take(10).map(String::as_str).collect();
    assert!(
        out.contains(&format!("first: {}, ...", first.join(", "))),
        "{out}"
    );
    let (code, out, err) = tenax(&[
        "dlq",
        "requeue",
        "--all",
        "--dry-run",
        "--api",
        &daemon.addr,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("would requeue 12"), "{out}");
    let (code, out, err) = tenax(&[
        "dlq",
        "purge",
        "--older-than",
        "0s",
        "--dry-run",
        "--api",
        &daemon.addr,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("would purge 12 dead job(s)"), "{out}");
    let (code, out, _) = tenax(&[
        "dlq",
        "purge",
        "--older-than",
        "1d",
        "--dry-run",
        "--api",
        &daemon.addr,
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("would purge 0 dead job(s)"), "{out}");
    assert_eq!(
        dead(&daemon.stats(&client).await),
        12,
        "a dry run changes nothing"
    );

    let (code, out, _) = tenax(&["dlq", "purge", "--older-than", "0s", "--api", &daemon.addr]);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&out)?["purged"], 12);
    Ok(())
}
