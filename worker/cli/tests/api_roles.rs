//! Roles: the read-only token may make every read the OpenAPI document lists and is
//! refused every change; a state-changing request from a foreign `Origin` is refused
//! with any credentials, and in open mode.

mod support;

use anyhow::Result;
use reqwest::Method;
use serde_json::{Value, json};
use support::daemon::Daemon;

const ADMIN: &str = "admin-token-for-tests";
const READ: &str = "read-token-for-tests";

/// Every (method, concrete path) the OpenAPI document lists.
async fn operations(client: &reqwest::Client, daemon: &Daemon) -> Result<Vec<(Method, String)>> {
    let doc: Value = client
        .get(format!("{}/v1/openapi.json", daemon.url))
        .bearer_auth(ADMIN)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        let concrete = path.replace("{id}", "1").replace("{name}", "default");
        for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
            let method = Method::from_bytes(method.to_uppercase().as_bytes())?;
            ops.push((method, concrete.clone()));
        }
    }
    assert!(ops.len() >= 25, "the document lists the routes: {ops:?}");
    Ok(ops)
}

fn changes(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_token_reads_everything_and_changes_nothing() -> Result<()> {
    let daemon = Daemon::start(&format!(
        "[http]\nallowed_bases = [\"http://127.0.0.1:9/\"]\n[api]\naddr = \"127.0.0.1:0\"\n\
         token = \"{ADMIN}\"\nread_token = \"{READ}\"\n"
    ));
    let client = support::api_client();
    // Waiting jobs, so the routes with an id find one.
    let job =
        json!({ "kind": "http", "delay": "1h", "payload": { "url": "http://127.0.0.1:9/x" } });
    for _ in 0..2 {
        let r = client
            .post(format!("{}/v1/jobs", daemon.url))
            .bearer_auth(ADMIN)
            .json(&job)
            .send()
            .await?;
        assert_eq!(r.status().as_u16(), 201);
    }
    let before = stats(&client, &daemon).await?;

    let ops = operations(&client, &daemon).await?;
    let mut refused = 0;
    for (method, path) in &ops {
        let url = format!("{}{path}", daemon.url);
        let body = if path == "/v1/policy/check" {
            json!({ "script": "#{}" })
        } else {
            json!({})
        };
        let r = client
            .request(method.clone(), &url)
            .bearer_auth(READ)
            .json(&body)
            .send()
            .await?;
        let status = r.status().as_u16();
        if changes(method) && path != "/v1/policy/check" {
            let answer: Value = r.json().await?;
            assert_eq!(status, 403, "{method} {path}: {answer}");
            assert_eq!(answer["error"]["code"], "read_only", "{method} {path}");
            refused += 1;
        } else {
            assert!(
                ![401, 403].contains(&status),
                "{method} {path} is a read the read token may make: {status}"
            );
        }
        // Without a token, every route but the probes is closed.
        let anonymous = client
            .request(method.clone(), &url)
            .json(&body)
            .send()
            .await?;
        let expected = if matches!(path.as_str(), "/healthz" | "/readyz") {
            anonymous.status().as_u16()
        } else {
            401
        };
        assert_eq!(anonymous.status().as_u16(), expected, "{method} {path}");
        // A wrong token is no read token.
        let wrong = client
            .request(method.clone(), &url)
            .bearer_auth("read-token-for-testz")
            .json(&body)
            .send()
            .await?;
        assert_eq!(wrong.status().as_u16(), expected, "{method} {path}");
    }
    assert!(
        refused >= 9,
        "every state-changing route was tried: {refused}"
    );
    assert_eq!(
        stats(&client, &daemon).await?,
        before,
        "the read token changed nothing"
    );
    let queues: Value = client
        .get(format!("{}/v1/queues", daemon.url))
        .bearer_auth(READ)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(queues["queues"][0]["paused"], false, "{queues}");

    // A foreign page's request is refused before its credentials are looked at; the
    // server's own origin passes.
    for (method, path) in ops.iter().filter(|(m, _)| changes(m)) {
        let r = client
            .request(method.clone(), format!("{}{path}", daemon.url))
            .bearer_auth(ADMIN)
            .header("origin", "http://evil.example")
            .json(&json!({}))
            .send()
            .await?;
        let answer: Value = r.json().await?;
        assert_eq!(answer["error"]["code"], "cross_origin", "{method} {path}");
    }
    assert_eq!(stats(&client, &daemon).await?, before);
    let r = client
        .post(format!("{}/v1/queues/default/pause", daemon.url))
        .bearer_auth(ADMIN)
        .header("origin", daemon.url.as_str())
        .json(&json!({}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200, "same origin");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_open_mode_a_foreign_origin_still_cannot_change_anything() -> Result<()> {
    let daemon = Daemon::start("[http]\nallowed_bases = [\"http://127.0.0.1:9/\"]\n");
    let client = support::api_client();
    let jobs = format!("{}/v1/jobs", daemon.url);
    let job =
        json!({ "kind": "http", "delay": "1h", "payload": { "url": "http://127.0.0.1:9/x" } });
    for origin in ["http://evil.example", "null", "http://127.0.0.1:1"] {
        let r = client
            .post(&jobs)
            .header("origin", origin)
            .json(&job)
            .send()
            .await?;
        assert_eq!(r.status().as_u16(), 403, "{origin}");
        let answer: Value = r.json().await?;
        assert_eq!(answer["error"]["code"], "cross_origin");
    }
    let r = client
        .delete(format!("{}/v1/dead?older_than=0s", daemon.url))
        .header("origin", "http://evil.example")
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 403);
    let stats = daemon.stats(&client).await;
    assert_eq!(stats["total"]["enqueued"], 0, "nothing was stored: {stats}");
    // Reads from anywhere, and programs without `Origin`, work as before.
    let r = client
        .get(format!("{}/v1/stats", daemon.url))
        .header("origin", "http://evil.example")
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    let r = client.post(&jobs).json(&job).send().await?;
    assert_eq!(r.status().as_u16(), 201);
    let r = client
        .post(&jobs)
        .header("origin", daemon.url.as_str())
        .json(&job)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 201, "the server's own page");
    let session: Value = client
        .get(format!("{}/ui/session", daemon.url))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        session,
        json!({ "role": "admin", "csrf": null, "token_required": false })
    );
    Ok(())
}

async fn stats(client: &reqwest::Client, daemon: &Daemon) -> Result<Value> {
    let mut stats: Value = client
        .get(format!("{}/v1/stats", daemon.url))
        .bearer_auth(ADMIN)
        .send()
        .await?
        .json()
        .await?;
    // The time of the answer differs; the counts must not.
    stats["at"] = Value::Null;
    Ok(stats)
}
