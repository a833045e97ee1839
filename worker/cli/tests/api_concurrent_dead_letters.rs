//! Concurrent dead-letter operations over HTTP against a real daemon: three requeues of
//! each job by id sent at the same moment (an operator double-clicking, two scripts),
//! with requeue-all and purge calls among them. Once every job is dead again, the stats
//! must say what a listing of every job says, and every delivery must be explained by
//! exactly one requeue that reported it.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use serde_json::{Value, json};
use support::daemon::{Daemon, eventually};

const JOBS: usize = 100;
/// Requeues by id sent at once for each job.
const CLICKS: usize = 3;
/// Storms, each followed by a wait until every job is dead again, and the checks.
const ROUNDS: usize = 4;

type Hits = Arc<Mutex<HashMap<String, u32>>>;

/// A downstream that refuses everything with 400 (permanent) and counts requests per
/// path.
async fn refusing_downstream(hits: Hits) -> String {
    let router = Router::new().fallback(move |req: Request| {
        let hits = hits.clone();
        async move {
            let path = req.uri().path().to_owned();
            *hits.lock().expect("hits").entry(path).or_default() += 1;
            StatusCode::BAD_REQUEST
        }
    });
    support::serve(router).await
}

/// Every dead job, through the dead-letter listing (one page holds them all).
async fn dead_ids(client: &reqwest::Client, daemon: &Daemon) -> Result<Vec<u64>> {
    let page: Value = client
        .get(format!("{}/v1/dead?limit=1000", daemon.url))
        .send()
        .await?
        .json()
        .await?;
    assert!(page["next"].is_null(), "one page holds every dead job");
    let jobs = page["jobs"].as_array().expect("a list of jobs");
    Ok(jobs.iter().filter_map(|j| j["id"].as_u64()).collect())
}

/// Waits until every job is dead or gone (no fixed sleep: polls the API, 60 s at
/// most); returns the ids still stored, in order.
async fn settle(client: &reqwest::Client, daemon: &Daemon, ids: &[u64]) -> Vec<u64> {
    eventually(Duration::from_secs(60), async || {
        let mut kept = Vec::new();
        for &id in ids {
            let r = client
                .get(format!("{}/v1/jobs/{id}", daemon.url))
                .send()
                .await
                .ok()?;
            match r.status().as_u16() {
                404 => {}
                200 => {
                    let job: Value = r.json().await.ok()?;
                    if job["state"] != "dead" {
                        return None;
                    }
                    kept.push(id);
                }
                other => panic!("job {id}: HTTP {other}"),
            }
        }
        Some(kept)
    })
    .await
}

/// What one concurrent call reported.
enum Reported {
    /// A requeue by id that moved its job.
    RequeuedId(u64),
    /// A requeue by id that found its job no longer dead (another call was first).
    NotDead,
    RequeuedAll(u64),
    Purged(u64),
}

async fn requeue_id(client: reqwest::Client, url: String, id: u64) -> Result<Reported> {
    let r = client
        .post(format!("{url}/v1/dead/requeue"))
        .json(&json!({ "ids": [id] }))
        .send()
        .await?;
    let status = r.status().as_u16();
    let body: Value = r.json().await?;
    match status {
        200 => {
            assert_eq!(body["requeued"], 1, "a requeue of one id moves one job");
            Ok(Reported::RequeuedId(id))
        }
        404 => Ok(Reported::NotDead),
        other => panic!("requeue of {id}: HTTP {other} {body}"),
    }
}

async fn requeue_all(client: reqwest::Client, url: String) -> Result<Reported> {
    let r = client
        .post(format!("{url}/v1/dead/requeue"))
        .json(&json!({ "all": true }))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await?;
    Ok(Reported::RequeuedAll(
        body["requeued"].as_u64().expect("a count"),
    ))
}

async fn purge(client: reqwest::Client, url: String) -> Result<Reported> {
    let r = client
        .delete(format!("{url}/v1/dead?older_than=0s"))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await?;
    Ok(Reported::Purged(body["purged"].as_u64().expect("a count")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requeues_and_purges_leave_stats_equal_to_the_jobs() -> Result<()> {
    let hits: Hits = Arc::default();
    let base = refusing_downstream(hits.clone()).await;
    let daemon = Daemon::start(&format!("[http]\nallowed_bases = [\"{base}/\"]\n"));
    let client = support::api_client();

    let jobs: Vec<Value> = (0..JOBS)
        .map(|i| json!({ "kind": "http", "payload": { "url": format!("{base}/items/{i}") } }))
        .collect();
    let r = client
        .post(format!("{}/v1/jobs", daemon.url))
        .json(&json!({ "jobs": jobs }))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 201);
    let accepted: Value = r.json().await?;
    let ids: Vec<u64> = accepted["jobs"]
        .as_array()
        .expect("one answer per job")
        .iter()
        .map(|j| j["id"].as_u64().expect("an id"))
        .collect();
    let path_of: HashMap<u64, String> = ids
        .iter()
        .enumerate()
        .map(|(i, &id)| (id, format!("/items/{i}")))
        .collect();
    settle(&client, &daemon, &ids).await;

    let mut by_id: HashMap<u64, u32> = HashMap::new();
    let (mut not_dead, mut by_all, mut purged) = (0, 0, 0);
    for round in 0..ROUNDS {
        // The storm: three requeues of each id at once, one requeue-all late in it, and
        // in every other storm a purge in the middle.
        let mut calls = tokio::task::JoinSet::new();
        for (n, &id) in ids.iter().enumerate() {
            for _ in 0..CLICKS {
                calls.spawn(requeue_id(client.clone(), daemon.url.clone(), id));
            }
            if n == 3 * JOBS / 4 {
                calls.spawn(requeue_all(client.clone(), daemon.url.clone()));
            }
            // Not in every storm: a purge takes most jobs with it.
            if round % 2 == 1 && n == JOBS / 2 {
                calls.spawn(purge(client.clone(), daemon.url.clone()));
            }
        }
        while let Some(call) = calls.join_next().await {
            match call?? {
                Reported::RequeuedId(id) => *by_id.entry(id).or_default() += 1,
                Reported::NotDead => not_dead += 1,
                Reported::RequeuedAll(n) => by_all += n,
                Reported::Purged(n) => purged += n,
            }
        }
        // Every job is dead again (delivered and refused once per requeue) or purged.
        let kept = settle(&client, &daemon, &ids).await;
        assert_eq!(
            kept.len() as u64,
            JOBS as u64 - purged,
            "jobs still stored, against the purges reported ({purged})"
        );

        // The stats say what the jobs say.
        let stats = daemon.stats(&client).await;
        let total = &stats["total"];
        assert_eq!(
            (
                &total["waiting"],
                &total["retrying"],
                &total["running"],
                &total["dead"]
            ),
            (&json!(0), &json!(0), &json!(0), &json!(kept.len())),
            "stats {stats}"
        );
        let mut listed = dead_ids(&client, &daemon).await?;
        listed.sort_unstable();
        assert_eq!(listed, kept, "the dead-letter listing holds every dead job");
        assert_eq!(total["enqueued"], JOBS, "stats {stats}");
        assert!(
            stats["queues"]["default"]["next_due"].is_null(),
            "nothing is due: {stats}"
        );
    }
    assert!(
        not_dead > 0,
        "some requeues of one id met (got {not_dead} refusals)"
    );

    // One delivery per job, plus one per requeue that reported it: by id exactly, and
    // what requeue-all reported spread over the jobs it moved.
    let hits = hits.lock().expect("hits").clone();
    let mut extra = 0;
    for &id in &ids {
        let delivered = hits.get(&path_of[&id]).copied().unwrap_or(0);
        let want = 1 + by_id.get(&id).copied().unwrap_or(0);
        assert!(
            delivered >= want,
            "job {id} was delivered {delivered} times, requeued by id {} times",
            want - 1
        );
        extra += u64::from(delivered - want);
    }
    assert_eq!(
        extra, by_all,
        "deliveries beyond first delivery and requeues by id are what requeue-all reported"
    );
    Ok(())
}
