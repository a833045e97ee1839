//! A tour of tenax-core on a real store: enqueue, claim, fail, retry, bury, requeue,
//! complete, and what the stats say at each step.
//!
//! Run it with `cargo run -p tenax-examples --example queue_tour`. It uses a temporary
//! data directory (or the one given as the first argument) and a manual clock, so the
//! retry delays pass instantly.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tenax_core::{
    DeadFilter, DeadSelector, DedupMode, JobError, ManualClock, NewJob, Stats, Store, StoreOptions,
    Timestamp,
};

fn main() -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| temp.path().to_owned(), Into::into);
    let clock = ManualClock::new(Timestamp::from(std::time::SystemTime::now()));
    let store = Store::open(&dir, StoreOptions::default().clock(Arc::new(clock.clone())))
        .with_context(|| format!("opening the store in {}", dir.display()))?;
    println!("store opened in {}", dir.display());

    // Three media items to refresh on a media server; the second is asked for twice.
    for item in ["movie-1", "movie-2", "movie-2", "show-7"] {
        let payload = format!(r#"{{"refresh":"{item}"}}"#).into_bytes();
        let job = NewJob::new("refresh", payload).with_dedup_key(item, DedupMode::KeepExisting);
        let outcome = store.enqueue(job)?;
        println!("enqueue {item:<8} -> {outcome:?}");
    }
    show(&store.stats()?);

    // First delivery round: movie-1 succeeds, movie-2 is not indexed yet (404), show-7 is
    // rejected for good (400).
    for claimed in store.claim("default", 10)? {
        let payload = String::from_utf8_lossy(&claimed.job.payload).into_owned();
        let error = |class: &str, message: &str| JobError {
            class: class.into(),
            message: message.into(),
            at: store.now(),
        };
        if payload.contains("movie-1") {
            store.complete(&claimed.lease, None)?;
            println!("job {} {payload}: delivered", claimed.job.id);
        } else if payload.contains("movie-2") {
            let run_at = store.now().saturating_add(Duration::from_secs(30));
            store.retry(&claimed.lease, run_at, error("not_found", "404"), None)?;
            println!("job {} {payload}: 404, retry in 30 s", claimed.job.id);
        } else {
            store.bury(&claimed.lease, error("permanent", "400 bad request"), None)?;
            println!("job {} {payload}: 400, buried", claimed.job.id);
        }
    }
    show(&store.stats()?);
    println!(
        "claimable now: {} (the retry is not due until {:?})",
        store.claim("default", 10)?.len(),
        store.next_due("default")?
    );

    clock.advance(Duration::from_secs(30));
    for claimed in store.claim("default", 10)? {
        println!(
            "job {} attempt {} after {:?}: delivered",
            claimed.job.id,
            claimed.job.attempt + 1,
            claimed.job.last_error.as_ref().map(|e| &e.message)
        );
        store.complete(&claimed.lease, None)?;
    }

    let dead = store.dead_jobs(&DeadFilter::default(), None, 10)?;
    for job in &dead.jobs {
        let error = job.last_error.as_ref().map(|e| e.message.as_str());
        println!("dead letter: job {} ({error:?}); requeueing it", job.id);
    }
    store.requeue(&DeadSelector::All)?;
    for claimed in store.claim("default", 10)? {
        store.complete(&claimed.lease, None)?;
        println!("job {} delivered after requeue", claimed.job.id);
    }
    let stats = store.stats()?;
    show(&stats);
    anyhow::ensure!(stats.total.completed == 3 && stats.total.live() == 0);
    println!("all {} jobs accounted for", stats.total.enqueued);
    Ok(())
}

fn show(stats: &Stats) {
    let t = stats.total;
    println!(
        "  stats: waiting {} retrying {} running {} dead {} completed {}",
        t.waiting, t.retrying, t.running, t.dead, t.completed
    );
}
