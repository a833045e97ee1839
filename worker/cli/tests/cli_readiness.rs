//! `/readyz` and `tenax health`: ready only while the store takes writes, the worker
//! loop runs and a policy is loaded; `/healthz` and `tenax health` only say the daemon
//! answers.

mod support;

use std::time::Duration;

use anyhow::Result;
use axum::Router;
use serde_json::{Value, json};
use support::daemon::{Daemon, eventually, tenax};

async fn readyz(client: &reqwest::Client, daemon: &Daemon) -> Result<(u16, Value)> {
    let r = client.get(format!("{}/readyz", daemon.url)).send().await?;
    Ok((r.status().as_u16(), r.json().await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_daemon_is_ready_without_a_token_and_health_exits_zero() -> Result<()> {
    let daemon =
        Daemon::start("[api]\naddr = \"127.0.0.1:0\"\ntoken = \"a-long-enough-token-for-tests\"\n");
    let client = support::api_client();
    let (status, body) = readyz(&client, &daemon).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["store"]["ok"], true);
    assert_eq!(body["worker"]["ok"], true);
    assert_eq!(body["policy"]["version"], 1);
    assert_eq!(body["reasons"], json!([]));

    for args in [&["health"][..], &["health", "--ready"]] {
        let mut args = args.to_vec();
        args.extend(["--api", &daemon.addr]);
        let (code, out, err) = tenax(&args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.contains("ok") || out.contains("ready"), "{out}");
    }
    let addr = daemon.addr.clone();
    daemon.terminate();
    let (code, _, err) = tenax(&["health", "--api", &addr]);
    assert_eq!(code, 1, "no daemon: {err}");
    assert!(err.contains("no tenax daemon answers"), "{err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_below_its_free_space_reserve_is_alive_but_not_ready() -> Result<()> {
    // A reserve no disk has: enqueues would be refused, so the daemon is not ready.
    let daemon = Daemon::start("[store]\nmin_free_space = 1152921504606846976\n");
    let client = support::api_client();
    let (status, body) = readyz(&client, &daemon).await?;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["store"]["ok"], false);
    assert_eq!(body["worker"]["ok"], true);
    let reason = body["reasons"][0].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("store: ") && reason.contains("reserve"),
        "{body}"
    );

    let (code, _, err) = tenax(&["health", "--ready", "--api", &daemon.addr]);
    assert_eq!(code, 1, "not ready: {err}");
    assert!(err.contains("reserve"), "says why: {err}");
    let (code, _, err) = tenax(&["health", "--api", &daemon.addr]);
    assert_eq!(code, 0, "still alive: {err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_draining_at_shutdown_is_not_ready() -> Result<()> {
    // A downstream that never answers keeps one job running through the grace period.
    let (started_tx, started_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let router = Router::new().fallback(move || {
        let started = started_tx.clone();
        async move {
            let _ = started.send(());
            std::future::pending::<()>().await;
        }
    });
    let base = support::serve(router).await;
    let daemon = Daemon::start(&format!(
        "[http]\nallowed_bases = [\"{base}\"]\n[worker]\nshutdown_grace = \"1h\"\n"
    ));
    let client = support::api_client();
    let r = client
        .post(format!("{}/v1/jobs", daemon.url))
        .json(&json!({ "kind": "http", "payload": { "url": format!("{base}/slow"), "timeout": "4m" } }))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 201);
    let mut started_rx = started_rx;
    tokio::time::timeout(Duration::from_secs(10), started_rx.recv()).await?;
    assert_eq!(readyz(&client, &daemon).await?.0, 200);

    daemon.signal("TERM");
    let body = eventually(Duration::from_secs(10), async || {
        let (status, body) = readyz(&client, &daemon).await.ok()?;
        (status == 503).then_some(body)
    })
    .await;
    assert_eq!(body["worker"]["ok"], false);
    assert_eq!(body["worker"]["reason"], "shutting down");
    let health = client.get(format!("{}/healthz", daemon.url)).send().await?;
    assert_eq!(health.status().as_u16(), 200, "alive while it drains");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_token_readyz_gives_generic_reasons_and_with_it_the_details() -> Result<()> {
    const TOKEN: &str = "a-long-enough-token-for-tests";
    let dir = tempfile::tempdir()?;
    let policy = dir.path().join("policy.rhai");
    std::fs::write(
        &policy,
        r#"#{ classes: #{ transient: #{ base: "50ms", cap: "100ms", max_retries: 2, jitter: 0.0, breaker: false } } }"#,
    )?;
    let data = dir.path().join("data");
    let extra = format!(
        "policy_file = {:?}\n[store]\nmin_free_space = 1152921504606846976\n\
         [api]\naddr = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\n",
        policy.display().to_string()
    );
    let daemon = Daemon::start_at(dir, &data, &extra);
    // A rejected reload: the policy's last error quotes the script.
    std::fs::write(&policy, "#{ classes: #{ transient: #{ bsae: \"1s\" } } }")?;
    daemon.signal("HUP");
    let client = support::api_client();
    let url = format!("{}/readyz", daemon.url);
    let detailed = eventually(Duration::from_secs(15), async || {
        let r = client.get(&url).bearer_auth(TOKEN).send().await.ok()?;
        let body: Value = r.json().await.ok()?;
        body["policy"]["last_error"].is_string().then_some(body)
    })
    .await;
    let data_dir = data.display().to_string();
    assert!(
        detailed["policy"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("bsae")),
        "{detailed}"
    );
    let reason = detailed["store"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("reserve"), "{detailed}");

    for token in [None, Some("not-the-token")] {
        let mut request = client.get(&url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let r = request.send().await?;
        assert_eq!(r.status(), 503);
        let text = r.text().await?;
        let body: Value = serde_json::from_str(&text)?;
        assert_eq!(body["store"]["reason"], "not writable", "{token:?}: {body}");
        assert_eq!(body["reasons"], json!(["store: not writable"]), "{body}");
        assert!(body["policy"].get("last_error").is_none(), "{body}");
        assert!(
            !text.contains(&data_dir) && !text.contains("bsae") && !text.contains("reserve"),
            "{token:?}: {text}"
        );
    }
    Ok(())
}
