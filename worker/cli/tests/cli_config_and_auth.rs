//! Configuration errors, token enforcement, offline policy checks and exit codes.

mod support;

use anyhow::Result;
use support::daemon::{Daemon, TENAX, tenax};

#[test]
fn an_unknown_config_key_is_rejected_with_its_line() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("tenax.toml");
    std::fs::write(&config, "data_dir = \"./d\"\n\n[worker]\nconcurency = 8\n")?;
    let (code, _, err) = tenax(&["run", "--config", config.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("concurency"), "{err}");
    assert!(
        err.contains("line 4") || err.contains(":4:"),
        "names the line: {err}"
    );
    assert!(err.contains("concurrency"), "suggests the right key: {err}");
    Ok(())
}

/// A config with the API on 0.0.0.0 and no token: (its directory, file, data directory).
fn exposed_config() -> Result<(tempfile::TempDir, std::path::PathBuf, std::path::PathBuf)> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("tenax.toml");
    let data = dir.path().join("data");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[api]\naddr = \"0.0.0.0:0\"\n",
            data.display().to_string()
        ),
    )?;
    Ok((dir, config, data))
}

#[test]
fn a_non_loopback_api_needs_a_token() -> Result<()> {
    let (_dir, config, data) = exposed_config()?;
    let (code, _, err) = tenax(&["run", "--config", config.to_str().expect("utf-8")]);
    assert_eq!(code, 1);
    assert!(err.contains("`api.addr`") && err.contains("token"), "{err}");
    assert!(!data.exists(), "refused before touching the data directory");
    let (code, _, check) = tenax(&["config", "check", config.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "config check refuses what run refuses");
    assert!(check.contains("`api.addr`"), "{check}");
    Ok(())
}

/// `tenax run` with `--token`/`TENAX_API_TOKEN` set to something blank on a
/// non-loopback address: it must refuse to start, not serve an API that
/// `Authorization: Bearer ` opens. A daemon that starts anyway is killed and fails the test.
#[test]
fn an_empty_token_from_the_command_line_or_environment_is_refused() -> Result<()> {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let (_dir, config, data) = exposed_config()?;
    let config = config.to_str().expect("utf-8");
    let cases: [(&[&str], Option<&str>); 4] = [
        (&["--token", ""], None),
        (&["--token", "   "], None),
        (&[], Some("")),
        (&[], Some(" ")),
    ];
    for (flags, env) in cases {
        let mut command = Command::new(TENAX);
        command
            .args(["run", "--config", config])
            .args(flags)
            .env_remove("TENAX_API_ADDR")
            .env_remove("TENAX_API_TOKEN")
            .env_remove("TENAX_DATA_DIR")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(value) = env {
            command.env("TENAX_API_TOKEN", value);
        }
        let mut child = command.spawn()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                child.kill()?;
                child.wait()?;
                panic!("{flags:?} / env {env:?}: the daemon started with a blank token");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)?;
        assert_eq!(status.code(), Some(1), "{flags:?} / env {env:?}: {err}");
        assert!(err.contains("token"), "{flags:?} / env {env:?}: {err}");
        assert!(!data.exists(), "refused before touching the data directory");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_every_request_needs_it() -> Result<()> {
    let daemon = Daemon::start("[api]\naddr = \"0.0.0.0:0\"\ntoken = \"s3cret-token\"\n");
    let url = daemon.url.replace("0.0.0.0", "127.0.0.1");
    let client = support::api_client();
    let none = client.get(format!("{url}/v1/stats")).send().await?;
    assert_eq!(none.status().as_u16(), 401);
    let wrong = client
        .get(format!("{url}/v1/stats"))
        .bearer_auth("s3cret-tokem")
        .send()
        .await?;
    assert_eq!(wrong.status().as_u16(), 401);
    let right = client
        .get(format!("{url}/v1/stats"))
        .bearer_auth("s3cret-token")
        .send()
        .await?;
    assert_eq!(right.status().as_u16(), 200);
    let health = client.get(format!("{url}/healthz")).send().await?;
    assert_eq!(health.status().as_u16(), 200, "health checks need no token");
    let addr = daemon.addr.replace("0.0.0.0", "127.0.0.1");
    let (code, _, err) = tenax(&["stats", "--api", &addr]);
    assert_eq!(code, 1, "the CLI without the token is refused");
    assert!(err.contains("401") || err.contains("Bearer"), "{err}");
    let (code, _, err) = tenax(&["stats", "--api", &addr, "--token", "s3cret-token"]);
    assert_eq!(code, 0, "{err}");
    Ok(())
}

#[test]
fn policy_check_works_offline_and_fails_on_a_bad_script() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let good = dir.path().join("good.rhai");
    std::fs::write(&good, "#{ classes: #{ transient: #{ max_retries: 3 } } }")?;
    let (code, out, _) = tenax(&["policy", "check", good.to_str().expect("utf-8")]);
    assert_eq!(code, 0);
    assert!(out.contains("transient"), "{out}");
    let bad = dir.path().join("bad.rhai");
    std::fs::write(
        &bad,
        "#{\n  classes: #{ transient: #{ max_retries: \"many\" } }\n}",
    )?;
    let (code, _, err) = tenax(&["policy", "check", bad.to_str().expect("utf-8")]);
    assert_eq!(code, 1);
    assert!(err.contains("bad.rhai:2"), "file and line: {err}");
    Ok(())
}

#[test]
fn config_defaults_print_a_valid_commented_configuration_and_usage_errors_exit_2() -> Result<()> {
    let (code, out, _) = tenax(&["config", "defaults"]);
    assert_eq!(code, 0);
    assert!(out.contains("# "), "commented");
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("defaults.toml");
    std::fs::write(&file, &out)?;
    let (code, printed, err) = tenax(&["config", "check", file.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "the printed defaults load: {err}");
    // `config check` prints the effective configuration in the same form, after a
    // comment saying the file is valid.
    let (first, effective) = printed.split_once('\n').expect("more than one line");
    assert!(
        first.starts_with("# ") && first.contains("is valid"),
        "{first}"
    );
    assert_eq!(effective, out);
    let status = std::process::Command::new(TENAX)
        .arg("frobnicate")
        .output()?
        .status;
    assert_eq!(status.code(), Some(2));
    let (code, out, _) = tenax(&["dlq", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("requeue"), "{out}");
    Ok(())
}

#[test]
fn the_cli_says_when_no_daemon_answers() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("tenax.toml");
    let data = dir.path().join("nothing-here");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[api]\naddr = \"127.0.0.1:9\"\n",
            data.display().to_string()
        ),
    )?;
    let (code, _, err) = tenax(&["dlq", "list", "--config", config.to_str().expect("utf-8")]);
    assert_eq!(code, 1);
    assert!(err.contains("no tenax daemon answers"), "{err}");
    Ok(())
}

#[test]
fn when_the_daemon_holds_the_data_but_its_api_is_unreachable_the_cli_says_so() {
    let daemon = Daemon::start("");
    let config = daemon.config.to_str().expect("utf-8").to_owned();
    let (code, _, err) = tenax(&["stats", "--config", &config, "--api", "127.0.0.1:9"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("holds") && err.contains("does not answer"),
        "{err}"
    );
    let (code, out, err) = tenax(&["stats", "--config", &config, "--api", &daemon.addr]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("queue"), "{out}");
}
