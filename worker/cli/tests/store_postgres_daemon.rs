//! `tenax run` on PostgreSQL as users meet it: configured with `[store] backend =
//! "postgres"`, enqueue over the API, delivery, stats, a restart that keeps the jobs,
//! `tenax config check` (no password printed), and the CLI reading the schema directly
//! when no daemon answers. Skipped without a server.

mod support;

use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use support::daemon::{Daemon, eventually, tenax};
use support::downstream::Downstream;
use tenax_postgres::testing::{TestSchema, TestServer};

fn store(schema: &TestSchema, node: &str) -> String {
    format!(
        "[store]\nbackend = \"postgres\"\nurl = {:?}\nschema = {:?}\nnode = {node:?}\n\
         password = {{ env = \"TENAX_TEST_PG_PASSWORD\" }}\n",
        schema.url(),
        schema.name()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_runs_on_postgres_and_the_cli_reads_it_offline() -> Result<()> {
    let Some(server) = TestServer::find_or_skip("daemon on PostgreSQL") else {
        return Ok(());
    };
    let schema = server.schema();
    let downstream = Downstream::start().await;
    let extra = format!(
        "{}[http]\nallowed_bases = [\"{}\"]\n",
        store(&schema, "d1"),
        downstream.base
    );
    // Trust authentication ignores the password; that it is read from the variable, and
    // refused when the variable is missing, is the point.
    let launch = support::daemon::Launch {
        env: vec![(
            "TENAX_TEST_PG_PASSWORD".into(),
            "not-printed-anywhere".into(),
        )],
        keep_output: true,
        ..support::daemon::Launch::default()
    };
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let daemon = Daemon::launch(tempfile::tempdir()?, &data, &extra, &launch);
    let client = support::api_client();

    let jobs: Vec<Value> = (0..20)
        .map(|i| json!({ "kind": "http", "payload": { "method": "POST", "url": format!("{}/deliver/{i}", downstream.base) } }))
        .collect();
    let r = client
        .post(format!("{}/v1/jobs", daemon.url))
        .json(&json!({ "jobs": jobs }))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await?);
    downstream.wait_for(20, Duration::from_secs(30)).await;
    let stats_url = format!("{}/v1/stats", daemon.url);
    let stats = eventually(Duration::from_secs(30), async || {
        let s: Value = client
            .get(&stats_url)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (s["total"]["completed"] == 20).then_some(s)
    })
    .await;
    assert_eq!(stats["total"]["enqueued"], 20);
    let ready = client.get(format!("{}/readyz", daemon.url)).send().await?;
    assert_eq!(ready.status().as_u16(), 200);

    // A delayed job survives a restart: the schema keeps it.
    let r = client
        .post(format!("{}/v1/jobs", daemon.url))
        .json(&json!({ "kind": "http", "delay": "1h", "payload": { "url": format!("{}/later", downstream.base) } }))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await?);
    let output = daemon.output().join("\n");
    assert!(!output.contains("not-printed-anywhere"), "{output}");
    assert!(
        output.contains("PostgreSQL"),
        "the log names the store: {output}"
    );
    let config = daemon.config.clone();
    let exit = daemon.terminate();
    assert!(exit.success(), "{exit:?}");

    // Offline: the CLI reads the schema (under a name of its own) when no daemon answers.
    let config = config.to_str().expect("utf-8 path");
    let stats = std::process::Command::new(support::daemon::TENAX)
        .args(["stats", "--config", config, "--json"])
        .env("TENAX_TEST_PG_PASSWORD", "not-printed-anywhere")
        .output()?;
    let (code, out, err) = (
        stats.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stats.stdout).into_owned(),
        String::from_utf8_lossy(&stats.stderr).into_owned(),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("reading PostgreSQL"), "{err}");
    let offline: Value = serde_json::from_str(&out)?;
    assert_eq!(offline["total"]["completed"], 20);
    assert_eq!(offline["total"]["waiting"], 1, "{offline}");

    // `config check` accepts the file and prints where the password comes from, not it.
    let (code, out, err) = tenax(&["config", "check", config]);
    assert_eq!(code, 1, "the password variable is not set here: {out}{err}");
    assert!(
        err.contains("`store.password`") && err.contains("TENAX_TEST_PG_PASSWORD"),
        "{err}"
    );
    let check = std::process::Command::new(support::daemon::TENAX)
        .args(["config", "check", config])
        .env("TENAX_TEST_PG_PASSWORD", "not-printed-anywhere")
        .output()?;
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{out}");
    assert!(
        out.contains("password = { env = \"TENAX_TEST_PG_PASSWORD\" }"),
        "{out}"
    );
    assert!(!out.contains("not-printed-anywhere"), "{out}");
    Ok(())
}

#[test]
fn an_unreachable_server_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("tenax.toml");
    std::fs::write(
        &config,
        "[store]\nbackend = \"postgres\"\nurl = \"postgresql://postgres@127.0.0.1:9/test\"\n\
         [api]\naddr = \"127.0.0.1:0\"\n",
    )
    .expect("write");
    let (code, out, err) = tenax(&["run", "--config", config.to_str().expect("utf-8")]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains("cannot connect to PostgreSQL at 127.0.0.1:9/test"),
        "{err}"
    );
}
