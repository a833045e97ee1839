//! A scene change reaches Plex through the real daemon: every field, every lock, the
//! poster; once per change, with the data Stash holds when the job runs.

mod support;

use std::time::Duration;

use anyhow::Result;
use reqwest::Method;
use serde_json::json;
use stash2plex::poster::fingerprint;
use support::{World, get, scene};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scene_update_reaches_plex_with_every_field_and_lock() -> Result<()> {
    let w = World::start("").await;
    let key = w.plex.add_item("/mnt/media/studio/Scène « un ».mp4", true);
    let other = w.plex.add_item("/mnt/media/studio/other.mp4", true);
    let mut s = scene(1, "studio/Scène « un ».mp4");
    s.details = "Line one.\r\nLine two & \"quotes\" 100% sûr.\n".into();
    w.stash.put(s.clone());

    w.enqueue(1).await;
    w.plex
        .until(WAIT, "the item edited and its poster uploaded", |st| {
            let i = &st.items[&key];
            i.edits >= 1 && i.poster.is_some()
        })
        .await;
    w.completed(1).await;

    let item = w.plex.item(key);
    assert_eq!(item.title, s.title, "the unicode title arrives intact");
    assert_eq!(item.summary, "Line one.\nLine two & \"quotes\" 100% sûr.");
    assert_eq!(item.studio, "Studio Ø");
    assert_eq!(item.date, "2024-03-05");
    assert_eq!(item.tags["actor"], s.performers);
    assert_eq!(item.tags["genre"], s.tags);
    for field in [
        "title",
        "originallyAvailableAt",
        "studio",
        "summary",
        "actor",
        "genre",
        "thumb",
    ] {
        assert!(
            item.locks.contains(field),
            "{field} is locked: {:?}",
            item.locks
        );
    }
    assert_eq!(
        item.poster.as_deref(),
        Some(fingerprint(b"JPEG cover of 1").as_str())
    );
    assert_eq!(
        (item.edits, item.poster_uploads),
        (1, 1),
        "one edit, one upload"
    );
    let untouched = w.plex.item(other);
    assert_eq!(
        (untouched.edits, untouched.locks.len()),
        (0, 0),
        "no other item is touched"
    );

    // The same scene again: Plex already matches, nothing is sent.
    w.enqueue(1).await;
    w.completed(2).await;
    let again = w.plex.item(key);
    assert_eq!(
        (again.edits, again.poster_uploads),
        (1, 1),
        "a repeated sync edits nothing"
    );

    // A new cover and a removed tag: the upload and one edit of the tags alone.
    w.stash.update(1, |sc| {
        sc.screenshot = Some(b"JPEG cover, second".to_vec());
        sc.tags.retain(|t| t != "Tag A");
    });
    w.enqueue(1).await;
    w.completed(3).await;
    let changed = w.plex.item(key);
    assert_eq!(changed.poster_uploads, 2);
    assert_eq!(
        changed.poster.as_deref(),
        Some(fingerprint(b"JPEG cover, second").as_str())
    );
    assert_eq!(changed.tags["genre"], ["Tag, with comma", "a+b=c"]);
    assert_eq!(changed.edits, 2);
    let counts = w.counts().await;
    assert_eq!(
        (counts["dead"].as_u64(), counts["retrying"].as_u64()),
        (Some(0), Some(0))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_updates_while_the_job_waits_give_one_delivery_with_the_latest_data() -> Result<()> {
    let w = World::start("").await;
    let key = w.plex.add_item("/mnt/media/wait.mp4", true);
    w.stash.put(scene(7, "wait.mp4"));
    let api = w.api();
    let paused = w
        .client
        .post(format!("{api}/v1/queues/default/pause"))
        .json(&json!({ "reason": "test: let the job wait" }))
        .send()
        .await?;
    assert!(paused.status().is_success(), "{}", paused.text().await?);

    // The plugin's two hooks: each save enqueues; the second finds the first waiting.
    w.stash.update(7, |sc| sc.title = "First edit".into());
    let first = w.enqueue(7).await;
    w.stash
        .update(7, |sc| sc.title = "Second edit, the latest".into());
    let second = w.enqueue(7).await;
    assert_eq!(first["id"], second["id"], "one job for the scene");
    assert_eq!(second["status"], "replaced");
    assert_eq!(
        w.stash.find_scene_calls(7),
        0,
        "nothing is read while the job waits"
    );

    let resumed = w
        .client
        .post(format!("{api}/v1/queues/default/resume"))
        .send()
        .await?;
    assert!(resumed.status().is_success());
    w.completed(1).await;
    let item = w.plex.item(key);
    assert_eq!(item.title, "Second edit, the latest");
    assert_eq!(item.edits, 1, "one delivery");
    assert_eq!(
        w.stash.find_scene_calls(7),
        1,
        "the scene was read once, when the job ran"
    );
    assert_eq!(w.plex.count(&Method::PUT, "/library/sections/1/all"), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_payload_is_refused_at_the_door_and_nothing_is_stored() -> Result<()> {
    let w = World::start("").await;
    let api = w.api();
    for payload in [
        json!({}),
        json!({ "scene_id": "12; DROP" }),
        json!({ "scene_id": "1", "plex_token": "x" }),
    ] {
        let answer = w
            .client
            .post(format!("{api}/v1/jobs"))
            .json(&json!({ "kind": "plex-sync", "payload": payload }))
            .send()
            .await?;
        assert_eq!(answer.status(), 422, "{payload} refused");
        let body: serde_json::Value = answer.json().await?;
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("scene_id"),
            "{body}"
        );
    }
    let stats = get(&w.client, &api, "/v1/stats").await;
    assert_eq!(stats["total"]["waiting"], 0);
    Ok(())
}
