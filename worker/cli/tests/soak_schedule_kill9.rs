//! The crash soak's schedule mode: a real `tenax run` daemon with a schedule that ticks
//! every second, killed with SIGKILL at random moments (before its first tick, right
//! after a tick, between ticks) and restarted on the same data directory each time. At
//! the end, no tick has two jobs.
//!
//! Each tick's job goes to a downstream that refuses it for good (422), so every job
//! ends in the dead letters with its dedup key `schedule:<name>:<tick-ms>`, where the
//! test counts them: a dead job no longer holds its key, so a tick fired again after
//! its job died would show as a second dead letter with the same key. (The job's own
//! redelivery after a kill is not a second tick: it is the same job.)
//!
//! `TENAX_SOAK_KILLS` sets the number of kills (default 8), `TENAX_SOAK_SEED` the seed.
//! The main crash soak (`soak_kill9.rs`) accounts for every delivery by job number, so
//! the schedule runs here, beside it, with the same knobs and random source.

mod soak;
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Result;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use soak::Rng;
use support::daemon::{Daemon, eventually};

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

#[tokio::test(flavor = "multi_thread")]
async fn a_schedule_fires_once_per_tick_across_kill_9() -> Result<()> {
    let kills: u64 = std::env::var("TENAX_SOAK_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let seed: u64 = std::env::var("TENAX_SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.as_nanos() as u64)
        });
    let mut rng = Rng::new(seed);
    let (base, hits) = refusing_downstream().await;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let extra = format!(
        "[store]\ncrash_limit = 100\n[http]\nallowed_bases = [\"{base}/\"]\n\n\
         [[schedules]]\nname = \"every-second\"\nevery = \"1s\"\nkind = \"http\"\n\
         payload = {{ method = \"POST\", url = \"{base}/tick\" }}\n"
    );

    let mut lives_with_a_tick = 0;
    for _ in 0..kills {
        let mut daemon = Daemon::start_at(tempfile::tempdir()?, &data, &extra);
        // Half the kills come right after a tick was written, the rest at any moment.
        if rng.below(2) == 0 {
            daemon
                .wait_for_log("scheduled job enqueued", Duration::from_secs(30))
                .expect("a tick fired");
            lives_with_a_tick += 1;
        }
        tokio::time::sleep(rng.pause(0, 1_500)).await;
        daemon.kill9();
    }

    let mut daemon = Daemon::start_at(tempfile::tempdir()?, &data, &extra);
    daemon
        .wait_for_log("scheduled job enqueued", Duration::from_secs(30))
        .expect("the schedule still fires");
    let client = support::api_client();
    assert!(daemon.stop().success());
    // Reopen without the schedule's next ticks racing the count: the same data, no
    // schedule, and every job settles (refused, so dead).
    let quiet = format!("[store]\ncrash_limit = 100\n[http]\nallowed_bases = [\"{base}/\"]\n");
    let daemon = Daemon::start_at(tempfile::tempdir()?, &data, &quiet);
    let total = eventually(Duration::from_secs(60), async || {
        let total = daemon.stats(&client).await["total"].clone();
        (total["dead"] == total["enqueued"]).then_some(total)
    })
    .await;
    let page: Value = client
        .get(format!("{}/v1/dead?limit=1000", daemon.url))
        .send()
        .await?
        .json()
        .await?;
    let mut per_tick: BTreeMap<String, u32> = BTreeMap::new();
    for job in page["jobs"].as_array().expect("jobs") {
        let key = job["dedup_key"].as_str().expect("a tick's key").to_owned();
        *per_tick.entry(key).or_default() += 1;
    }
    let doubled: Vec<_> = per_tick.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        doubled.is_empty(),
        "ticks with two jobs (seed {seed}): {doubled:?}"
    );
    assert_eq!(
        per_tick.len() as u64,
        total["enqueued"].as_u64().expect("enqueued"),
        "every job is one tick's"
    );
    assert!(
        per_tick.len() as u64 > lives_with_a_tick,
        "ticks fired in every life that waited for one, and after the last restart"
    );
    assert!(hits.load(Ordering::SeqCst) >= per_tick.len() as u64);
    eprintln!(
        "schedule soak: seed {seed}, {kills} kills, {} ticks, {} deliveries",
        per_tick.len(),
        hits.load(Ordering::SeqCst)
    );
    Ok(())
}
