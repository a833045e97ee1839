//! A real `tenax run` process on a random loopback port and a temporary data directory.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The `tenax` binary built for these tests.
pub const TENAX: &str = env!("CARGO_BIN_EXE_tenax");

/// A running daemon; killed when dropped.
pub struct Daemon {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// `127.0.0.1:PORT`
    pub addr: String,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    logs: mpsc::Receiver<String>,
    /// Every line the daemon wrote, stdout and stderr.
    output: Arc<Mutex<Vec<String>>>,
}

/// How to start a daemon beyond its config file.
#[derive(Default, Clone)]
pub struct Launch {
    /// `RUST_LOG`; `None` leaves it unset (the config's `log.level` applies). Default
    /// (for [`Daemon::start`]): info with the engine quiet.
    pub rust_log: Option<String>,
    /// More arguments for `tenax run`.
    pub args: Vec<String>,
    /// More environment variables.
    pub env: Vec<(String, String)>,
    /// Keep every line the daemon writes, for [`Daemon::output`] (off by default: long
    /// runs log a lot).
    pub keep_output: bool,
    /// Another program than `tenax` (an application built with `Daemon::builder`),
    /// with the name it logs as (`<name> is running`).
    pub program: Option<(PathBuf, String)>,
    /// A command that runs the program (it is appended), such as
    /// `ip netns exec NAME`; empty: the program itself.
    pub wrapper: Vec<String>,
}

impl Launch {
    fn standard() -> Self {
        Launch {
            rust_log: Some("info,fjall=warn,lsm_tree=warn".into()),
            ..Launch::default()
        }
    }
}

impl Daemon {
    /// Starts `tenax run` with a config holding `extra` TOML (sections allowed) after the
    /// data directory and a port-0 API address.
    pub fn start(extra: &str) -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(dir, extra)
    }

    /// Starts `tenax run` with `script` as its policy file, `base` as its one allowed base
    /// URL (without the trailing slash), and `sections` (TOML tables) besides.
    pub fn with_policy(script: &str, base: &str, sections: &str) -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let policy = dir.path().join("policy.rhai");
        std::fs::write(&policy, script).expect("write the policy file");
        let config = format!(
            "policy_file = {:?}\n{sections}[http]\nallowed_bases = [\"{base}/\"]\n",
            policy.display().to_string()
        );
        Self::start_in(dir, &config)
    }

    pub fn start_in(dir: tempfile::TempDir, extra: &str) -> Daemon {
        let data = dir.path().join("data");
        Self::start_at(dir, &data, extra)
    }

    /// Like [`Daemon::start_in`], with the data directory at `data`.
    pub fn start_at(dir: tempfile::TempDir, data: &std::path::Path, extra: &str) -> Daemon {
        Self::launch(dir, data, extra, &Launch::standard())
    }

    /// Like [`Daemon::start_at`], started as `launch` says.
    pub fn launch(
        dir: tempfile::TempDir,
        data: &std::path::Path,
        extra: &str,
        launch: &Launch,
    ) -> Daemon {
        let config = dir.path().join("tenax.toml");
        let text = format!(
            "data_dir = {data:?}\n{extra}\n",
            data = data.display().to_string()
        );
        let text = if text.contains("[api]") {
            text
        } else {
            format!("{text}\n[api]\naddr = \"127.0.0.1:0\"\n")
        };
        std::fs::write(&config, text).expect("write config");
        let (program, name) = launch
            .program
            .clone()
            .unwrap_or_else(|| (PathBuf::from(TENAX), "tenax".to_owned()));
        let mut command = match launch.wrapper.split_first() {
            Some((wrapper, args)) => {
                let mut c = Command::new(wrapper);
                c.args(args).arg(program);
                c
            }
            None => Command::new(program),
        };
        command
            .args(["run", "--config"])
            .arg(&config)
            .args(&launch.args)
            .env_remove("RUST_LOG")
            .env_remove("TENAX_API_ADDR")
            .env_remove("TENAX_API_TOKEN")
            .env_remove("TENAX_DATA_DIR")
            .env_remove("NOTIFY_SOCKET")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(filter) = &launch.rust_log {
            command.env("RUST_LOG", filter);
        }
        for (key, value) in &launch.env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawn tenax run");
        let stderr = child.stderr.take().expect("stderr");
        let stdout = child.stdout.take().expect("stdout");
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, logs) = mpsc::channel();
        let keep = launch.keep_output;
        let all = Arc::clone(&output);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if keep {
                    all.lock().expect("output lock").push(line.clone());
                }
                let _ = tx.send(line);
            }
        });
        let all = Arc::clone(&output);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if keep {
                    all.lock().expect("output lock").push(line);
                }
            }
        });
        let mut daemon = Daemon {
            child,
            url: String::new(),
            addr: String::new(),
            dir,
            config,
            logs,
            output,
        };
        let line = daemon
            .wait_for_log(&format!("{name} is running"), Duration::from_secs(30))
            .expect("the daemon started");
        // Text logs say `api=http://…`, JSON logs `"api":"http://…"`.
        let start = line
            .find("api=http://")
            .map(|i| i + 4)
            .or_else(|| line.find("\"api\":\"http://").map(|i| i + 7))
            .expect("the start-up log names the API");
        let url: String = line[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"')
            .collect();
        daemon.addr = url.trim_start_matches("http://").to_owned();
        daemon.url = url;
        daemon
    }

    /// Waits for a log line containing `needle`; `None` if the process ended or time ran out.
    pub fn wait_for_log(&mut self, needle: &str, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.logs.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Every line the daemon has written so far, stdout and stderr, if
    /// [`Launch::keep_output`] was set.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().expect("output lock").clone()
    }

    /// Sends `signal` (a name such as `HUP`) without waiting.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status();
    }

    /// Sends SIGTERM and waits for the exit status, keeping the output readable.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.wait()
    }

    /// Waits for the process to exit (after a signal sent earlier: a second SIGTERM
    /// would make it exit at once).
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child.wait().expect("wait for tenax")
    }

    /// `GET /v1/stats` of this daemon.
    pub async fn stats(&self, client: &reqwest::Client) -> serde_json::Value {
        client
            .get(format!("{}/v1/stats", self.url))
            .send()
            .await
            .expect("stats answered")
            .json()
            .await
            .expect("stats are JSON")
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM without waiting (the daemon starts its graceful shutdown).
    pub fn term(&self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
    }

    /// SIGKILL, at once.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().expect("wait for tenax");
        std::mem::forget(self);
        status
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a `tenax` command to completion; returns (exit code, stdout, stderr).
pub fn tenax(args: &[&str]) -> (i32, String, String) {
    tenax_in(args, None)
}

pub fn tenax_in(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    run_program(std::path::Path::new(TENAX), args, stdin, &[])
}

/// Runs `program` with `args` (and `env`) to completion; returns (exit code, stdout,
/// stderr).
pub fn run_program(
    program: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("TENAX_API_ADDR")
        .env_remove("TENAX_API_TOKEN")
        .env_remove("TENAX_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tenax");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    let out = child.wait_with_output().expect("tenax output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Polls `check` every 20 ms until it returns `Some`, for at most `limit`.
pub async fn eventually<T>(limit: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not reached within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
