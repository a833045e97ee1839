//! Every bounded configuration key, walked through both `tenax config check` and
//! `tenax run`: a value just inside its bound is accepted by both (`run` gets as far as
//! serving), a value just outside is refused by both, naming the key and its line, and
//! `run` refuses at start-up, before it opens the data directory.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Result, bail};
use support::daemon::{TENAX, tenax};

/// How long `tenax run` may take to start serving or to refuse.
const LIMIT: Duration = Duration::from_secs(30);

/// A key, a TOML fragment with a value just inside its bound, and one just outside.
struct Bound {
    key: &'static str,
    inside: String,
    outside: String,
}

fn bound(key: &'static str, inside: &str, outside: &str) -> Bound {
    Bound {
        key,
        inside: inside.to_owned(),
        outside: outside.to_owned(),
    }
}

fn bounds() -> Vec<Bound> {
    let queue = |n: usize| format!("[worker]\nqueue = \"{}\"\n", "q".repeat(n));
    vec![
        bound(
            "worker.concurrency",
            "[worker]\nconcurrency = 1\n",
            "[worker]\nconcurrency = 0\n",
        ),
        bound(
            "worker.concurrency",
            "[worker]\nconcurrency = 10000\n",
            "[worker]\nconcurrency = 10001\n",
        ),
        Bound {
            key: "worker.queue",
            inside: queue(200),
            outside: queue(201),
        },
        Bound {
            key: "worker.queue",
            inside: queue(1),
            outside: queue(0),
        },
        bound(
            "worker.shutdown_grace",
            "[worker]\nshutdown_grace = \"1h\"\n",
            "[worker]\nshutdown_grace = 3600001\n",
        ),
        bound(
            "worker.job_timeout",
            "[worker]\njob_timeout = 1\n",
            "[worker]\njob_timeout = 0\n",
        ),
        bound(
            "worker.timeouts.http",
            "[worker.timeouts]\nhttp = \"1ms\"\n",
            "[worker.timeouts]\nhttp = 0\n",
        ),
        bound(
            "http.default_timeout",
            "[http]\ndefault_timeout = 1\n",
            "[http]\ndefault_timeout = 0\n",
        ),
        bound(
            "http.connect_timeout",
            "[http]\nconnect_timeout = 1\n",
            "[http]\nconnect_timeout = 0\n",
        ),
        bound(
            "http.max_timeout",
            "[http]\ndefault_timeout = \"30s\"\nmax_timeout = 30000\n",
            "[http]\ndefault_timeout = \"30s\"\nmax_timeout = 29999\n",
        ),
        bound(
            "http.allowed_bases",
            "[http]\nallowed_bases = [\"https://example.com/hooks/\"]\n",
            "[http]\nallowed_bases = [\"ftp://example.com/hooks/\"]\n",
        ),
        bound(
            "store.flush_interval",
            "[store]\nflush_interval = 1\n",
            "[store]\nflush_interval = 0\n",
        ),
        bound(
            "store.flush_interval",
            "[store]\nflush_interval = \"1h\"\n",
            "[store]\nflush_interval = 3600001\n",
        ),
        bound(
            "store.crash_limit",
            "[store]\ncrash_limit = 1\n",
            "[store]\ncrash_limit = 0\n",
        ),
        bound(
            "store.crash_limit",
            "[store]\ncrash_limit = 100\n",
            "[store]\ncrash_limit = 101\n",
        ),
        bound(
            "api.body_limit",
            "body_limit = 1024\n",
            "body_limit = 1023\n",
        ),
        bound("api.token", "token = \"t\"\n", "token = \" \"\n"),
        bound(
            "api.addr",
            "addr = \"127.0.0.1:0\"\n",
            "addr = \"0.0.0.0:0\"\n",
        ),
        bound(
            "log.level",
            "[log]\nlevel = \"debug\"\n",
            "[log]\nlevel = \"[[[\"\n",
        ),
    ]
}

/// A configuration file in a fresh directory: the data directory (which must not
/// exist yet), `fragment`, and a loopback API on a free port unless the fragment is
/// part of `[api]`.
fn write_config(dir: &Path, key: &str, fragment: &str) -> Result<(std::path::PathBuf, String)> {
    let data = dir.join("data");
    let api = if key.starts_with("api.") {
        format!("[api]\n{fragment}")
    } else {
        format!("[api]\naddr = \"127.0.0.1:0\"\n{fragment}")
    };
    let api = if api.contains("addr =") {
        api
    } else {
        api.replacen("[api]\n", "[api]\naddr = \"127.0.0.1:0\"\n", 1)
    };
    let text = format!("data_dir = {:?}\n{api}", data.display().to_string());
    let file = dir.join("tenax.toml");
    std::fs::write(&file, &text)?;
    Ok((file, text))
}

/// `file:line:` of the line holding `key`'s last part.
fn position(text: &str, key: &str) -> String {
    let leaf = key.rsplit('.').next().unwrap_or(key);
    let line = text
        .lines()
        .position(|l| l.starts_with(&format!("{leaf} =")))
        .map_or(0, |i| i + 1);
    format!("tenax.toml:{line}:")
}

/// Starts `tenax run --config file`; its stderr lines arrive on the channel, which
/// disconnects when the process closes stderr (at exit).
fn spawn_run(file: &Path, env: &[(&str, &str)]) -> Result<(Child, mpsc::Receiver<String>)> {
    let mut child = Command::new(TENAX)
        .args(["run", "--config"])
        .arg(file)
        .env("RUST_LOG", "info,fjall=warn,lsm_tree=warn")
        .env_remove("TENAX_API_ADDR")
        .env_remove("TENAX_API_TOKEN")
        .env_remove("TENAX_DATA_DIR")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Ok((child, rx))
}

/// Waits (up to [`LIMIT`]) for `tenax run` to serve, then stops it.
fn run_accepts(file: &Path) -> Result<()> {
    let (mut child, lines) = spawn_run(file, &[])?;
    let mut seen = Vec::new();
    let served = loop {
        match lines.recv_timeout(LIMIT) {
            Ok(line) if line.contains("tenax is running") => break true,
            Ok(line) => seen.push(line),
            Err(_) => break false,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    if !served {
        bail!("`tenax run` did not start serving:\n{}", seen.join("\n"));
    }
    Ok(())
}

/// Waits (up to [`LIMIT`]) for `tenax run` with `env` to exit; its exit code and stderr.
fn run_refuses(file: &Path, env: &[(&str, &str)]) -> Result<(i32, String)> {
    let (mut child, lines) = spawn_run(file, env)?;
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(LIMIT) {
            Ok(line) => seen.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "`tenax run` neither refused nor exited:\n{}",
                    seen.join("\n")
                );
            }
        }
    }
    let status = child.wait()?;
    Ok((status.code().unwrap_or(-1), seen.join("\n")))
}

#[test]
fn every_bounded_key_is_accepted_just_inside_and_refused_just_outside_by_check_and_run()
-> Result<()> {
    for case in bounds() {
        let dir = tempfile::tempdir()?;
        let (file, _) = write_config(dir.path(), case.key, &case.inside)?;
        let path = file.to_str().expect("utf-8");
        let (code, _, err) = tenax(&["config", "check", path]);
        assert_eq!(
            code, 0,
            "config check refused {}:\n{}\n{err}",
            case.key, case.inside
        );
        run_accepts(&file).map_err(|e| e.context(format!("{}: {}", case.key, case.inside)))?;

        let dir = tempfile::tempdir()?;
        let (file, text) = write_config(dir.path(), case.key, &case.outside)?;
        let path = file.to_str().expect("utf-8");
        let at = position(&text, case.key);
        let key = format!("`{}`", case.key);
        let (code, _, err) = tenax(&["config", "check", path]);
        assert_eq!(
            code, 1,
            "config check accepted {}:\n{}",
            case.key, case.outside
        );
        assert!(
            err.contains(&key) && err.contains(&at),
            "config check: {at} {key}? {err}"
        );
        let (code, err) = run_refuses(&file, &[])?;
        assert_eq!(code, 1, "run: {}:\n{}\n{err}", case.key, case.outside);
        assert!(
            err.contains(&key) && err.contains(&at),
            "run: {at} {key}? {err}"
        );
        assert!(
            !dir.path().join("data").exists(),
            "run refused {} before opening the data directory",
            case.key
        );
    }
    Ok(())
}

/// The examples of the issue: `config check` once called both valid, and `run` refused
/// them; an environment override applies to both alike.
#[test]
fn check_and_run_agree_on_the_files_check_once_passed_and_on_the_environment() -> Result<()> {
    for (key, fragment) in [
        ("store.flush_interval", "[store]\nflush_interval = \"2h\"\n"),
        ("api.addr", "addr = \"0.0.0.0:7450\"\n"),
    ] {
        let dir = tempfile::tempdir()?;
        let (file, _) = write_config(dir.path(), key, fragment)?;
        let (code, _, err) = tenax(&["config", "check", file.to_str().expect("utf-8")]);
        assert_eq!(code, 1, "{key}: {err}");
        let (code, err) = run_refuses(&file, &[])?;
        assert_eq!(code, 1, "{key}: {err}");
    }
    // TENAX_API_ADDR moves a loopback file to 0.0.0.0: both refuse, naming the variable.
    let dir = tempfile::tempdir()?;
    let (file, _) = write_config(dir.path(), "log.level", "")?;
    let output = Command::new(TENAX)
        .args(["config", "check"])
        .arg(&file)
        .env("TENAX_API_ADDR", "0.0.0.0:0")
        .env_remove("TENAX_API_TOKEN")
        .output()?;
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("TENAX_API_ADDR: `api.addr`"), "{err}");
    let (code, err) = run_refuses(&file, &[("TENAX_API_ADDR", "0.0.0.0:0")])?;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("TENAX_API_ADDR: `api.addr`"), "{err}");
    assert!(!dir.path().join("data").exists());
    Ok(())
}

/// `run` loads the policy file before it serves; `config check` once did not look at it.
#[test]
fn a_missing_policy_file_or_a_script_that_does_not_parse_is_refused_by_check_and_run() -> Result<()>
{
    for (case, script) in [
        ("missing", None),
        (
            "syntax error",
            Some("#{\n    classes: #{ transient: #{ base: \"50ms\" ,, } },\n}\n"),
        ),
    ] {
        let dir = tempfile::tempdir()?;
        let policy = dir.path().join("policy.rhai");
        if let Some(script) = script {
            std::fs::write(&policy, script)?;
        }
        let data = dir.path().join("data");
        let text = format!(
            "data_dir = {:?}\npolicy_file = {:?}\n[api]\naddr = \"127.0.0.1:0\"\n",
            data.display().to_string(),
            policy.display().to_string()
        );
        let file = dir.path().join("tenax.toml");
        std::fs::write(&file, text)?;
        // The key and its line; for a script, the script's own line too.
        let script_at = if script.is_some() {
            "policy.rhai:2:"
        } else {
            "policy.rhai"
        };
        let expected = ["tenax.toml:2:", "`policy_file`", script_at];
        let (code, _, err) = tenax(&["config", "check", file.to_str().expect("utf-8")]);
        assert_eq!(code, 1, "config check accepted the {case} policy: {err}");
        assert!(expected.iter().all(|e| err.contains(e)), "{case}: {err}");
        let (code, err) = run_refuses(&file, &[])?;
        assert_eq!(code, 1, "run: {case}: {err}");
        assert!(
            expected.iter().all(|e| err.contains(e)),
            "run: {case}: {err}"
        );
        assert!(
            !data.exists(),
            "run refused the {case} policy before opening the data"
        );
    }
    Ok(())
}
