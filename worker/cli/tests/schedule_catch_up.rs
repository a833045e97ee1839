//! After a long stop, a schedule fires one catch-up job (the latest missed tick), or
//! each missed tick with `catch_up = "all"`, through the real daemon.
//!
//! A long stop is simulated honestly without waiting for it: the daemon is stopped, the
//! test opens the data directory with the store's own API (as any embedding program
//! could) and sets the schedule's stored mark back three hours, then starts the daemon
//! again. To the scheduler that is exactly a daemon that was down for three hours.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Result;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use support::daemon::{Daemon, eventually, tenax};
use tenax_core::{Store, StoreOptions};

const HOUR_MS: u64 = 3_600_000;

/// A downstream that counts requests and refuses each for good (422), so that every
/// tick's job ends in the dead letters with its dedup key, where the test counts them.
async fn refusing_downstream() -> (String, Arc<AtomicU64>) {
    let hits = Arc::new(AtomicU64::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/tick",
        post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                StatusCode::UNPROCESSABLE_ENTITY
            }
        }),
    );
    (support::serve(app).await, hits)
}

fn config(base: &str, catch_up: &str) -> String {
    format!(
        "[http]\nallowed_bases = [\"{base}/\"]\n\n\
         [[schedules]]\nname = \"hourly\"\nevery = \"1h\"\nkind = \"http\"\ncatch_up = \"{catch_up}\"\n\
         payload = {{ method = \"POST\", url = \"{base}/tick\" }}\n"
    )
}

/// The dedup keys of the dead letters, oldest first.
async fn dead_keys(client: &reqwest::Client, daemon: &Daemon) -> Vec<String> {
    let page: Value = client
        .get(format!("{}/v1/dead?limit=1000", daemon.url))
        .send()
        .await
        .expect("dead letters")
        .json()
        .await
        .expect("JSON");
    let mut keys: Vec<String> = page["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["dedup_key"].as_str().expect("a tick's key").to_owned())
        .collect();
    keys.sort();
    keys
}

/// Sets the stored mark of `hourly` back three hours, as if the daemon had been down.
fn three_hours_of_downtime(data: &Path) -> Result<u64> {
    let store = Store::open(data, StoreOptions::default())?;
    let before = store
        .state("schedule:hourly")?
        .expect("the mark was stored");
    let before: Value = serde_json::from_slice(&before)?;
    let covered = before["covered"].as_u64().expect("covered") - 3 * HOUR_MS;
    let mark = serde_json::json!({ "covered": covered, "last_fired": null });
    store.put_state("schedule:hourly", &serde_json::to_vec(&mark)?)?;
    store.close()?;
    Ok(covered)
}

async fn after_three_hours_down(catch_up: &str) -> Result<(Vec<String>, u64, Value)> {
    let (base, hits) = refusing_downstream().await;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let extra = config(&base, catch_up);
    // First start: the schedule stores "covered until now" and fires nothing old.
    let mut daemon = Daemon::start_at(tempfile::tempdir()?, &data, &extra);
    let client = support::api_client();
    let listed: Value = client
        .get(format!("{}/v1/schedules", daemon.url))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(listed[0]["name"], "hourly", "{listed}");
    assert!(listed[0]["last_fired"].is_null(), "{listed}");
    assert!(daemon.stop().success());

    let covered = three_hours_of_downtime(&data)?;
    let mut daemon = Daemon::start_at(tempfile::tempdir()?, &data, &extra);
    daemon
        .wait_for_log("scheduled job enqueued", Duration::from_secs(30))
        .expect("the catch-up fired");
    // The catch-up is one write; once each of its jobs was refused, all are dead.
    eventually(Duration::from_secs(30), async || {
        let total = &daemon.stats(&client).await["total"];
        (total["enqueued"].as_u64() > Some(0) && total["dead"] == total["enqueued"]).then_some(())
    })
    .await;
    let keys = dead_keys(&client, &daemon).await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        keys.len() as u64,
        "one request per job"
    );
    let listed: Value = client
        .get(format!("{}/v1/schedules", daemon.url))
        .send()
        .await?
        .json()
        .await?;
    Ok((keys, covered, listed))
}

fn tick_of(key: &str) -> u64 {
    key.rsplit(':')
        .next()
        .and_then(|t| t.parse().ok())
        .expect("schedule:<name>:<ms>")
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_long_stop_one_catch_up_job_fires_for_the_latest_missed_tick() -> Result<()> {
    let (keys, covered, listed) = after_three_hours_down("one").await?;
    assert_eq!(
        keys.len(),
        1,
        "one catch-up job, not one per missed hour: {keys:?}"
    );
    let tick = tick_of(&keys[0]);
    assert_eq!(tick % HOUR_MS, 0, "an hourly tick");
    assert!(
        tick > covered + 2 * HOUR_MS,
        "the latest missed tick: {tick} after {covered}"
    );
    assert!(listed[0]["last_fired"].is_string(), "{listed}");
    assert!(listed[0]["next_fire"].is_string(), "{listed}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn tenax_schedule_list_shows_the_last_fired_tick_and_the_next_fire_time() -> Result<()> {
    let (base, _) = refusing_downstream().await;
    let daemon = Daemon::start(&config(&base, "one"));
    let (code, out, err) = tenax(&["schedule", "list", "--api", &daemon.addr]);
    assert_eq!(code, 0, "{err}");
    for shown in [
        "hourly",
        "every 1h",
        "last fired",
        "next fire",
        "http on queue default",
    ] {
        assert!(out.contains(shown), "{shown:?} in {out}");
    }
    let (code, out, err) = tenax(&["schedule", "list", "--json", "--api", &daemon.addr]);
    assert_eq!(code, 0, "{err}");
    let listed: Value = serde_json::from_str(&out)?;
    assert_eq!(listed[0]["timing"], "every 1h", "{listed}");
    assert!(listed[0]["last_fired"].is_null(), "not fired yet: {listed}");
    let next: jiff::Timestamp = listed[0]["next_fire"].as_str().expect("a time").parse()?;
    assert_eq!(next.as_millisecond() % 3_600_000, 0, "on the hour: {next}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_long_stop_catch_up_all_fires_each_missed_tick_once() -> Result<()> {
    let (keys, covered, _) = after_three_hours_down("all").await?;
    let ticks: Vec<u64> = keys.iter().map(|k| tick_of(k)).collect();
    assert_eq!(ticks.len(), 3, "three missed hours: {keys:?}");
    let mut expected: Vec<u64> = (1..=3).map(|h| (covered / HOUR_MS + h) * HOUR_MS).collect();
    expected.sort();
    let mut got = ticks.clone();
    got.sort();
    assert_eq!(got, expected);
    Ok(())
}
