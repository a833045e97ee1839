//! The stash2plex binary as a child process on a temporary data directory, as users run
//! it: `stash2plex run --config FILE`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The binary built for these tests.
pub const STASH2PLEX: &str = env!("CARGO_BIN_EXE_stash2plex");

/// A fast policy for tests: short backoffs, a breaker that opens after three counted
/// failures and tries again after a second.
pub const FAST_POLICY: &str = r#"#{
    classes: #{
        transient: #{ base: "20ms", cap: "100ms", max_retries: 8 },
        not_found: #{ base: "30ms", cap: "150ms", max_retries: 200, breaker: false },
        unavailable: #{ base: "30ms", cap: "150ms", max_retries: 999 },
    },
    breaker: #{ failure_threshold: 3, recovery_timeout: "1s" },
}"#;

/// A running daemon; killed when dropped.
pub struct Daemon {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    logs: mpsc::Receiver<String>,
    output: Arc<Mutex<Vec<String>>>,
}

/// Writes the configuration for a daemon on `dir`: data, fast policy, API on a free
/// port, `[stash2plex]` pointing at the mocks, plus `extra`. Plex is listed anew for
/// every retry that needs it (`listing_min_interval = "0s"`), to match the fast policy.
pub fn write_config(dir: &Path, stash: &str, plex: &str, extra: &str) -> PathBuf {
    let policy = dir.join("policy.rhai");
    std::fs::write(&policy, FAST_POLICY).expect("write policy");
    let config = dir.join("stash2plex.toml");
    let text = format!(
        "data_dir = {data:?}\npolicy_file = {policy:?}\n\n[api]\naddr = \"127.0.0.1:0\"\n\n\
         [stash2plex]\nposter = true\nlisting_min_interval = \"0s\"\n{extra}\n\n[stash2plex.stash]\nurl = {stash:?}\n\
         api_key = {{ env = \"STASH_API_KEY\" }}\n\n[stash2plex.plex]\nurl = {plex:?}\n\
         token = {{ env = \"PLEX_TOKEN\" }}\nlibraries = [\"Adult\"]\n\n\
         [[stash2plex.path_mappings]]\nstash = \"/stash/media\"\nplex = \"/mnt/media\"\n",
        data = dir.join("data").display().to_string(),
        policy = policy.display().to_string(),
    );
    std::fs::write(&config, text).expect("write config");
    config
}

impl Daemon {
    /// Starts `stash2plex run --config FILE` with `env` and waits until it runs.
    pub fn start(config: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut command = Command::new(STASH2PLEX);
        command
            .args(["run", "--config"])
            .arg(config)
            .env(
                "RUST_LOG",
                "debug,fjall=warn,lsm_tree=warn,hyper=info,reqwest=info",
            )
            .env_remove("TENAX_API_ADDR")
            .env_remove("TENAX_API_TOKEN")
            .env_remove("TENAX_DATA_DIR")
            .env_remove("NOTIFY_SOCKET")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn stash2plex run");
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, logs) = mpsc::channel();
        for stream in [
            Box::new(child.stderr.take().expect("stderr")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stdout.take().expect("stdout")),
        ] {
            let all = Arc::clone(&output);
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    all.lock().expect("output").push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        let mut daemon = Daemon {
            child,
            url: String::new(),
            logs,
            output,
        };
        let line = daemon
            .wait_for_log(" is running", Duration::from_secs(30))
            .unwrap_or_else(|| panic!("the daemon did not start:\n{}", daemon.output().join("\n")));
        let start = line
            .find("api=http://")
            .expect("the start-up line names the API")
            + 4;
        daemon.url = line[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"')
            .collect();
        daemon
    }

    /// Waits for a log line containing `needle`.
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

    /// Every line written so far.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().expect("output").clone()
    }

    /// SIGKILL, at once.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait for the daemon")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary to completion: (exit code, stdout, stderr).
pub fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(STASH2PLEX);
    command
        .args(args)
        .env_remove("TENAX_API_ADDR")
        .env_remove("TENAX_API_TOKEN");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("run stash2plex");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
