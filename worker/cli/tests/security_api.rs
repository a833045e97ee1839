//! Abuse of the API: deep JSON, slow clients, many connections, wrong methods, token
//! tricks. The daemon keeps serving and nothing acknowledged is lost.

mod support;

use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use support::daemon::Daemon;
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_survives_hostile_clients() -> Result<()> {
    let daemon = Daemon::start("[http]\nallowed_bases = [\"http://127.0.0.1:9/\"]\n");
    let client = support::api_client();
    let jobs = format!("{}/v1/jobs", daemon.url);

    // Deeply nested JSON: a 4xx, not a crash.
    let deep = "[".repeat(100_000);
    let r = client.post(&jobs).body(deep).send().await?;
    assert!(r.status().is_client_error(), "{}", r.status());

    // A slow client sends half a request and stalls; others are still served.
    let mut slow = tokio::net::TcpStream::connect(&daemon.addr).await?;
    slow.write_all(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"kind\"")
        .await?;
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        client.get(format!("{}/v1/stats", daemon.url)).send(),
    )
    .await??;
    assert_eq!(r.status().as_u16(), 200);

    // 200 concurrent enqueues: every one answered, and the stats agree.
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (client, jobs) = (client.clone(), jobs.clone());
        tasks.push(tokio::spawn(async move {
            let job = json!({ "kind": "http", "delay": "1h", "payload": { "url": format!("http://127.0.0.1:9/{i}") } });
            client.post(jobs).json(&job).send().await.map(|r| r.status().as_u16())
        }));
    }
    let mut created = 0;
    for t in tasks {
        if t.await?? == 201 {
            created += 1;
        }
    }
    assert_eq!(created, 200);
    let stats = daemon.stats(&client).await;
    assert_eq!(stats["total"]["enqueued"], 200);

    // Wrong methods and unknown routes are 4xx; the stalled client changed nothing.
    let r = client
        .put(format!("{}/v1/stats", daemon.url))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 405);
    let r = client
        .patch(format!("{}/v1/jobs/1", daemon.url))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 405);
    assert!(r.headers().contains_key("allow"), "405 names the methods");
    let body: Value = r.json().await?;
    assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
    let r = client
        .get(format!("{}/../../etc/passwd", daemon.url))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 404);
    drop(slow);
    let stats = daemon.stats(&client).await;
    assert_eq!(
        stats["total"]["enqueued"], 200,
        "nothing lost, nothing extra"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_tricks_are_refused() -> Result<()> {
    let daemon =
        Daemon::start("[api]\naddr = \"127.0.0.1:0\"\ntoken = \"correct-horse-battery\"\n");
    let client = support::api_client();
    let url = format!("{}/v1/stats", daemon.url);
    let attempts = [
        Some("Bearer correct-horse-batter"),
        Some("Bearer  correct-horse-battery"),
        Some("Basic Y29ycmVjdC1ob3JzZS1iYXR0ZXJ5"),
        Some("correct-horse-battery"),
        Some("Bearer "),
        None,
    ];
    for header in attempts {
        let mut request = client.get(&url);
        if let Some(h) = header {
            request = request.header("Authorization", h);
        }
        let r = request.send().await?;
        assert_eq!(r.status().as_u16(), 401, "{header:?}");
        let body: Value = r.json().await?;
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let r = client
        .get(format!("{url}?token=correct-horse-battery"))
        .send()
        .await?;
    assert_eq!(
        r.status().as_u16(),
        401,
        "a token in the query string does not count"
    );
    let r = client
        .get(&url)
        .bearer_auth("correct-horse-battery")
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    // The scheme name is case-insensitive; surrounding whitespace is not part of a header.
    let r = client
        .get(&url)
        .header("Authorization", "bearer correct-horse-battery ")
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    Ok(())
}
