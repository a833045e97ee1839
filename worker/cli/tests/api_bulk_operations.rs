//! Bulk cancel (by ids and by filter, bounded per request, with dry runs) and the dead
//! letters grouped by class and normalised message, against a real daemon.

mod support;

use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use support::daemon::{Daemon, eventually};
use support::scripted::Scripted;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_cancel_counts_what_it_touches_and_stops_at_its_bound() -> Result<()> {
    let daemon = Daemon::start("[http]\nallowed_bases = [\"http://127.0.0.1:9/\"]\n");
    let client = support::api_client();
    let url = |path: &str| format!("{}{path}", daemon.url);
    let cancel = async |body: Value| -> Result<(u16, Value)> {
        let r = client
            .post(url("/v1/jobs/cancel"))
            .json(&body)
            .send()
            .await?;
        Ok((r.status().as_u16(), r.json().await?))
    };
    // 1,505 waiting jobs: 5 of kind http in queue default, then 1,500 more.
    let job = |i: usize| json!({ "kind": "http", "delay": "1h", "payload": { "url": format!("http://127.0.0.1:9/{i}") } });
    let jobs: Vec<Value> = (0..1_505).map(job).collect();
    for chunk in jobs.chunks(1_000) {
        let r = client
            .post(url("/v1/jobs"))
            .json(&json!({ "jobs": chunk }))
            .send()
            .await?;
        assert_eq!(r.status().as_u16(), 201);
    }

    // By ids: a dry run counts, then the cancel moves exactly those; unknown ids skip.
    let (status, dry) = cancel(json!({ "ids": [1, 2, 3, 999999], "dry_run": true })).await?;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(
        dry["would_cancel"],
        json!({ "count": 3, "first_ids": [1, 2, 3] })
    );
    assert_eq!(
        (dry["cancelled"].clone(), dry["skipped"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(
        daemon.stats(&client).await["total"]["dead"],
        0,
        "a dry run changes nothing"
    );
    let (_, done) = cancel(json!({ "ids": [1, 2, 3, 999999] })).await?;
    assert_eq!(done["cancelled"], 3, "{done}");
    assert_eq!(done["skipped"], 1, "{done}");
    let (_, again) = cancel(json!({ "ids": [1] })).await?;
    assert_eq!(
        (again["cancelled"].clone(), again["skipped"].clone()),
        (json!(0), json!(1))
    );

    // By filter: the dry run counts every match; the cancel stops at 1,000 and says so.
    let filter = json!({ "state": "waiting", "queue": "default", "kind": "http" });
    let (_, dry) = cancel(json!({ "filter": filter, "dry_run": true })).await?;
    assert_eq!(dry["would_cancel"]["count"], 1_502, "{dry}");
    assert_eq!(dry["more"], false);
    let (_, first) = cancel(json!({ "filter": filter })).await?;
    assert_eq!(first["cancelled"], 1_000, "{first}");
    assert_eq!(first["more"], true, "{first}");
    let next = first["next"].as_str().expect("a cursor").to_owned();
    let (_, rest) = cancel(json!({ "filter": filter, "cursor": next })).await?;
    assert_eq!(rest["cancelled"], 502, "{rest}");
    assert_eq!(rest["more"], false, "{rest}");
    let stats = daemon.stats(&client).await;
    assert_eq!(stats["total"]["dead"], 1_505, "{stats}");
    assert_eq!(stats["total"]["waiting"], 0, "{stats}");
    let (_, none) = cancel(json!({ "filter": filter, "dry_run": true })).await?;
    assert_eq!(none["would_cancel"]["count"], 0);

    // Refused: no selector, both, too many ids, dead jobs, a bad cursor.
    for (body, code) in [
        (json!({}), 422),
        (json!({ "ids": [1], "filter": filter }), 422),
        (json!({ "ids": [] }), 422),
        (json!({ "ids": [9_223_372_036_854_775_808u64] }), 422),
        (json!({ "ids": (1..=1_001).collect::<Vec<u64>>() }), 422),
        (json!({ "filter": { "state": "dead" } }), 422),
        (json!({ "filter": { "queue": "default" } }), 422),
        (json!({ "filter": filter, "cursor": "zz" }), 400),
        (json!([1]), 422),
    ] {
        let (status, answer) = cancel(body.clone()).await?;
        assert_eq!(status, code, "{body}: {answer}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_group_by_class_and_by_message_with_the_numbers_folded() -> Result<()> {
    let downstream = Scripted::start().await;
    let daemon = Daemon::start(&format!(
        "[http]\nallowed_bases = [\"{}/\"]\n[queues.default]\n[queues.other]\n",
        downstream.base
    ));
    let client = support::api_client();
    let url = |path: &str| format!("{}{path}", daemon.url);
    // Permanent failures: 4 "item N is invalid", 2 "gone since N", and 1 in `other`.
    let mut jobs = Vec::new();
    for i in [17, 23, 4096, 5] {
        jobs.push(json!({ "kind": "http", "payload": { "url": downstream.status_url(400, &format!("item%20{i}%20is%20invalid")) } }));
    }
    for i in [1, 2] {
        jobs.push(json!({ "kind": "http", "payload": { "url": downstream.status_url(410, &format!("gone%20since%20{i}")) } }));
    }
    jobs.push(json!({ "kind": "http", "queue": "other", "payload": { "url": downstream.status_url(400, "item%209%20is%20invalid") } }));
    let r = client
        .post(url("/v1/jobs"))
        .json(&json!({ "jobs": jobs }))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 201);
    // And 2 cancelled in `default`.
    let later = json!({ "kind": "http", "delay": "1h", "payload": { "url": downstream.status_url(200, "x") } });
    let r = client
        .post(url("/v1/jobs"))
        .json(&json!({ "jobs": [later, later] }))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 201);
    let r = client
        .post(url("/v1/jobs/cancel"))
        .json(&json!({ "filter": { "state": "waiting" } }))
        .send()
        .await?;
    assert_eq!(r.json::<Value>().await?["cancelled"], 2);
    eventually(Duration::from_secs(30), async || {
        let stats = daemon.stats(&client).await;
        (stats["total"]["dead"] == 9).then_some(())
    })
    .await;

    let groups: Value = client
        .get(url("/v1/dead/groups?queue=default"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(groups["scanned"], 8, "{groups}");
    assert_eq!(groups["complete"], true);
    let by_class: Vec<(String, u64)> = groups["by_class"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            (
                g["class"].as_str().unwrap_or("").to_owned(),
                g["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        by_class,
        [("permanent".to_owned(), 6), ("cancelled".to_owned(), 2)],
        "{groups}"
    );
    let messages = groups["by_message"].as_array().cloned().unwrap_or_default();
    let counts: Vec<u64> = messages
        .iter()
        .filter_map(|g| g["count"].as_u64())
        .collect();
    assert_eq!(counts, [4, 2, 2], "{groups}");
    assert!(
        messages[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("item # is invalid")),
        "{groups}"
    );
    // Each example is a dead letter of its group.
    for group in &messages {
        let id = group["example_id"].as_u64().expect("an example");
        let job: Value = client
            .get(url(&format!("/v1/dead/{id}")))
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(job["last_error"]["class"], group["class"], "{job}");
    }
    let all: Value = client
        .get(url("/v1/dead/groups"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(all["scanned"], 9);
    assert_eq!(
        all["by_message"][0]["count"], 5,
        "the other queue's joins: {all}"
    );
    let r = client
        .get(url("/v1/dead/groups?queue=default&x=1"))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 400);
    Ok(())
}
