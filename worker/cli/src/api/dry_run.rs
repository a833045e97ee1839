//! `dry_run` for the dead-letter operations that act on many jobs: what a requeue or
//! purge would touch, counted with the same selection, with nothing changed.
//!
//! The count reads the dead letters a page at a time, as a listing would; the real
//! operation that follows may see a different set if jobs die, or are requeued or
//! purged, in between.

use serde::Serialize;
use tenax_core::{DeadFilter, DeadSelector, JobStore, Result};

/// How many ids a dry run names.
const SAMPLE: usize = 10;
const PAGE: usize = 1_000;

/// What an operation would do.
#[derive(Serialize, utoipa::ToSchema, Default, Debug)]
pub(crate) struct WouldChange {
    /// How many dead jobs it would act on.
    pub(crate) count: usize,
    /// The first few of them (up to 10), oldest death first.
    pub(crate) first_ids: Vec<u64>,
}

/// The dead jobs `selector` names now.
pub(crate) fn selected(store: &dyn JobStore, selector: &DeadSelector) -> Result<WouldChange> {
    match selector {
        DeadSelector::Ids(ids) => {
            let mut would = WouldChange::default();
            let mut seen = std::collections::HashSet::new();
            for &id in ids.iter().filter(|&&id| seen.insert(id)) {
                if store.dead_job(id)?.is_none() {
                    return Err(tenax_core::Error::NotFound {
                        id,
                        dead_only: true,
                    });
                }
                would.count += 1;
                if would.first_ids.len() < SAMPLE {
                    would.first_ids.push(id.get());
                }
            }
            Ok(would)
        }
        DeadSelector::Filter(f) => matching(store, f),
        DeadSelector::All => matching(store, &DeadFilter::default()),
    }
}

/// The dead jobs `filter` matches now.
pub(crate) fn matching(store: &dyn JobStore, filter: &DeadFilter) -> Result<WouldChange> {
    let mut would = WouldChange::default();
    let mut after = None;
    loop {
        let page = store.dead_jobs(filter, after, PAGE)?;
        would.count += page.jobs.len();
        for job in page
            .jobs
            .iter()
            .take(SAMPLE - would.first_ids.len().min(SAMPLE))
        {
            would.first_ids.push(job.id.get());
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(would),
        }
    }
}
