//! A full disk seen through the daemon: enqueues get a 507 with a JSON body, the daemon
//! stays up, nothing stored before is lost, and once space is freed it accepts and
//! delivers again.
//!
//! Runs on a small tmpfs mounted for the test, which needs root (CI runs as root). Where
//! mounting is impossible the test says so on stderr and returns without checking.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Result;
use axum::Router;
use serde_json::{Value, json};
use support::daemon::{Daemon, eventually};

/// A tmpfs of a fixed size, unmounted on drop.
struct SmallDisk {
    _parent: tempfile::TempDir,
    mount: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let parent = tempfile::tempdir().expect("temp dir");
        let mount = parent.path().join("disk");
        std::fs::create_dir(&mount).expect("mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mount)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED api_disk_full: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(SmallDisk {
            _parent: parent,
            mount,
        })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

/// 32 KiB of text that does not compress.
fn filler(seed: u64) -> String {
    let mut x = seed | 1;
    (0..32 << 10)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gets_507_and_the_daemon_recovers_when_space_is_freed() -> Result<()> {
    let Some(disk) = SmallDisk::mount("96m") else {
        return Ok(());
    };
    // Ballast takes most of the disk, so the 16 MiB reserve is reached quickly.
    let ballast = disk.mount.join("ballast");
    std::fs::write(&ballast, vec![7u8; 56 << 20])?;

    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { "ok" }
    });
    let base = support::serve(router).await;
    let extra =
        format!("[http]\nallowed_bases = [\"{base}\"]\n[store]\nmin_free_space = \"16MiB\"\n");
    let daemon = Daemon::start_at(tempfile::tempdir()?, &disk.mount.join("data"), &extra);
    let client = support::api_client();
    let url = format!("{}/v1/jobs", daemon.url);

    let mut acked = 0u64;
    let refusal = loop {
        let job = json!({ "kind": "http", "delay": "1h",
            "payload": { "url": format!("{base}/later"), "json": filler(acked + 1) } });
        let response = client.post(&url).json(&job).send().await?;
        let status = response.status().as_u16();
        let body: Value = response.json().await?;
        if status == 201 {
            acked += 1;
            assert!(acked < 5_000, "the disk never filled up");
            continue;
        }
        break (status, body);
    };
    assert_eq!(refusal.0, 507, "{}", refusal.1);
    assert_eq!(refusal.1["error"]["code"], "disk_full");
    assert!(acked > 0, "some jobs fit before the reserve");

    // The daemon is still up and everything acknowledged is still there.
    let health = client.get(format!("{}/healthz", daemon.url)).send().await?;
    assert_eq!(health.status().as_u16(), 200);
    let stats = daemon.stats(&client).await;
    assert_eq!(stats["total"]["waiting"].as_u64(), Some(acked));

    // Free space: enqueues are accepted and delivered again.
    std::fs::remove_file(&ballast)?;
    let job = json!({ "kind": "http", "payload": { "url": format!("{base}/now") } });
    let response = client.post(&url).json(&job).send().await?;
    assert_eq!(response.status().as_u16(), 201);
    eventually(Duration::from_secs(10), async || {
        (hits.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;
    let stats = daemon.stats(&client).await;
    assert_eq!(
        stats["total"]["waiting"].as_u64(),
        Some(acked),
        "nothing lost"
    );
    drop(daemon);
    drop(disk);
    Ok(())
}
