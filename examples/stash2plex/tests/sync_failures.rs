//! How the daemon copes with Plex and Stash at their worst: a file not scanned yet, a
//! low-confidence match, an outage and a restart, a wrong token, failing Stash calls.
//! Each failure lands in its error class, and nothing is lost.

mod support;

use std::time::Duration;

use anyhow::Result;
use reqwest::Method;
use serde_json::Value;
use support::mock_plex::Mode;
use support::{World, eventually, get, scene};

const WAIT: Duration = Duration::from_secs(30);

/// Waits until the job's last error has `class` and it failed at least `attempts` times.
async fn failing(w: &World, id: &Value, class: &str, attempts: u64) -> Value {
    eventually(WAIT, &format!("job {id} failing as {class}"), async || {
        let job = w.job(id).await;
        let ok = job["last_error"]["class"] == class && job["attempt"].as_u64() >= Some(attempts);
        ok.then_some(job)
    })
    .await
}

async fn dead(w: &World, id: &Value) -> Value {
    eventually(WAIT, &format!("job {id} dead"), async || {
        let job = w.job(id).await;
        (job["state"] == "dead").then_some(job)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unscanned_file_is_retried_as_not_found_and_lands_once_scanned() -> Result<()> {
    let w = World::start("").await;
    let key = w.plex.add_item("/mnt/media/new/fresh.mp4", false);
    w.stash.put(scene(3, "new/fresh.mp4"));
    let accepted = w.enqueue(3).await;

    let job = failing(&w, &accepted["id"], "not_found", 3).await;
    assert!(
        job["last_error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("not scanned yet"),
        "{job}"
    );
    let breaker = get(&w.client, &w.api(), "/v1/breaker").await;
    assert_eq!(
        breaker["state"], "closed",
        "not_found never trips the breaker: {breaker}"
    );
    assert_eq!(
        w.plex.count(&Method::PUT, "/library/sections"),
        0,
        "nothing edited meanwhile"
    );

    w.plex.scan();
    w.plex
        .until(WAIT, "the scanned item edited", |s| {
            s.items[&key].edits == 1
        })
        .await;
    w.completed(1).await;
    assert_eq!(w.plex.item(key).title, scene(3, "").title);
    assert_eq!(w.counts().await["dead"], 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_name_match_in_another_folder_is_never_edited_under_strict_matching() -> Result<()> {
    let w = World::start("").await;
    // Same file name, another folder: the path mapping does not lead there.
    let key = w.plex.add_item("/elsewhere/Lookalike.mp4", true);
    w.stash.put(scene(4, "shoots/lookalike.mp4"));
    let accepted = w.enqueue(4).await;

    let job = failing(&w, &accepted["id"], "not_found", 3).await;
    let message = job["last_error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("low-confidence"), "{message}");
    assert!(
        message.contains("/elsewhere/Lookalike.mp4"),
        "the candidate is reported: {message}"
    );
    assert_eq!(w.plex.item(key).edits, 0, "never edited");
    assert_eq!(w.plex.count(&Method::PUT, "/library/sections"), 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plex_outage_opens_the_breaker_and_nothing_is_lost() -> Result<()> {
    let mut w = World::start("").await;
    let keys: Vec<u64> = (1..=6)
        .map(|i| {
            w.stash.put(scene(i, &format!("outage/{i}.mp4")));
            w.plex.add_item(&format!("/mnt/media/outage/{i}.mp4"), true)
        })
        .collect();
    w.plex.down().await;
    for i in 1..=6 {
        w.enqueue(i).await;
    }
    let api = w.api();
    eventually(WAIT, "the breaker open", async || {
        let b = get(&w.client, &api, "/v1/breaker").await;
        (b["state"] == "open").then_some(())
    })
    .await;

    // Plex restarts: 503 on everything, /identity included, for a while.
    w.plex.up(Mode::Starting).await;
    let before = w.plex.state().requests.len();
    w.plex
        .until(WAIT, "two health probes answered 503", |s| {
            s.starting_answers >= 2
        })
        .await;
    {
        let s = w.plex.state();
        let touched: Vec<&str> = s.requests[before..]
            .iter()
            .filter(|r| r.path != "/identity")
            .map(|r| r.path.as_str())
            .collect();
        assert!(
            touched.is_empty(),
            "only the health probe while Plex starts: {touched:?}"
        );
    }
    let waiting = w.counts().await;
    assert_eq!(waiting["dead"], 0, "{waiting}");

    w.plex.set_mode(Mode::Up);
    for key in &keys {
        w.plex
            .until(WAIT, "every item edited", |s| s.items[key].edits == 1)
            .await;
    }
    w.completed(6).await;
    let counts = w.counts().await;
    assert_eq!(
        (counts["dead"].as_u64(), counts["waiting"].as_u64()),
        (Some(0), Some(0)),
        "{counts}"
    );
    let breaker = get(&w.client, &api, "/v1/breaker").await;
    assert_eq!(breaker["state"], "closed", "{breaker}");
    assert!(breaker["openings"].as_u64() >= Some(1), "{breaker}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_plex_token_is_permanent_and_goes_to_the_dead_letters_at_once() -> Result<()> {
    let w = World::start("").await;
    w.plex
        .change(|s| s.token = "the-token-plex-expects-now".into());
    w.plex.add_item("/mnt/media/t.mp4", true);
    w.stash.put(scene(5, "t.mp4"));
    let accepted = w.enqueue(5).await;
    let job = dead(&w, &accepted["id"]).await;
    assert_eq!(job["last_error"]["class"], "permanent", "{job}");
    assert_eq!(job["attempt"], 1, "never retried: {job}");
    let message = job["last_error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("401"), "{message}");
    let breaker = get(&w.client, &w.api(), "/v1/breaker").await;
    assert_eq!(
        breaker["consecutive_failures"], 0,
        "a permanent failure blames no outage"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stash_failures_are_classified_like_plex_ones_never_blindly_permanent() -> Result<()> {
    let w = World::start("").await;
    let key = w.plex.add_item("/mnt/media/s.mp4", true);
    w.stash.put(scene(6, "s.mp4"));
    // Stash restarting, then overloaded: retried; then it answers.
    w.stash.state().fail_next = vec![503, 502, 429];
    w.enqueue(6).await;
    w.plex
        .until(WAIT, "edited after Stash recovered", |s| {
            s.items[&key].edits == 1
        })
        .await;
    w.completed(1).await;

    // A wrong API key: permanent. A deleted scene: permanent, and said so.
    w.stash.state().fail_next = vec![401];
    let denied = w.enqueue(6).await;
    let job = dead(&w, &denied["id"]).await;
    assert_eq!(job["last_error"]["class"], "permanent", "{job}");
    assert!(
        job["last_error"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("stash "),
        "{job}"
    );
    let gone = w.enqueue(99).await;
    let job = dead(&w, &gone["id"]).await;
    assert!(
        job["last_error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("Stash has no scene 99"),
        "{job}"
    );
    Ok(())
}
