//! Conformance cases for what operators see and do: the attempt history, cancel,
//! deleting one dead letter, and listing jobs by state.

use std::time::Duration;

use super::{Backend, clock, job};
use crate::{
    Attempt, AttemptOutcome, CANCELLED_CLASS, Cancel, DeadSelector, Error, JobFilter, JobId,
    JobState, JobStore, ListState, NewJob, Result,
};

/// Each outcome appends its attempt, in the outcome's own write, and the dead letter
/// keeps the whole history; a reopen reads it back.
pub(super) fn history_records_every_attempt<B: Backend>(b: &mut B) -> Result<()> {
    let clock = clock();
    let s = b.open(clock.clone());
    let id = s.enqueue_batch(vec![job("a")])?[0].id();
    let c = s.claim("default", 1)?;
    let started = s.now();
    clock.advance(Duration::from_millis(250));
    let failed = Attempt::failed(started, Duration::from_millis(250), "transient", "HTTP 503")
        .with_status(Some(503))
        .with_decision(Some(Duration::from_secs(4)), 7);
    s.retry(&c[0].lease, s.now(), failed, None)?;
    let c = s.claim("default", 1)?;
    clock.advance(Duration::from_millis(40));
    s.release(&c[0].lease)?;
    let c = s.claim("default", 1)?;
    let last = Attempt::failed(s.now(), Duration::ZERO, "permanent", "HTTP 400")
        .with_status(Some(400))
        .with_decision(None, 8);
    s.bury(&c[0].lease, last, None)?;
    drop(s);
    let s = b.open(clock);
    let dead = s.dead_job(id)?.expect("the dead letter is kept");
    let outcomes: Vec<AttemptOutcome> = dead.attempts.iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        [
            AttemptOutcome::Retry,
            AttemptOutcome::Released,
            AttemptOutcome::Dead
        ]
    );
    let first = &dead.attempts[0];
    assert_eq!(
        (first.started_at, first.duration, first.status),
        (started, Duration::from_millis(250), Some(503))
    );
    assert_eq!(
        (first.delay, first.policy_version),
        (Some(Duration::from_secs(4)), Some(7))
    );
    assert_eq!(dead.attempts[1].duration, Duration::from_millis(40));
    assert_eq!(
        (dead.attempts[2].class.as_str(), dead.attempts[2].status),
        ("permanent", Some(400))
    );
    assert_eq!(dead.attempt, 2, "the release counted no attempt");
    assert_eq!(
        dead.last_error.map(|e| e.class),
        Some("permanent".to_owned())
    );
    Ok(())
}

/// A pending job is cancelled into the dead letters at once, counters moved, and can
/// be requeued; a dead job is left alone; an unknown id is `NotFound`.
pub(super) fn cancel_buries_a_pending_job<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    let id = s.enqueue_batch(vec![job("a")])?[0].id();
    assert_eq!(s.cancel(id)?, Cancel::Buried);
    let (j, state) = s.job(id)?.expect("kept as a dead letter");
    assert_eq!(state, JobState::Dead);
    assert_eq!(j.last_error.map(|e| e.class), Some(CANCELLED_CLASS.into()));
    assert!(
        s.claim("default", 1)?.is_empty(),
        "a cancelled job never runs"
    );
    let t = s.stats()?.total;
    assert_eq!((t.waiting, t.dead), (0, 1));
    assert_eq!(s.cancel(id)?, Cancel::AlreadyDead);
    assert!(matches!(
        s.cancel(crate::JobId::new(999)),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(s.requeue(&DeadSelector::Ids(vec![id]))?, 1);
    assert_eq!(s.claim("default", 1)?.len(), 1, "requeued, it runs again");
    assert!(s.check_consistency()?.is_consistent());
    Ok(())
}

/// A running job is marked: a retry buries it as `cancelled` (its failure kept in the
/// history), a completion completes it, and the mark survives a crash.
pub(super) fn cancel_marks_a_running_job<B: Backend>(b: &mut B) -> Result<()> {
    let clock = clock();
    let s = b.open(clock.clone());
    let ids: Vec<_> = s
        .enqueue_batch(vec![job("a"), job("b"), job("c")])?
        .iter()
        .map(|e| e.id())
        .collect();
    let c = s.claim("default", 3)?;
    for (id, c) in ids.iter().zip(&c) {
        let token = c.lease.token();
        assert_eq!(s.cancel(*id)?, Cancel::Marked { token });
    }
    let token = c[0].lease.token();
    assert_eq!(
        s.cancel(ids[0])?,
        Cancel::Marked { token },
        "marking twice is harmless"
    );
    let failed = Attempt::failed(s.now(), Duration::ZERO, "transient", "HTTP 503");
    s.retry(&c[0].lease, s.now(), failed, None)?;
    let (j, state) = s.job(ids[0])?.expect("kept as a dead letter");
    assert_eq!(state, JobState::Dead);
    assert_eq!(j.last_error.map(|e| e.class), Some(CANCELLED_CLASS.into()));
    let last = j.attempts.last().expect("the attempt is recorded");
    assert_eq!(
        (last.outcome, last.class.as_str()),
        (AttemptOutcome::Cancelled, "transient")
    );
    s.complete(&c[1].lease, None)?;
    assert!(
        s.job(ids[1])?.is_none(),
        "a cancelled job that succeeded completes"
    );
    drop(s);
    let s = b.open(clock);
    let (j, state) = s.job(ids[2])?.expect("rescued");
    assert_eq!(state, JobState::Dead, "the mark survives a crash");
    assert_eq!(j.last_error.map(|e| e.class), Some(CANCELLED_CLASS.into()));
    let t = s.stats()?.total;
    assert_eq!((t.running, t.dead, t.completed), (0, 2, 1));
    assert!(s.check_consistency()?.is_consistent());
    Ok(())
}

/// One dead letter is deleted by id; a second delete, or a live job, is `NotFound`.
pub(super) fn delete_dead_removes_one_dead_letter<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    let ids: Vec<_> = s
        .enqueue_batch(vec![job("a"), job("b")])?
        .iter()
        .map(|e| e.id())
        .collect();
    s.cancel(ids[0])?;
    s.delete_dead(ids[0])?;
    assert!(s.job(ids[0])?.is_none());
    assert!(matches!(
        s.delete_dead(ids[0]),
        Err(Error::NotFound {
            dead_only: true,
            ..
        })
    ));
    assert!(
        matches!(s.delete_dead(ids[1]), Err(Error::NotFound { .. })),
        "a live job is not a dead letter"
    );
    assert_eq!(s.stats()?.total.dead, 0);
    assert!(s.check_consistency()?.is_consistent());
    Ok(())
}

/// Every id the listing of `filter` returns, page by page of `limit`.
fn list_all<S: JobStore>(s: &S, filter: &JobFilter, limit: usize) -> Result<Vec<JobId>> {
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = s.jobs(filter, after, limit)?;
        assert!(
            page.jobs.len() <= limit,
            "a page holds at most `limit` jobs"
        );
        ids.extend(page.jobs.iter().map(|j| j.id));
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(ids),
        }
    }
}

/// Each state lists exactly its jobs, in index order, across pages, with filters.
pub(super) fn listing_pages_through_each_state<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    let mut batch: Vec<NewJob> = (0..6).map(|_| job("a")).collect();
    batch.push(job("b"));
    batch.push(job("a").with_queue("other"));
    let ids: Vec<JobId> = s.enqueue_batch(batch)?.iter().map(|e| e.id()).collect();
    let claimed = s.claim("default", 3)?;
    // ids[0] retries (due now), ids[1] stays running, ids[2] is buried as permanent.
    s.retry(
        &claimed[0].lease,
        s.now(),
        Attempt::failed(s.now(), Duration::ZERO, "transient", "x"),
        None,
    )?;
    s.bury(
        &claimed[2].lease,
        Attempt::failed(s.now(), Duration::ZERO, "permanent", "x"),
        None,
    )?;
    s.cancel(ids[3])?;
    let waiting = list_all(&s, &JobFilter::new(ListState::Waiting), 2)?;
    assert_eq!(
        waiting,
        [ids[4], ids[5], ids[6], ids[7]],
        "due order, queue by queue"
    );
    let a_default = JobFilter::new(ListState::Waiting)
        .queue("default")
        .kind("a");
    assert_eq!(list_all(&s, &a_default, 1)?, [ids[4], ids[5]]);
    assert_eq!(
        list_all(&s, &JobFilter::new(ListState::Retrying), 5)?,
        [ids[0]]
    );
    let transient = JobFilter::new(ListState::Retrying).class("transient");
    assert_eq!(list_all(&s, &transient, 5)?, [ids[0]]);
    assert_eq!(
        list_all(&s, &JobFilter::new(ListState::Running), 5)?,
        [ids[1]]
    );
    assert_eq!(
        list_all(&s, &JobFilter::new(ListState::Dead), 1)?,
        [ids[2], ids[3]]
    );
    let cancelled = JobFilter::new(ListState::Dead).class(CANCELLED_CLASS);
    assert_eq!(list_all(&s, &cancelled, 5)?, [ids[3]]);
    assert!(list_all(&s, &JobFilter::new(ListState::Dead).kind("zz"), 5)?.is_empty());
    Ok(())
}
