//! Every kind of bad request gets a 4xx with a JSON error saying what is wrong, and
//! nothing is stored.

mod support;

use anyhow::Result;
use serde_json::{Value, json};
use support::daemon::Daemon;

async fn enqueued(client: &reqwest::Client, daemon: &Daemon) -> Result<u64> {
    Ok(daemon.stats(client).await["total"]["enqueued"]
        .as_u64()
        .unwrap_or(0))
}

#[tokio::test]
async fn bad_requests_get_a_clear_4xx_and_store_nothing() -> Result<()> {
    let daemon = Daemon::start(
        "[http]\nallowed_bases = [\"http://127.0.0.1:9/api\"]\n\n[api]\naddr = \"127.0.0.1:0\"\nbody_limit = 4096\n",
    );
    let client = support::api_client();
    let url = format!("{}/v1/jobs", daemon.url);
    let good_payload = json!({ "url": "http://127.0.0.1:9/api/items/1" });
    let huge = "x".repeat(10_000);
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        (
            "malformed JSON",
            client.post(&url).body("{\"kind\": "),
            400,
            "bad_json",
        ),
        (
            "not an object",
            client.post(&url).body("[1, 2]"),
            422,
            "invalid_request",
        ),
        (
            "unknown field",
            client
                .post(&url)
                .json(&json!({ "kind": "http", "payload": good_payload, "priority": 5 })),
            422,
            "unknown field `priority`",
        ),
        (
            "wrong type",
            client
                .post(&url)
                .json(&json!({ "kind": 7, "payload": good_payload })),
            422,
            "`kind` must be a string",
        ),
        (
            "missing field",
            client.post(&url).json(&json!({ "kind": "http" })),
            422,
            "missing field `payload`",
        ),
        (
            "oversized body",
            client
                .post(&url)
                .json(&json!({ "kind": "http", "payload": huge })),
            413,
            "too_large",
        ),
        (
            "URL outside the allowed bases",
            client.post(&url).json(
                &json!({ "kind": "http", "payload": { "url": "http://169.254.169.254/latest" } }),
            ),
            422,
            "refused",
        ),
        (
            "unknown kind",
            client
                .post(&url)
                .json(&json!({ "kind": "email", "payload": {} })),
            422,
            "unknown_kind",
        ),
        (
            "run_at and delay together",
            client.post(&url).json(
                &json!({ "kind": "http", "payload": good_payload, "run_at": 0, "delay": "5s" }),
            ),
            422,
            "not both",
        ),
        (
            "bad delay",
            client
                .post(&url)
                .json(&json!({ "kind": "http", "payload": good_payload, "delay": "soonish" })),
            422,
            "invalid_duration",
        ),
        (
            "one bad job in a batch",
            client.post(&url).json(&json!({ "jobs": [
                { "kind": "http", "payload": good_payload },
                { "kind": "http", "payload": { "url": "http://10.0.0.1/" } },
            ] })),
            422,
            "jobs[1]",
        ),
        (
            "bad job id",
            client.get(format!("{}/v1/jobs/abc", daemon.url)),
            400,
            "invalid_id",
        ),
        (
            // Found by the `api_request` fuzz target: axum's own rejection was plain text.
            "job id that is not UTF-8 once decoded",
            client.get(format!("{}/v1/jobs/%9f", daemon.url)),
            400,
            "invalid_id",
        ),
        (
            "dead job id that is not UTF-8 once decoded",
            client.get(format!("{}/v1/dead/1%C3", daemon.url)),
            400,
            "invalid_id",
        ),
        (
            "unknown query parameter",
            client.get(format!("{}/v1/dead?kindd=x", daemon.url)),
            400,
            "invalid_query",
        ),
        (
            "purge without an age",
            client.delete(format!("{}/v1/dead", daemon.url)),
            400,
            "older_than",
        ),
        (
            "requeue with two selectors",
            client
                .post(format!("{}/v1/dead/requeue", daemon.url))
                .json(&json!({ "ids": [1], "all": true })),
            422,
            "exactly one",
        ),
        (
            // Found by schemathesis: serde reads a struct from an array, so `[null]`
            // paused the queue although every documented body is an object.
            "an array where a pause body belongs",
            client
                .post(format!("{}/v1/queues/default/pause", daemon.url))
                .body("[null]"),
            422,
            "must be a JSON object",
        ),
        (
            "an array where a requeue body belongs",
            client
                .post(format!("{}/v1/dead/requeue", daemon.url))
                .body("[[1], null, true, false]"),
            422,
            "must be a JSON object",
        ),
        (
            "unknown endpoint",
            client.get(format!("{}/v2/everything", daemon.url)),
            404,
            "not_found",
        ),
    ];
    for (what, request, status, needle) in cases {
        let response = request.send().await?;
        let got = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(got, status, "{what}: {body}");
        let text = body.to_string();
        assert!(
            text.contains(needle),
            "{what}: expected `{needle}` in {text}"
        );
        assert!(
            body["error"]["message"].is_string(),
            "{what}: a JSON error body"
        );
    }
    assert_eq!(enqueued(&client, &daemon).await?, 0, "nothing was stored");
    let queues: Value = client
        .get(format!("{}/v1/queues", daemon.url))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        queues["queues"][0]["paused"],
        json!(false),
        "a refused pause paused nothing: {queues}"
    );

    // And a good one is accepted.
    let ok = client
        .post(&url)
        .json(&json!({ "kind": "http", "payload": good_payload, "delay": "1h" }))
        .send()
        .await?;
    assert_eq!(ok.status().as_u16(), 201);
    assert_eq!(enqueued(&client, &daemon).await?, 1);
    Ok(())
}
