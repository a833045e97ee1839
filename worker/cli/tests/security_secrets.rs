//! Secrets stay out of jobs: a `[[http.targets]]` header and an application's
//! `Secret` reach their downstream, and appear nowhere else: not in the data
//! directory's files, any API answer, CLI output, or the logs at debug level, even when
//! the downstream echoes them back or the handler logs them. A job that sets a
//! target's header is refused, and a secret that cannot be read is a configuration
//! error naming its key and line.
//!
//! This binary is also the application of `support/app.rs`.

mod support;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, ensure};
use serde_json::{Value, json};

use support::app::{self, KIND, MockDownstream};
use support::daemon::{Daemon, Launch, eventually, run_program};
use support::harness::{self, block_on};

/// Distinct, greppable values.
const PLEX_TOKEN: &str = "plex-token-7a3e91d2";
const APP_TOKEN: &str = "app-token-c40b58f6";

fn main() -> ExitCode {
    if let Some(code) = app::serve_if_child() {
        return code;
    }
    harness::run(&[
        (
            "secrets_reach_their_downstream_and_appear_nowhere_else",
            secrets_reach_their_downstream_and_appear_nowhere_else,
        ),
        (
            "a_secret_that_cannot_be_read_is_a_configuration_error_at_its_key",
            a_secret_that_cannot_be_read_is_a_configuration_error_at_its_key,
        ),
    ])
}

/// The configuration: `/echo` allowed, a target for `/plex` with its token from the
/// environment, the
/// application's token from a file, and logs at debug level.
fn config(downstream: &str, token_file: &Path) -> String {
    format!(
        "[log]\nlevel = \"debug\"\n\n\
         [http]\nallowed_bases = [\"{downstream}/echo\"]\n\n\
         [[http.targets]]\nbase = \"{downstream}/plex\"\nheaders = {{ \"X-Plex-Token\" = {{ env = \"PLEX_TOKEN\" }} }}\n\n\
         [app]\ndownstream = \"{downstream}\"\ntoken = {{ file = {:?} }}\n",
        token_file.display().to_string()
    )
}

fn contains_secret(text: &str) -> bool {
    text.contains(PLEX_TOKEN) || text.contains(APP_TOKEN)
}

/// Runs the application's command line with the daemon's environment.
fn cli(args: &[&str]) -> (i32, String, String) {
    let (program, _) = app::program();
    let (key, value) = app::child_env();
    run_program(
        &program,
        args,
        None,
        &[(&key, &value), ("PLEX_TOKEN", PLEX_TOKEN)],
    )
}

/// Every API answer and CLI output seen, checked for secrets at the end.
#[derive(Default)]
struct Shown(Vec<String>);

impl Shown {
    async fn get(&mut self, client: &reqwest::Client, url: String) -> Result<Value> {
        let text = client.get(&url).send().await?.text().await?;
        self.0.push(format!("GET {url}: {text}"));
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Result<(u16, Value)> {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        self.0.push(text.clone());
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    fn cli(&mut self, args: &[&str]) -> (i32, String) {
        let (code, out, err) = cli(args);
        self.0.push(format!("{args:?}: {out}{err}"));
        (code, format!("{out}{err}"))
    }
}

fn secrets_reach_their_downstream_and_appear_nowhere_else() -> Result<()> {
    block_on(async {
        let downstream = MockDownstream::start().await;
        let dir = tempfile::tempdir()?;
        let token_file = dir.path().join("app-token");
        std::fs::write(&token_file, format!("{APP_TOKEN}\n"))?;
        let data = dir.path().join("data");
        let extra = config(&downstream.base, &token_file);
        let config_file = dir.path().join("tenax.toml");
        let launch = Launch {
            rust_log: Some("debug".into()),
            env: vec![app::child_env(), ("PLEX_TOKEN".into(), PLEX_TOKEN.into())],
            program: Some(app::program()),
            keep_output: true,
            ..Launch::default()
        };
        let mut daemon = Daemon::launch(dir, &data, &extra, &launch);
        let client = support::api_client();
        let mut shown = Shown::default();
        let jobs = format!("{}/v1/jobs", daemon.url);
        let base = &downstream.base;

        let mut ids = Vec::new();
        for body in [
            json!({"kind": "http", "payload": {"url": format!("{base}/plex/library/1"), "method": "PUT"}}),
            json!({"kind": "http", "payload": {"url": format!("{base}/plex/echo")}}),
            json!({"kind": "http", "payload": {"url": format!("{base}/echo")}}),
            json!({"kind": KIND, "payload": {"item": "synced"}}),
            json!({"kind": KIND, "payload": {"item": "echo"}}),
            json!({"kind": KIND, "payload": {"item": "gone"}}),
        ] {
            let (status, accepted) = shown.send(client.post(&jobs).json(&body)).await?;
            ensure!(status == 201, "{body}: {accepted}");
            ids.push(accepted["id"].clone());
        }

        // A job that sets the target's header itself: refused, naming the header only.
        let (status, refused) = shown
            .send(client.post(&jobs).json(&json!({"kind": "http", "payload": {
                "url": format!("{base}/plex/library/2"),
                "headers": { "x-plex-TOKEN": "a-value-of-its-own" },
            }})))
            .await?;
        ensure!(status == 422, "{refused}");
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        ensure!(
            message.contains("x-plex-TOKEN") && message.contains("/plex"),
            "{message}"
        );
        ensure!(!message.contains("a-value-of-its-own"), "{message}");

        // The credentials reached their downstreams: the checks below can fail.
        eventually(Duration::from_secs(30), async || {
            let echoes =
                downstream.seen_at("/plex/echo").len() + downstream.seen_at("/items/echo").len();
            let done = !downstream.seen_at("/plex/library/1").is_empty()
                && !downstream.seen_at("/items/synced").is_empty()
                && !downstream.seen_at("/items/gone").is_empty();
            (done && echoes >= 2).then_some(())
        })
        .await;
        ensure!(
            downstream.seen_at("/plex/library/1")[0]
                .plex_token
                .as_deref()
                == Some(PLEX_TOKEN),
            "the target's header was added"
        );
        ensure!(
            downstream
                .seen_at("/echo")
                .iter()
                .all(|s| s.plex_token.is_none()),
            "no header outside the target's base"
        );
        ensure!(
            downstream.seen_at("/items/synced")[0].app_token.as_deref() == Some(APP_TOKEN),
            "the application's secret was read from its file"
        );

        // Everything the API and the CLI show about these jobs.
        let url = &daemon.url;
        for id in &ids {
            let view = shown.get(&client, format!("{url}/v1/jobs/{id}")).await?;
            if view["payload"]["url"]
                .as_str()
                .is_some_and(|u| u.ends_with("/plex/echo"))
            {
                let message = view["last_error"]["message"].as_str().unwrap_or_default();
                ensure!(
                    message.contains("rejected token ***"),
                    "scrubbed echo: {view}"
                );
            }
            let id = id.to_string();
            shown.cli(&["job", "show", &id, "--api", &daemon.addr]);
            shown.cli(&["job", "show", &id, "--api", &daemon.addr, "--json"]);
        }
        let app_echo = shown
            .get(&client, format!("{url}/v1/jobs/{}", ids[4]))
            .await?;
        ensure!(
            app_echo["last_error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("rejected token ***"),
            "the application's echo is scrubbed: {app_echo}"
        );
        for path in [
            "/v1/jobs?state=retrying",
            "/v1/jobs?state=waiting",
            "/v1/jobs?state=dead",
            "/v1/dead",
            "/v1/stats",
            "/v1/breaker",
            "/v1/queues",
            "/v1/policy",
            "/v1/schedules",
            "/metrics",
            "/v1/openapi.json",
        ] {
            shown.get(&client, format!("{url}{path}")).await?;
        }
        shown
            .send(
                client
                    .post(format!("{url}/v1/dead/requeue"))
                    .json(&json!({"all": true, "dry_run": true})),
            )
            .await?;
        shown.cli(&["job", "list", "--state", "retrying", "--api", &daemon.addr]);
        shown.cli(&["dlq", "list", "--api", &daemon.addr]);
        shown.cli(&[
            "dlq",
            "requeue",
            "--all",
            "--dry-run",
            "--api",
            &daemon.addr,
        ]);
        shown.cli(&["stats", "--api", &daemon.addr]);
        let (code, printed) = shown.cli(&["config", "check", &daemon.config.display().to_string()]);
        ensure!(code == 0, "{printed}");
        ensure!(
            printed.contains("{ env = \"PLEX_TOKEN\" }") && printed.contains("token = { file = "),
            "config check shows where the secrets come from: {printed}"
        );

        ensure!(daemon.stop().success(), "a clean stop");
        let logs = daemon.output().join("\n");
        ensure!(logs.contains("DEBUG"), "the logs are at debug level");
        ensure!(
            logs.contains("X-App-Token: ***"),
            "the handler's careless debug line was logged, redacted"
        );
        ensure!(!contains_secret(&logs), "a secret in the logs");
        for text in &shown.0 {
            ensure!(!contains_secret(text), "a secret shown: {text}");
        }
        let _ = config_file;

        // Every file of the store, byte for byte, after the daemon stopped.
        let mut files = 0;
        for file in walk(&data)? {
            let bytes = std::fs::read(&file)?;
            for secret in [PLEX_TOKEN, APP_TOKEN] {
                ensure!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{secret} in {}",
                    file.display()
                );
            }
            files += 1;
        }
        ensure!(files > 0, "the data directory has files");
        // The payloads are in there: the search would find a string that is.
        let all: Vec<u8> = walk(&data)?
            .iter()
            .flat_map(|f| std::fs::read(f).unwrap_or_default())
            .collect();
        ensure!(
            all.windows(b"/plex/library/1".len())
                .any(|w| w == b"/plex/library/1"),
            "the jobs' payloads are stored where the search looked"
        );
        Ok(())
    })
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(next) = todo.pop() {
        for entry in std::fs::read_dir(&next)? {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    Ok(out)
}

fn a_secret_that_cannot_be_read_is_a_configuration_error_at_its_key() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("tenax.toml");
    let token_file = dir.path().join("app-token");
    std::fs::write(&token_file, APP_TOKEN)?;
    let good = config("http://127.0.0.1:9", &token_file);
    let cases = [
        (
            good.replace("PLEX_TOKEN", "PLEX_TOKEN_UNSET"),
            "tenax.toml:9:13: `http.targets[0].headers.X-Plex-Token` is invalid: the environment variable `PLEX_TOKEN_UNSET` is not set",
        ),
        (
            good.replace("app-token", "no-such-file"),
            "`app.token` is invalid: cannot read the secret file",
        ),
        (
            good.replace("{ env = \"PLEX_TOKEN\" }", "\"plex-token-7a3e91d2\""),
            "`http.targets[0].headers.X-Plex-Token` is invalid: is a secret, and a secret is not written",
        ),
        (
            format!("{good}\n[[http.targets]]\nbase = \"http://127.0.0.1:9/plex/\"\n"),
            "tenax.toml:16:1: `http.targets[1].base` \"http://127.0.0.1:9/plex/\" is the base of an earlier target",
        ),
        (
            good.replace("headers = {", "headres = {"),
            "unknown key `http.targets[0].headres`; did you mean `http.targets[0].headers`?",
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(&file, &text)?;
        let (code, out, err) = cli(&["config", "check", &file.display().to_string()]);
        ensure!(code == 1, "refused:\n{text}\n{out}{err}");
        ensure!(err.contains(expected), "expected {expected:?} in {err:?}");
        ensure!(!contains_secret(&format!("{out}{err}")), "{err}");
    }
    // `run` loads the file through the same path (a file it accepted would run on).
    std::fs::write(&file, good.replace("PLEX_TOKEN", "PLEX_TOKEN_UNSET"))?;
    let (code, _, err) = cli(&["run", "--config", &file.display().to_string()]);
    ensure!(
        code == 1 && err.contains("`PLEX_TOKEN_UNSET` is not set"),
        "{err}"
    );
    Ok(())
}
