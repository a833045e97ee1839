//! The Stash plugin's script (`stash-plugin/stash2plex.py`), run with python3 as Stash
//! runs it (the plugin input as JSON on stdin), against a real daemon: its hook queues
//! the scene with the dedup key, returns at once when the daemon is down or hangs and
//! never fails; its bulk task queues every scene changed since a time.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{Value, json};
use support::{STASH_SESSION, World, eventually, get, scene};

const WAIT: Duration = Duration::from_secs(30);
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/stash-plugin/stash2plex.py");

fn python() -> Option<&'static str> {
    let found = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    found.then_some("python3")
}

/// What the script printed and how long it took.
struct Ran {
    code: i32,
    stdout: Value,
    stderr: String,
    took: Duration,
}

fn run_script(input: &Value, env: &[(&str, &str)]) -> Ran {
    let mut command = Command::new(python().expect("python3"));
    command
        .arg(SCRIPT)
        .env_remove("TENAX_API_ADDR")
        .env_remove("TENAX_API_TOKEN")
        .env_remove("STASH_API_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("spawn python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write the plugin input");
    let out = child.wait_with_output().expect("the script ends");
    let took = started.elapsed();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took,
    }
}

fn connection(stash_url: &str, plugin_dir: &Path) -> Value {
    let port: u16 = stash_url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    json!({
        "Scheme": "http", "Host": "0.0.0.0", "Port": port,
        "SessionCookie": { "Name": "session", "Value": STASH_SESSION, "Path": "", "Domain": "",
                           "Expires": "0001-01-01T00:00:00Z", "HttpOnly": false, "Secure": false },
        "Dir": plugin_dir.display().to_string(), "PluginDir": plugin_dir.display().to_string()
    })
}

fn hook_input(stash_url: &str, plugin_dir: &Path, id: u64) -> Value {
    json!({
        "server_connection": connection(stash_url, plugin_dir),
        "args": { "hookContext": {
            "id": id, "type": "Scene.Update.Post",
            "input": { "id": id.to_string(), "title": "changed" }, "inputFields": ["id", "title"]
        } }
    })
}

async fn waiting_jobs(w: &World) -> Vec<Value> {
    let page = get(&w.client, &w.api(), "/v1/jobs?state=waiting&limit=100").await;
    page["jobs"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hook_queues_the_scene_once_and_the_daemon_syncs_it() -> Result<()> {
    if python().is_none() {
        eprintln!("SKIPPED: python3 is not installed");
        return Ok(());
    }
    let w = World::start("").await;
    let key = w.plex.add_item("/mnt/media/hook.mp4", true);
    w.stash.put(scene(21, "hook.mp4"));
    let plugin_dir = tempfile::tempdir()?;
    let api = w.api();
    w.client
        .post(format!("{api}/v1/queues/default/pause"))
        .send()
        .await?;

    let input = hook_input(&w.stash.url, plugin_dir.path(), 21);
    for round in 0..2 {
        let ran = run_script(&input, &[("TENAX_API_ADDR", &api)]);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        assert_eq!(
            ran.stdout["output"], "queued",
            "round {round}: {}",
            ran.stderr
        );
        let took_ms: f64 = ran
            .stderr
            .rsplit(" in ")
            .next()
            .and_then(|t| t.trim().trim_end_matches("ms").trim().parse().ok())
            .expect("the script says how long the enqueue took");
        eprintln!("the hook queued the scene in {took_ms} ms");
        assert!(took_ms < 100.0, "the hook's enqueue took {took_ms} ms");
    }
    let jobs = waiting_jobs(&w).await;
    assert_eq!(jobs.len(), 1, "one job for two saves: {jobs:?}");
    assert_eq!(jobs[0]["kind"], "plex-sync");
    assert_eq!(jobs[0]["payload"], json!({ "scene_id": "21" }));
    assert_eq!(jobs[0]["dedup_key"], "scene-21");

    w.client
        .post(format!("{api}/v1/queues/default/resume"))
        .send()
        .await?;
    w.plex
        .until(WAIT, "the hooked scene synced", |s| {
            s.items[&key].edits == 1
        })
        .await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hook_never_blocks_or_fails_a_save_when_the_daemon_is_down_or_hangs() -> Result<()> {
    if python().is_none() {
        eprintln!("SKIPPED: python3 is not installed");
        return Ok(());
    }
    let plugin_dir = tempfile::tempdir()?;
    let input = hook_input("http://127.0.0.1:9999", plugin_dir.path(), 5);
    // Nothing listens: refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?;
    let closed_addr = closed.local_addr()?.to_string();
    drop(closed);
    // Accepts and never answers: only the script's own timeout ends the wait.
    let hanging = std::net::TcpListener::bind("127.0.0.1:0")?;
    let hanging_addr = hanging.local_addr()?.to_string();
    for (what, addr) in [("refused", closed_addr), ("hanging", hanging_addr)] {
        let ran = run_script(&input, &[("TENAX_API_ADDR", &addr)]);
        assert_eq!(ran.code, 0, "{what}: exit 0 whatever happens");
        assert_eq!(ran.stdout["output"], "not queued", "{what}: {}", ran.stderr);
        assert!(
            ran.stdout.get("error").is_none(),
            "{what}: no error for Stash to show"
        );
        assert!(
            ran.stderr.contains("\u{1}w\u{2}"),
            "{what}: a warning in Stash's log: {}",
            ran.stderr
        );
        assert!(
            ran.took < Duration::from_secs(3),
            "{what}: took {:?}",
            ran.took
        );
    }
    drop(hanging);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bulk_task_queues_every_scene_changed_since_a_time() -> Result<()> {
    if python().is_none() {
        eprintln!("SKIPPED: python3 is not installed");
        return Ok(());
    }
    let w = World::start("").await;
    let api = w.api();
    w.client
        .post(format!("{api}/v1/queues/default/pause"))
        .send()
        .await?;
    for i in 31..=33 {
        w.stash.put(scene(i, &format!("bulk/{i}.mp4")));
    }
    let since = w.stash.now();
    for i in 34..=38 {
        w.stash.put(scene(i, &format!("bulk/{i}.mp4")));
    }
    // Where the daemon is, from tenax.json beside the script; pages of two scenes.
    let plugin_dir = tempfile::tempdir()?;
    std::fs::write(
        plugin_dir.path().join("tenax.json"),
        json!({ "api": api, "page_size": 2 }).to_string(),
    )?;
    let input = |since: &str| {
        json!({
            "server_connection": connection(&w.stash.url, plugin_dir.path()),
            "args": { "mode": "bulk", "since": since }
        })
    };
    let ran = run_script(&input(&since), &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        ran.stdout["output"]
            .as_str()
            .map(|s| s.starts_with("queued 5 scenes")),
        Some(true),
        "{}",
        ran.stderr
    );
    let ids = |jobs: &[Value]| -> Vec<String> {
        let mut ids: Vec<String> = jobs
            .iter()
            .map(|j| j["payload"]["scene_id"].as_str().unwrap_or("").to_owned())
            .collect();
        ids.sort();
        ids
    };
    let jobs = waiting_jobs(&w).await;
    assert_eq!(ids(&jobs), ["34", "35", "36", "37", "38"]);

    let ran = run_script(&input("all"), &[]);
    assert_eq!(
        ran.stdout["output"]
            .as_str()
            .map(|s| s.starts_with("queued 8 scenes")),
        Some(true),
        "{}",
        ran.stderr
    );
    let jobs = eventually(WAIT, "eight waiting jobs", async || {
        let jobs = waiting_jobs(&w).await;
        (jobs.len() == 8).then_some(jobs)
    })
    .await;
    assert_eq!(
        ids(&jobs).len(),
        8,
        "scenes already queued are not queued twice"
    );
    Ok(())
}
