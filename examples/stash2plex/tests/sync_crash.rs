//! `kill -9` while Plex holds a scene's edit: the edit never happened, nothing recorded
//! it as done, and the daemon completes it once it is back.

mod support;

use std::time::Duration;

use anyhow::Result;
use stash2plex::poster::fingerprint;
use support::mock_plex::Release;
use support::{World, scene};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_in_the_middle_of_an_edit_is_completed_once_the_daemon_is_back() -> Result<()> {
    let mut w = World::start("").await;
    let key = w.plex.add_item("/mnt/media/crash/mid-edit.mp4", true);
    w.stash.put(scene(11, "crash/mid-edit.mp4"));
    w.plex.change(|s| s.hold_edits = true);

    w.enqueue(11).await;
    // The poster went up, then Plex holds the edit request.
    w.plex.until(WAIT, "the edit held", |s| s.held == 1).await;
    assert_eq!(w.plex.item(key).poster_uploads, 1);
    w.daemon.take().expect("daemon").kill9();
    // The request died with the process: Plex never applied it.
    w.plex.release(Release::Discard);
    let item = w.plex.item(key);
    assert_eq!(
        (item.edits, item.locks.len()),
        (0, 0),
        "nothing applied yet"
    );

    w.launch();
    w.plex
        .until(WAIT, "the edit applied after the restart", |s| {
            s.items[&key].edits == 1
        })
        .await;
    w.completed(1).await;
    let item = w.plex.item(key);
    assert_eq!(item.title, scene(11, "").title);
    assert!(
        item.locks.contains("title") && item.locks.contains("thumb"),
        "{:?}",
        item.locks
    );
    // The poster's hash was never stored (the run died before its edit was confirmed),
    // so the same cover went up again: uploading twice is harmless, skipping is not.
    assert_eq!(item.poster_uploads, 2);
    assert_eq!(
        item.poster.as_deref(),
        Some(fingerprint(b"JPEG cover of 11").as_str())
    );
    let counts = w.counts().await;
    assert_eq!(counts["dead"], 0, "{counts}");
    Ok(())
}
