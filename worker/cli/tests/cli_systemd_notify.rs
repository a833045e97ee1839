#![cfg(unix)]

//! Service integration: `READY=1` and `STOPPING=1` reach the socket in `NOTIFY_SOCKET`
//! (systemd `Type=notify`), and SIGHUP reloads the policy file at once.

mod support;

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use anyhow::Result;
use serde_json::Value;
use support::daemon::{Daemon, Launch, eventually};

/// The next datagram on `socket`, as text.
fn next_message(socket: &UnixDatagram) -> Result<String> {
    let mut buf = [0u8; 512];
    let n = socket.recv(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_says_ready_once_its_api_answers_and_stopping_on_sigterm() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path)?;
    socket.set_read_timeout(Some(Duration::from_secs(30)))?;
    let launch = Launch {
        rust_log: Some("info".into()),
        env: vec![("NOTIFY_SOCKET".into(), path.display().to_string())],
        ..Launch::default()
    };
    let data = dir.path().join("data");
    let mut daemon = Daemon::launch(dir, &data, "", &launch);

    let ready = next_message(&socket)?;
    assert_eq!(ready, "READY=1");
    let client = support::api_client();
    let r = client.get(format!("{}/readyz", daemon.url)).send().await?;
    assert_eq!(
        r.status().as_u16(),
        200,
        "the API answers once READY=1 is sent"
    );

    daemon.signal("TERM");
    assert_eq!(next_message(&socket)?, "STOPPING=1");
    assert!(daemon.wait().success());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_notify_socket_nothing_is_sent_and_the_daemon_runs() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let launch = Launch {
        rust_log: Some("info".into()),
        keep_output: true,
        ..Launch::default()
    };
    let daemon = Daemon::launch(dir, &data, "", &launch);
    let client = support::api_client();
    let r = client.get(format!("{}/readyz", daemon.url)).send().await?;
    assert_eq!(r.status().as_u16(), 200);
    let logs = daemon.output().join("\n");
    assert!(!logs.contains("could not notify"), "{logs}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_policy_file_at_once_even_with_the_watcher_off() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let policy = dir.path().join("policy.rhai");
    let first = r#"#{ classes: #{ transient: #{ max_retries: 1 } } }"#;
    std::fs::write(&policy, first)?;
    let data = dir.path().join("data");
    let extra = format!("policy_file = {:?}\n", policy.display().to_string());
    // The watcher is off, so only SIGHUP can reload.
    let launch = Launch {
        rust_log: Some("info".into()),
        args: vec!["--no-policy-watch".into()],
        ..Launch::default()
    };
    let mut daemon = Daemon::launch(dir, &data, &extra, &launch);
    let client = support::api_client();
    let url = format!("{}/v1/policy", daemon.url);
    let version = async |client: &reqwest::Client| -> Option<u64> {
        let p: Value = client.get(&url).send().await.ok()?.json().await.ok()?;
        p["version"].as_u64()
    };
    assert_eq!(version(&client).await, Some(1));

    std::fs::write(&policy, first.replace("max_retries: 1", "max_retries: 4"))?;
    daemon.signal("HUP");
    let line = daemon
        .wait_for_log("policy file reloaded", Duration::from_secs(10))
        .expect("the reload is logged");
    assert!(line.contains("sighup"), "says why it reloaded: {line}");
    eventually(Duration::from_secs(5), async || {
        (version(&client).await == Some(2)).then_some(())
    })
    .await;

    // A SIGHUP with nothing new changes nothing.
    daemon.signal("HUP");
    daemon
        .wait_for_log("policy file unchanged", Duration::from_secs(10))
        .expect("an unchanged file is logged");
    assert_eq!(version(&client).await, Some(2));
    Ok(())
}
