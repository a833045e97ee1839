//! An application built with `tenax::Daemon::builder` gets the whole daemon around its
//! handlers: its configuration section parsed strictly, its kind enqueued over the API
//! and the CLI and run, its handler's classes deciding retries and dead letters, its
//! health probe asked by the breaker, and `config check` on it.
//!
//! This binary is the application too: see `support/app.rs`.

mod support;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, ensure};
use serde_json::{Value, json};

use support::app::{self, KIND, MockDownstream};
use support::daemon::{Daemon, Launch, eventually, run_program};
use support::harness::{self, block_on};

const TOKEN: &str = "app-token-5f1c9e";

fn main() -> ExitCode {
    if let Some(code) = app::serve_if_child() {
        return code;
    }
    harness::run(&[
        (
            "the_application_section_is_parsed_strictly_with_lines_and_suggestions",
            the_application_section_is_parsed_strictly_with_lines_and_suggestions,
        ),
        (
            "an_application_kind_runs_through_the_api_and_the_cli_and_its_classes_decide",
            an_application_kind_runs_through_the_api_and_the_cli_and_its_classes_decide,
        ),
        (
            "the_breaker_asks_the_applications_health_probe_before_a_probe_job",
            the_breaker_asks_the_applications_health_probe_before_a_probe_job,
        ),
        (
            "schedules_and_timeouts_know_the_applications_kinds",
            schedules_and_timeouts_know_the_applications_kinds,
        ),
    ])
}

/// Runs the application's command line with `APP_TOKEN` set.
fn cli(args: &[&str]) -> (i32, String, String) {
    let (program, _) = app::program();
    let (key, value) = app::child_env();
    run_program(
        &program,
        args,
        None,
        &[(&key, &value), ("APP_TOKEN", TOKEN)],
    )
}

/// `config check` of `text` (written to a file); (exit code, stdout, stderr).
fn check(text: &str) -> Result<(i32, String, String)> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("app.toml");
    std::fs::write(&file, text)?;
    Ok(cli(&["config", "check", &file.display().to_string()]))
}

/// Starts the application's daemon with `extra` TOML, `APP_TOKEN` set.
fn start(extra: &str) -> Daemon {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let launch = Launch {
        rust_log: Some("info,fjall=warn,lsm_tree=warn".into()),
        env: vec![app::child_env(), ("APP_TOKEN".into(), TOKEN.into())],
        program: Some(app::program()),
        ..Launch::default()
    };
    Daemon::launch(dir, &data, extra, &launch)
}

fn section(downstream: &str) -> String {
    format!("[app]\ndownstream = \"{downstream}\"\ntoken = {{ env = \"APP_TOKEN\" }}\n")
}

fn the_application_section_is_parsed_strictly_with_lines_and_suggestions() -> Result<()> {
    let good = section("http://127.0.0.1:9");
    let (code, out, err) = check(&good)?;
    ensure!(code == 0, "a valid file: {err}");
    ensure!(out.contains("[app]"), "the section is printed: {out}");
    ensure!(
        out.contains("token = { env = \"APP_TOKEN\" }"),
        "the secret's source is printed: {out}"
    );
    ensure!(!out.contains(TOKEN) && !err.contains(TOKEN), "{out}{err}");

    let cases = [
        (
            format!("{good}downstreem = \"x\"\n"),
            "app.toml:4:1: unknown key `app.downstreem`; did you mean `app.downstream`?",
        ),
        (
            good.replace("[app]", "[aap]"),
            "app.toml:1:2: unknown key `aap`; did you mean `app`?",
        ),
        (
            String::new(),
            "`app` is a required section of this application ([app]): missing field `downstream`",
        ),
        (
            good.replace("{ env = \"APP_TOKEN\" }", "\"app-token-5f1c9e\""),
            "app.toml:3:1: `app.token` is invalid: is a secret, and a secret is not written",
        ),
        (
            good.replace("APP_TOKEN", "APP_TOKEN_UNSET"),
            "app.toml:3:1: `app.token` is invalid: the environment variable `APP_TOKEN_UNSET` is not set",
        ),
        (
            format!("{good}label = 7\n"),
            "app.toml:4:1: `app.label` is invalid",
        ),
    ];
    for (text, expected) in cases {
        let (code, _, err) = check(&text)?;
        ensure!(code == 1, "refused: {text}");
        ensure!(err.contains(expected), "expected {expected:?} in {err:?}");
        ensure!(!err.contains(TOKEN), "{err}");
    }

    // `run` reads the file through the same path.
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("app.toml");
    std::fs::write(&file, format!("{good}downstreem = \"x\"\n"))?;
    let (code, _, err) = cli(&["run", "--config", &file.display().to_string()]);
    ensure!(
        code == 1 && err.contains("did you mean `app.downstream`"),
        "{err}"
    );

    let (code, out, _) = cli(&["--help"]);
    ensure!(code == 0, "help");
    ensure!(
        out.contains("A test application hosted by tenax") && out.contains("host-app"),
        "{out}"
    );
    let (code, out, _) = cli(&["--version"]);
    ensure!(code == 0 && out.contains("host-app 9.9.9"), "{out}");
    let (code, out, _) = cli(&["config", "defaults"]);
    ensure!(
        code == 0 && out.contains("[app]: the application's own section"),
        "{out}"
    );
    Ok(())
}

async fn post(client: &reqwest::Client, daemon: &Daemon, body: Value) -> Result<(u16, Value)> {
    let response = client
        .post(format!("{}/v1/jobs", daemon.url))
        .json(&body)
        .send()
        .await?;
    Ok((response.status().as_u16(), response.json().await?))
}

async fn job(client: &reqwest::Client, daemon: &Daemon, id: &Value) -> Result<Value> {
    Ok(client
        .get(format!("{}/v1/jobs/{id}", daemon.url))
        .send()
        .await?
        .json()
        .await?)
}

fn an_application_kind_runs_through_the_api_and_the_cli_and_its_classes_decide() -> Result<()> {
    block_on(async {
        let downstream = MockDownstream::start().await;
        let mut daemon = start(&section(&downstream.base));
        let client = support::api_client();

        let (status, ok) = post(
            &client,
            &daemon,
            json!({"kind": KIND, "payload": {"item": "one"}}),
        )
        .await?;
        ensure!(status == 201, "{ok}");
        eventually(Duration::from_secs(20), async || {
            (!downstream.seen_at("/items/one").is_empty()).then_some(())
        })
        .await;
        let seen = downstream.seen_at("/items/one");
        ensure!(
            seen[0].app_token.as_deref() == Some(TOKEN),
            "the handler got its section's secret: {seen:?}"
        );

        // The handler's `validate` guards the door; an unknown kind names the kinds.
        let (status, refused) = post(
            &client,
            &daemon,
            json!({"kind": KIND, "payload": {"name": "x"}}),
        )
        .await?;
        ensure!(
            status == 422 && refused["error"]["code"] == "refused",
            "{refused}"
        );
        ensure!(
            refused["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("\"item\""),
            "{refused}"
        );
        let (status, unknown) =
            post(&client, &daemon, json!({"kind": "items", "payload": {}})).await?;
        ensure!(
            status == 422 && unknown["error"]["code"] == "unknown_kind",
            "{unknown}"
        );
        ensure!(
            unknown["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("http, item-sync"),
            "{unknown}"
        );

        // 401: permanent, dead after one attempt. 404: not_found, retried.
        let (_, gone) = post(
            &client,
            &daemon,
            json!({"kind": KIND, "payload": {"item": "gone"}}),
        )
        .await?;
        let (_, later) = post(
            &client,
            &daemon,
            json!({"kind": KIND, "payload": {"item": "later"}}),
        )
        .await?;
        let dead = eventually(Duration::from_secs(20), async || {
            let j = job(&client, &daemon, &gone["id"]).await.ok()?;
            (j["state"] == "dead").then_some(j)
        })
        .await;
        ensure!(dead["last_error"]["class"] == "permanent", "{dead}");
        ensure!(
            dead["attempts"].as_array().map(Vec::len) == Some(1),
            "one attempt: {dead}"
        );
        let retrying = eventually(Duration::from_secs(20), async || {
            let j = job(&client, &daemon, &later["id"]).await.ok()?;
            (j["last_error"]["class"] == "not_found").then_some(j)
        })
        .await;
        ensure!(
            retrying["state"] != "dead",
            "not_found is retried: {retrying}"
        );

        // The CLI enqueues the application's kind too.
        let (code, out, err) = cli(&["enqueue", KIND, r#"{"item": "two"}"#, "--api", &daemon.addr]);
        ensure!(code == 0, "{out}{err}");
        eventually(Duration::from_secs(20), async || {
            (!downstream.seen_at("/items/two").is_empty()).then_some(())
        })
        .await;
        let stats = eventually(Duration::from_secs(20), async || {
            let s = daemon.stats(&client).await;
            (s["queues"]["default"]["completed"] == 2).then_some(s)
        })
        .await;
        ensure!(stats["queues"]["default"]["dead"] == 1, "{stats}");
        ensure!(daemon.stop().success(), "a clean stop");
        Ok(())
    })
}

fn the_breaker_asks_the_applications_health_probe_before_a_probe_job() -> Result<()> {
    block_on(async {
        let downstream = MockDownstream::start().await;
        downstream.set_down(true);
        let dir = tempfile::tempdir()?;
        let policy = dir.path().join("policy.rhai");
        std::fs::write(
            &policy,
            r#"#{
                classes: #{ unavailable: #{ base: "100ms", cap: "100ms", jitter: 0.0 } },
                breaker: #{ failure_threshold: 1, recovery_timeout: "1s" },
            }"#,
        )?;
        let extra = format!(
            "policy_file = {:?}\n{}",
            policy.display().to_string(),
            section(&downstream.base)
        );
        let mut daemon = start(&extra);
        let client = support::api_client();
        let (_, accepted) = post(
            &client,
            &daemon,
            json!({"kind": KIND, "payload": {"item": "x"}}),
        )
        .await?;

        // The first attempt fails with 503 (`unavailable`) and opens the breaker; each
        // recovery timeout then asks the probe, which fails: the job waits untouched.
        eventually(Duration::from_secs(20), async || {
            (downstream.seen_at("/health").len() >= 2).then_some(())
        })
        .await;
        ensure!(
            downstream.seen_at("/items/x").len() == 1,
            "no attempt while the probe fails: {:?}",
            downstream.seen()
        );
        let breaker: Value = client
            .get(format!("{}/v1/breaker", daemon.url))
            .send()
            .await?
            .json()
            .await?;
        ensure!(breaker["state"] != "closed", "{breaker}");
        ensure!(
            downstream
                .seen_at("/health")
                .iter()
                .all(|s| s.app_token.as_deref() == Some(TOKEN)),
            "the probe is the application's own"
        );

        downstream.set_down(false);
        eventually(Duration::from_secs(20), async || {
            let s = daemon.stats(&client).await;
            (s["queues"]["default"]["completed"] == 1).then_some(())
        })
        .await;
        let shown = job(&client, &daemon, &accepted["id"]).await?;
        ensure!(
            downstream.seen_at("/items/x").len() == 2,
            "{:?}",
            downstream.seen()
        );
        let breaker: Value = client
            .get(format!("{}/v1/breaker", daemon.url))
            .send()
            .await?
            .json()
            .await?;
        ensure!(breaker["state"] == "closed", "{breaker} {shown}");
        ensure!(daemon.stop().success(), "a clean stop");
        Ok(())
    })
}

fn schedules_and_timeouts_know_the_applications_kinds() -> Result<()> {
    let good = section("http://127.0.0.1:9");
    let schedule = |kind: &str, payload: &str| {
        format!(
            "[worker.timeouts]\n\"{KIND}\" = \"5s\"\n\n[[schedules]]\nname = \"sweep\"\nevery = \"1h\"\nkind = \"{kind}\"\npayload = {payload}\n\n{good}"
        )
    };
    let (code, _, err) = check(&schedule(KIND, "{ item = \"all\" }"))?;
    ensure!(code == 0, "{err}");
    let (code, _, err) = check(&schedule("itme-sync", "{ item = \"all\" }"))?;
    ensure!(code == 1, "an unknown kind");
    ensure!(
        err.contains("`schedules[0].kind` is \"itme-sync\"; this daemon runs jobs of kind \"http\", \"item-sync\""),
        "{err}"
    );

    // The handler checks a schedule's payload when the daemon starts.
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("app.toml");
    std::fs::write(
        &file,
        format!(
            "data_dir = {:?}\n{}",
            dir.path().join("data").display().to_string(),
            schedule(KIND, "{ name = \"all\" }")
        ),
    )?;
    let (code, _, err) = cli(&["run", "--config", &file.display().to_string()]);
    ensure!(code == 1, "refused at start");
    ensure!(
        err.contains("schedule `sweep`: its payload") && err.contains("{\"item\": \"NAME\"}"),
        "{err}"
    );
    Ok(())
}
