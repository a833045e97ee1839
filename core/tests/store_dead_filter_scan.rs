//! A dead-letter filter over many dead jobs that matches few: the scan is split across
//! holds of the write lock, and the operation still moves exactly the matches, once.

use tenax_core::{
    DeadFilter, DeadSelector, Durability, JobError, NewJob, Result, Store, StoreOptions,
};

/// More than one hold's scan bound of dead jobs.
const DEAD: usize = 9_000;

#[test]
fn a_rare_filter_over_many_dead_jobs_requeues_and_purges_exactly_its_matches() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = StoreOptions::default().durability(Durability::Buffered);
    let store = Store::open(dir.path(), opts)?;
    store.enqueue_batch((0..DEAD).map(|_| NewJob::new("a", Vec::new())).collect())?;
    let rare_at = [0, 4_500, DEAD - 1];
    let mut rare = Vec::new();
    for (i, c) in store.claim("default", DEAD)?.into_iter().enumerate() {
        let class = if rare_at.contains(&i) {
            "rare"
        } else {
            "common"
        };
        if class == "rare" {
            rare.push(c.job.id);
        }
        let error = JobError {
            class: class.into(),
            message: "no".into(),
            at: store.now(),
        };
        store.bury(&c.lease, error, None)?;
    }

    let filter = DeadFilter::default().class("rare");
    assert_eq!(store.requeue(&DeadSelector::Filter(filter.clone()))?, 3);
    let mut requeued: Vec<_> = store
        .claim("default", 10)?
        .into_iter()
        .map(|c| c.job.id)
        .collect();
    requeued.sort();
    assert_eq!(requeued, rare, "exactly the matches, each once");
    assert_eq!(store.requeue(&DeadSelector::Filter(filter))?, 0);
    let common = store.dead_jobs(&DeadFilter::default().class("common"), None, DEAD)?;
    assert_eq!(common.jobs.len(), DEAD - 3);
    let report = store.check_consistency()?;
    assert!(report.is_consistent(), "{report}");
    Ok(())
}
