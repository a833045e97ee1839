//! The bounded scan of dead-letter operations: a hold of the write lock reads a bounded
//! number of index entries, whatever the filter matches.

use std::collections::HashSet;

use super::DeadFilter;
use crate::{Durability, JobError, JobId, NewJob, Store, StoreOptions};

/// A store with `n` dead jobs; those whose position is in `rare` have class `rare`, the
/// others `common`. Returns the ids of the rare ones.
fn store_with_dead(dir: &std::path::Path, n: usize, rare: &[usize]) -> (Store, Vec<JobId>) {
    let opts = StoreOptions::default().durability(Durability::Buffered);
    let s = Store::open(dir, opts).expect("open");
    let jobs = (0..n).map(|_| NewJob::new("a", Vec::new())).collect();
    s.enqueue_batch(jobs).expect("enqueue");
    let mut rare_ids = Vec::new();
    for (i, c) in s
        .claim("default", n)
        .expect("claim")
        .into_iter()
        .enumerate()
    {
        let class = if rare.contains(&i) { "rare" } else { "common" };
        if class == "rare" {
            rare_ids.push(c.job.id);
        }
        let error = JobError {
            class: class.into(),
            message: "no".into(),
            at: s.now(),
        };
        s.bury(&c.lease, error, None).expect("bury");
    }
    (s, rare_ids)
}

#[test]
fn a_hold_reads_at_most_its_scan_bound_even_when_nothing_matches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, _) = store_with_dead(dir.path(), 12, &[11]);
    let rare = DeadFilter::default().class("rare");
    let (entries, next) = s.shared.scan_dead(&rare, None, 1_000, 4).expect("scan");
    assert!(entries.is_empty());
    let next = next.expect("stopped at the bound, with more to read");
    let all = s
        .shared
        .list_dead(&DeadFilter::default(), None, 100)
        .expect("list")
        .0;
    assert_eq!(next.id, all[3].job.id, "went on from the fourth entry read");
    let (entries, _) = s
        .shared
        .scan_dead(&rare, Some(next), 1_000, 4)
        .expect("scan");
    assert!(entries.is_empty(), "entries 5 to 8 do not match");
}

#[test]
fn a_filter_moves_exactly_its_matches_a_bounded_scan_per_hold() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, rare_ids) = store_with_dead(dir.path(), 40, &[0, 17, 39]);
    let rare = DeadFilter::default().class("rare");
    let mut holds = 0;
    let mut moved_ids = Vec::new();
    let mut seen = HashSet::new();
    let moved = s
        .shared
        .for_each_dead_chunk_scanning(&rare, 4, |sh, st, entries| {
            holds += 1;
            assert!(entries.len() <= 4, "at most the scan bound per hold");
            let fresh: Vec<_> = entries
                .into_iter()
                .filter(|e| e.intact && seen.insert(e.job.id))
                .map(|e| e.job)
                .collect();
            moved_ids.extend(fresh.iter().map(|j| j.id));
            sh.requeue_jobs(st, fresh)
        })
        .expect("requeue");
    assert_eq!(moved, 3);
    assert_eq!(moved_ids, rare_ids);
    assert_eq!(holds, 10, "40 entries read 4 at a time");
    let left = s
        .dead_jobs(&DeadFilter::default(), None, 100)
        .expect("list");
    assert_eq!(left.jobs.len(), 37);
    let report = s.check_consistency().expect("check");
    assert!(report.is_consistent(), "{report}");
}
