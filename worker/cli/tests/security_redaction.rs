//! Secrets in a job's headers and URL query reach the downstream and nothing else: no API
//! answer, no CLI output (online or offline) and no log line, even at debug level.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use serde_json::{Value, json};
use support::daemon::{Daemon, Launch, eventually, tenax};

/// Planted in the `Authorization` header.
const HEADER_SECRET: &str = "hdr-s3cr3t-planted-7f3a";
/// Planted in a cookie.
const COOKIE_SECRET: &str = "cookie-s3cr3t-planted-91c2";
/// Planted in the `X-Plex-Token` query parameter.
const QUERY_SECRET: &str = "query-s3cr3t-planted-5d08";

const FAST_POLICY: &str = r#"#{
    classes: #{ transient: #{ base: "50ms", cap: "100ms", max_retries: 2, jitter: 0.0, breaker: false } },
}"#;

/// Every secret that appears in `text`.
fn leaked(text: &str) -> Vec<&'static str> {
    [HEADER_SECRET, COOKIE_SECRET, QUERY_SECRET]
        .into_iter()
        .filter(|s| text.contains(s))
        .collect()
}

/// A downstream that fails every request with a 500 and records what it received.
async fn failing_downstream(seen: Arc<Mutex<Vec<String>>>) -> String {
    let router = Router::new().fallback(move |request: Request| {
        let seen = seen.clone();
        async move {
            seen.lock().expect("recording lock").push(format!(
                "{} {:?}",
                request.uri(),
                request.headers()
            ));
            (StatusCode::INTERNAL_SERVER_ERROR, "downstream failed")
        }
    });
    support::serve(router).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_secret_reaches_the_downstream_and_no_answer_output_or_log_line() -> Result<()> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let base = failing_downstream(seen.clone()).await;
    let dir = tempfile::tempdir()?;
    let policy = dir.path().join("policy.rhai");
    std::fs::write(&policy, FAST_POLICY)?;
    let data = dir.path().join("data");
    let extra = format!(
        "policy_file = {policy:?}\n[http]\nallowed_bases = [\"{base}\"]\n[log]\nformat = \"json\"\nlevel = \"debug\"\n",
        policy = policy.display().to_string()
    );
    // No RUST_LOG: the configured debug level applies.
    let launch = Launch {
        keep_output: true,
        ..Launch::default()
    };
    let mut daemon = Daemon::launch(dir, &data, &extra, &launch);
    let client = support::api_client();
    let mut shown = String::new();

    let payload = json!({
        "url": format!("{base}/library/sections?X-Plex-Token={QUERY_SECRET}&page=1"),
        "method": "POST",
        "headers": {
            "Authorization": format!("Bearer {HEADER_SECRET}"),
            "Cookie": format!("sid={COOKIE_SECRET}"),
            "X-Tenant": "acme"
        },
        "json": { "item": 1 }
    });
    let (code, out, err) = tenax(&[
        "enqueue",
        "--api",
        &daemon.addr,
        "http",
        &payload.to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    shown += &out;
    shown += &err;
    // A refused enqueue (a URL outside the allowed bases) quotes the URL, redacted.
    let outside = json!({ "url": format!("http://127.0.0.2:9/x?api_key={QUERY_SECRET}") });
    let (code, out2, err2) = tenax(&[
        "enqueue",
        "--api",
        &daemon.addr,
        "http",
        &outside.to_string(),
    ]);
    assert_eq!(code, 1, "refused: {out2}");
    assert!(
        err2.contains("api_key=***"),
        "names the URL, redacted: {err2}"
    );
    shown += &out2;
    shown += &err2;
    let id = serde_json::from_str::<Value>(&out)?["id"]
        .as_u64()
        .expect("an id");

    // While it retries.
    let job_url = format!("{}/v1/jobs/{id}", daemon.url);
    let retrying = eventually(Duration::from_secs(10), async || {
        let job: Value = client.get(&job_url).send().await.ok()?.json().await.ok()?;
        (job["state"] == "retrying").then_some(job)
    })
    .await;
    assert_eq!(retrying["payload"]["headers"]["Authorization"], "***");
    assert_eq!(
        retrying["payload"]["headers"]["X-Tenant"], "acme",
        "other headers are shown"
    );
    shown += &retrying.to_string();

    // Once it is dead.
    let dead_url = format!("{}/v1/dead/{id}", daemon.url);
    eventually(Duration::from_secs(10), async || {
        let r = client.get(&dead_url).send().await.ok()?;
        (r.status() == 200).then_some(())
    })
    .await;
    for path in [
        format!("/v1/jobs/{id}"),
        "/v1/dead".to_owned(),
        format!("/v1/dead/{id}"),
        "/v1/stats".to_owned(),
    ] {
        shown += &client
            .get(format!("{}{path}", daemon.url))
            .send()
            .await?
            .text()
            .await?;
    }
    let id_text = id.to_string();
    let online: [&[&str]; 6] = [
        &["job", "show", &id_text],
        &["job", "show", &id_text, "--json"],
        &["dlq", "list"],
        &["dlq", "list", "--json"],
        &["dlq", "show", &id_text],
        &["dlq", "show", &id_text, "--json"],
    ];
    for args in online {
        let mut args = args.to_vec();
        args.extend(["--api", &daemon.addr]);
        let (code, out, err) = tenax(&args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.contains(&id_text), "{args:?} shows the job: {out}");
        shown += &out;
        shown += &err;
    }

    // Offline: the daemon is stopped and the CLI reads the data directory.
    let status = daemon.stop();
    assert!(status.success(), "{status:?}");
    let config = daemon.config.display().to_string();
    for args in online {
        let mut args = args.to_vec();
        args.extend(["--config", &config]);
        let (code, out, err) = tenax(&args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(
            err.contains("reading"),
            "{args:?} reads the directory: {err}"
        );
        assert!(out.contains(&id_text), "{args:?} shows the job: {out}");
        shown += &out;
        shown += &err;
    }

    let logs = daemon.output().join("\n");
    assert!(
        logs.contains("\"level\":\"DEBUG\""),
        "the daemon logged at debug level, as JSON:\n{logs}"
    );
    assert!(
        logs.contains("job moved to the dead letter queue"),
        "{logs}"
    );
    assert!(shown.contains("***"), "the secrets are shown redacted");
    assert_eq!(
        leaked(&shown),
        Vec::<&str>::new(),
        "in answers and output:\n{shown}"
    );
    assert_eq!(
        leaked(&logs),
        Vec::<&str>::new(),
        "in the daemon's output:\n{logs}"
    );

    let received = seen.lock().expect("recording lock").join("\n");
    assert_eq!(
        leaked(&received).len(),
        3,
        "the downstream received every secret:\n{received}"
    );
    assert_eq!(received.lines().count(), 3, "tried three times: {received}");
    Ok(())
}

/// Planted in refused payloads.
const REFUSED_SECRET: &str = "refused-s3cr3t-planted-c0de";

/// `POST /v1/jobs` bodies the API refuses with a 422, each carrying [`REFUSED_SECRET`].
fn refused_bodies() -> Vec<Value> {
    let http = |payload: Value| json!({ "kind": "http", "payload": payload });
    vec![
        // A token given as the URL's user name, no password.
        http(json!({ "url": format!("https://{REFUSED_SECRET}@host.example/") })),
        // Signed URLs outside the allowed bases: the refusal quotes them, redacted.
        http(json!({ "url": format!(
            "https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&ss=b&sp=r\
             &se=2026-12-02T00:00:00Z&spr=https&sig={REFUSED_SECRET}"
        ) })),
        http(json!({ "url": format!(
            "https://bucket.s3.amazonaws.com/k.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential={REFUSED_SECRET}%2F20261201%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20261201T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\
             &X-Amz-Security-Token={REFUSED_SECRET}&X-Amz-Signature={REFUSED_SECRET}"
        ) })),
        // Wrong-typed fields, which serde's messages quote.
        http(json!({
            "url": "https://host.example/",
            "headers": format!("Authorization: Bearer {REFUSED_SECRET}")
        })),
        http(json!({
            "url": "https://host.example/",
            "headers": { "Authorization": [format!("Bearer {REFUSED_SECRET}")] }
        })),
        json!({
            "kind": "http",
            "payload": { "url": "https://host.example/" },
            "dedup_mode": REFUSED_SECRET
        }),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_enqueue_quotes_no_planted_secret_in_the_answer_output_or_logs() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let launch = Launch {
        keep_output: true,
        ..Launch::default()
    };
    let extra = "[http]\nallowed_bases = [\"https://host.example/\"]\n[log]\nlevel = \"debug\"\n";
    let mut daemon = Daemon::launch(dir, &data, extra, &launch);
    let client = support::api_client();
    for body in refused_bodies() {
        let answer = client
            .post(format!("{}/v1/jobs", daemon.url))
            .json(&body)
            .send()
            .await?;
        assert_eq!(answer.status(), 422, "{body}");
        let text = answer.text().await?;
        assert!(!text.contains(REFUSED_SECRET), "the answer: {text}");
        if body["payload"]["url"]
            .as_str()
            .is_some_and(|u| u.contains('?'))
        {
            assert!(
                text.contains("=***")
                    && (text.contains("sv=2022") || text.contains("X-Amz-Date=2026")),
                "quotes the URL, its harmless parameters kept: {text}"
            );
        }
        if body.get("dedup_mode").is_some() {
            continue;
        }
        let (code, out, err) = tenax(&[
            "enqueue",
            "--api",
            &daemon.addr,
            "http",
            &body["payload"].to_string(),
        ]);
        assert_eq!(code, 1, "refused: {out}");
        assert!(!err.is_empty(), "says why");
        assert!(
            !format!("{out}{err}").contains(REFUSED_SECRET),
            "the CLI: {err}"
        );
    }
    let status = daemon.stop();
    assert!(status.success(), "{status:?}");
    let logs = daemon.output().join("\n");
    assert!(!logs.contains(REFUSED_SECRET), "the logs:\n{logs}");
    Ok(())
}
