//! A real daemon for the bench: this same binary started as `tenax run` in a child
//! process, on a loopback port, with a fresh data directory and a generated config.
//!
//! A separate process is what users meet (its own runtime, allocator and metrics
//! recorder, the API over TCP), and it keeps the load generator's CPU apart from the
//! daemon's, so each can be read from `/proc`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::sync::mpsc;

use super::http1::Conn;

/// A running `tenax run`; killed if dropped before [`Daemon::stop`].
pub(crate) struct Daemon {
    child: Child,
    /// `127.0.0.1:PORT` of its API.
    pub(crate) addr: String,
}

impl Daemon {
    /// Starts the daemon on `dir/data` with the default configuration except: the API
    /// on a free loopback port, `concurrency` jobs at once, and HTTP jobs allowed to
    /// `allowed_base`. Waits until it logs that it is running.
    pub(crate) async fn start(
        dir: &Path,
        concurrency: usize,
        allowed_base: &str,
    ) -> Result<Daemon> {
        let config = dir.join("tenax.toml");
        let data = dir.join("data");
        std::fs::write(
            &config,
            format!(
                "data_dir = {data:?}\n\n[api]\naddr = \"127.0.0.1:0\"\n\n[worker]\nconcurrency = {concurrency}\n\n[http]\nallowed_bases = [{allowed_base:?}]\n",
                data = data.display().to_string(),
            ),
        )?;
        let mut child = Command::new(std::env::current_exe()?)
            .args(["run", "--config"])
            .arg(&config)
            .env_remove("TENAX_API_ADDR")
            .env_remove("TENAX_API_TOKEN")
            .env_remove("TENAX_DATA_DIR")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("start `tenax run`")?;
        let stderr = child.stderr.take().context("the daemon's stderr")?;
        // Read its log to the end, so that a full pipe never blocks the daemon.
        let (tx, mut lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        let mut daemon = Daemon {
            child,
            addr: String::new(),
        };
        let mut seen = Vec::new();
        let running = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.recv().await {
                if line.contains("tenax is running") {
                    return Some(line);
                }
                seen.push(line);
            }
            None
        })
        .await;
        let Ok(Some(line)) = running else {
            bail!("the daemon did not start; its log:\n{}", seen.join("\n"));
        };
        let at = line
            .find("api=http://")
            .context("the start-up log names the API")?
            + 11;
        daemon.addr = line[at..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        // Keep draining its log in the background.
        tokio::spawn(async move { while lines.recv().await.is_some() {} });
        Ok(daemon)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `GET /v1/stats` for queue `default`.
    pub(crate) async fn queue_stats(&self) -> Result<serde_json::Value> {
        let mut conn = Conn::connect(&self.addr).await?;
        let (status, body) = conn.call("GET", "/v1/stats", None).await?;
        if status != 200 {
            bail!("GET /v1/stats answered {status}");
        }
        let stats: serde_json::Value = serde_json::from_slice(&body)?;
        Ok(stats["queues"]["default"].clone())
    }

    /// Polls the stats until `counter` of queue `default` reaches `want`, for at most a
    /// minute.
    pub(crate) async fn wait_for_count(&self, counter: &str, want: u64) -> Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let stats = self.queue_stats().await?;
            let got = stats[counter].as_u64().unwrap_or(0);
            if got == want {
                return Ok(());
            }
            if got > want || tokio::time::Instant::now() > deadline {
                bail!("the daemon's stats show {counter} = {got}, expected {want}: {stats}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM, then waits for a clean exit (SIGKILL after 30 s).
    pub(crate) async fn stop(mut self) -> Result<()> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("the daemon exited with {status}");
                }
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("the daemon did not stop within 30 s of SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// CPU seconds (user + system) that process `pid` has used, from `/proc/PID/stat`;
/// `None` where there is no such file. Clock ticks are 100 per second on Linux.
pub(crate) fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let utime: f64 = fields.nth(11)?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// CPU use of this process and of the daemon over a measured span, in percent of one
/// core (200% is both cores of a 2-core machine).
pub(crate) struct CpuMeter {
    daemon_pid: String,
    started: std::time::Instant,
    own: Option<f64>,
    daemon: Option<f64>,
}

impl CpuMeter {
    pub(crate) fn start(daemon: &Daemon) -> CpuMeter {
        let daemon_pid = daemon.pid().to_string();
        CpuMeter {
            own: cpu_seconds("self"),
            daemon: cpu_seconds(&daemon_pid),
            daemon_pid,
            started: std::time::Instant::now(),
        }
    }

    /// (this process, the daemon) in percent of one core; 0 where `/proc` is missing.
    pub(crate) fn read(&self) -> (f64, f64) {
        let wall = self.started.elapsed().as_secs_f64().max(1e-9);
        let pct = |before: Option<f64>, now: Option<f64>| match (before, now) {
            (Some(b), Some(n)) => 100.0 * (n - b) / wall,
            _ => 0.0,
        };
        (
            pct(self.own, cpu_seconds("self")),
            pct(self.daemon, cpu_seconds(&self.daemon_pid)),
        )
    }
}
