//! Reconciliation, fired by a `[[schedules]]` entry: it pages through Stash's scenes
//! (a chain of one-page jobs) and queues a sync for each scene whose Plex item differs,
//! and for no other.

mod support;

use std::time::Duration;

use anyhow::Result;
use support::{World, scene};

const WAIT: Duration = Duration::from_secs(30);

const SCHEDULE: &str = "reconcile_page_size = 2\nlisting_page_size = 3\n\n\
    [[schedules]]\nname = \"reconcile\"\nevery = \"1s\"\nkind = \"plex-reconcile\"\npayload = {}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_reconciliation_queues_exactly_the_scenes_whose_plex_item_differs() -> Result<()>
{
    let mut w = World::prepared(SCHEDULE).await;
    let keys: Vec<u64> = (1..=4)
        .map(|i| w.plex.add_item(&format!("/mnt/media/r/{i}.mp4"), true))
        .collect();
    for i in 1..=5 {
        w.stash.put(scene(i, &format!("r/{i}.mp4")));
    }
    w.launch();

    // Never synced: every item Plex has differs, and gets synced.
    for key in &keys {
        w.plex
            .until(WAIT, "every item synced", |s| s.items[key].edits == 1)
            .await;
    }
    let line = w
        .daemon()
        .wait_for_log("after_id=4", WAIT)
        .expect("the chain reached its third page");
    assert!(
        line.contains("reconciled a page of scenes") && line.contains("missing=1"),
        "{line}"
    );
    assert_eq!(
        w.stash.find_scene_calls(5),
        0,
        "a scene Plex lacks is not queued"
    );

    // Drift: a Plex agent rewrote item 3 and unlocked it; scene 4 changed in Stash
    // without a hook (the plugin was off).
    w.plex.change(|s| {
        let item = s.items.get_mut(&keys[2]).expect("item 3");
        item.title = "Title from a Plex agent".into();
        item.locks.remove("title");
    });
    w.stash
        .update(4, |sc| sc.studio = Some("New Studio".into()));
    w.plex
        .until(WAIT, "the drifted items synced again", |s| {
            s.items[&keys[2]].edits == 2 && s.items[&keys[3]].edits == 2
        })
        .await;
    assert_eq!(w.plex.item(keys[2]).title, scene(3, "").title);
    assert_eq!(w.plex.item(keys[3]).studio, "New Studio");

    // Two more full passes change nothing more.
    for _ in 0..2 {
        w.daemon()
            .wait_for_log("after_id=4", WAIT)
            .expect("another pass");
    }
    let edits: Vec<u32> = keys.iter().map(|k| w.plex.item(*k).edits).collect();
    assert_eq!(edits, [1, 1, 2, 2], "scenes in sync are never queued");
    assert_eq!(w.stash.find_scene_calls(1), 1);
    assert_eq!(w.counts().await["dead"], 0);
    Ok(())
}
