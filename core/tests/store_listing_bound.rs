//! A job listing with a filter that skips almost everything still answers each page
//! after a bounded scan: the page comes back short (here empty) with a cursor, and the
//! next page goes on from there.

use tenax_core::{JobFilter, ListState, MAX_SCAN, NewJob, Result, Store, StoreOptions};

#[test]
fn a_selective_filter_stops_each_page_after_the_scan_bound_and_resumes_from_its_cursor()
-> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), StoreOptions::default())?;
    let skipped: Vec<NewJob> = (0..MAX_SCAN + 5)
        .map(|_| NewJob::new("common", b"{}".to_vec()))
        .collect();
    store.enqueue_batch(skipped)?;
    let rare = store.enqueue(NewJob::new("rare", b"{}".to_vec()))?.id();

    let filter = JobFilter::new(ListState::Waiting).kind("rare");
    let first = store.jobs(&filter, None, 10)?;
    assert!(
        first.jobs.is_empty(),
        "the bound cuts the page before the match"
    );
    let next = first.next.expect("a cursor: more may follow");
    let second = store.jobs(&filter, Some(next), 10)?;
    let ids: Vec<_> = second.jobs.iter().map(|j| j.id).collect();
    assert_eq!(ids, [rare]);
    assert!(
        second.next.is_none(),
        "the end of the index ends the listing"
    );
    Ok(())
}
