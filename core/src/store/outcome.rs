//! The outcomes of a claimed job: `complete`, `retry`, `bury`, `release`.
//!
//! Each checks the lease first (fencing) and is one atomic batch. They do not wait for
//! the disk: they are synced within the flush interval, and a power cut inside that
//! window at worst makes the job run again (see the crate docs). Each failed or released
//! attempt is appended to the job's history in that same batch.
//!
//! A running job an operator cancelled (see [`Store::cancel`]) carries a flag on its
//! running entry. Its outcome reads the flag under the same lock: a retry or a release
//! buries it as `cancelled` instead, since nobody wants it run again; a completion still
//! completes (the downstream already did the work) and a bury keeps its own class.
//!
//! A worker value written with an outcome (the breaker's state) may expect a version
//! (see [`crate::state`]); if it changed meanwhile, the whole outcome is refused with
//! [`Error::StateConflict`] and the lease still holds the job.

use std::time::Duration;

use super::{Batch, RunningJob, Shared, Store, WriteState};
use crate::attempt::{self, Attempt, AttemptOutcome};
use crate::keys::DuePos;
use crate::{CANCELLED_CLASS, Error, Job, Lease, Result, StateUpdate, Timestamp};

impl Store {
    /// The job succeeded: it leaves the store (counted as completed).
    pub fn complete(&self, lease: &Lease, state: Option<StateUpdate<'_>>) -> Result<()> {
        let shared = &self.shared;
        let mut st = shared.lock();
        let running = fenced(&st, lease)?;
        let mut batch = Batch::new(shared);
        if running.cancelled {
            batch.delete_running_strong(lease.id, lease.token);
        } else {
            batch.delete_running(lease.id, lease.token);
        }
        batch.delete_job(lease.id);
        if let Some(key) = &running.dedup_key {
            batch.release_dedup(&lease.queue, key, lease.id)?;
        }
        if let Some(update) = state {
            batch.put_state(&st, update)?;
        }
        let counts = batch.counts(&st, &lease.queue);
        counts.running = counts.running.saturating_sub(1);
        counts.completed += 1;
        batch.commit(&mut st)?;
        st.running.remove(&lease.id);
        Ok(())
    }

    /// The attempt failed and the job runs again at `run_at`: the attempt count goes up,
    /// the attempt joins the history and its error becomes `last_error`, in one write.
    /// A cancelled job is buried as `cancelled` instead.
    pub fn retry(
        &self,
        lease: &Lease,
        run_at: Timestamp,
        attempt: impl Into<Attempt>,
        state: Option<StateUpdate<'_>>,
    ) -> Result<()> {
        let attempt = attempt.into();
        let now = self.now();
        self.shared
            .finish(lease, state, |job, batch, st, cancelled| {
                job.attempt = job.attempt.saturating_add(1);
                job.last_error = Some(attempt.error());
                if cancelled {
                    bury_cancelled(job, batch, st, attempt, now);
                    return false;
                }
                attempt::record(&mut job.attempts, attempt, AttemptOutcome::Retry);
                job.run_at = run_at;
                let pos = DuePos { run_at, id: job.id };
                batch.put_due(&job.queue, pos);
                batch.counts(st, &job.queue).add_pending(job.attempt);
                st.lower_cursor(&job.queue, pos);
                true
            })
    }

    /// The job failed for good: it moves to the dead letter queue with its final error,
    /// counted as a failed attempt, the attempt in its history.
    pub fn bury(
        &self,
        lease: &Lease,
        attempt: impl Into<Attempt>,
        state: Option<StateUpdate<'_>>,
    ) -> Result<()> {
        let attempt = attempt.into();
        let now = self.now();
        self.shared.finish(lease, state, |job, batch, st, _| {
            job.attempt = job.attempt.saturating_add(1);
            job.last_error = Some(attempt.error());
            attempt::record(&mut job.attempts, attempt, AttemptOutcome::Dead);
            job.dead_at = Some(now);
            batch.put_dead(job);
            batch.counts(st, &job.queue).dead += 1;
            false
        })
    }

    /// Gives a claimed job back without counting an attempt (for shutdown): it is due
    /// again at once, at its old place in the queue, with a `released` entry (from the
    /// claim to now) in its history. A cancelled job is buried as `cancelled` instead.
    pub fn release(&self, lease: &Lease) -> Result<()> {
        let now = self.now();
        self.shared
            .finish(lease, None, |job, batch, st, cancelled| {
                let claimed_at = st.running.get(&job.id).map_or(now, |r| r.claimed_at);
                let mut attempt = Attempt::failed(claimed_at, now.since(claimed_at), "", "");
                if cancelled {
                    attempt.class = CANCELLED_CLASS.to_owned();
                    attempt.message = "cancelled while running; released at shutdown".into();
                    job.last_error = Some(attempt.error());
                    bury_cancelled(job, batch, st, attempt, now);
                    return false;
                }
                attempt.message = "released at shutdown; no attempt counted".into();
                attempt::record(&mut job.attempts, attempt, AttemptOutcome::Released);
                let pos = DuePos {
                    run_at: job.run_at,
                    id: job.id,
                };
                batch.put_due(&job.queue, pos);
                batch.counts(st, &job.queue).add_pending(job.attempt);
                st.lower_cursor(&job.queue, pos);
                true
            })
    }
}

/// Buries a job an operator cancelled while it ran: its attempt is recorded as
/// `cancelled` and it waits in the dead letters under that class (requeue brings it
/// back). Its failure stays in the history entry.
fn bury_cancelled(
    job: &mut Job,
    batch: &mut Batch<'_>,
    st: &WriteState,
    attempt: Attempt,
    now: Timestamp,
) {
    let ended = attempt.ended_at();
    attempt::record(&mut job.attempts, attempt, AttemptOutcome::Cancelled);
    let mut error = job
        .last_error
        .take()
        .unwrap_or_else(|| Attempt::failed(ended, Duration::ZERO, CANCELLED_CLASS, "").error());
    error.message = format!(
        "cancelled by an operator while running ({}: {})",
        error.class, error.message
    );
    error.class = CANCELLED_CLASS.to_owned();
    job.last_error = Some(error);
    job.dead_at = Some(now);
    batch.put_dead(job);
    batch.counts(st, &job.queue).dead += 1;
}

impl Shared {
    /// The common shape of retry, bury and release: check the lease, read the record, let
    /// `apply` change it (told whether an operator cancelled the job), write it back with
    /// the running key gone. `apply` returns whether the job is claimable again (to wake
    /// sleeping workers).
    fn finish(
        &self,
        lease: &Lease,
        state: Option<StateUpdate<'_>>,
        apply: impl FnOnce(&mut Job, &mut Batch<'_>, &mut WriteState, bool) -> bool,
    ) -> Result<()> {
        let mut st = self.lock();
        let running = fenced(&st, lease)?;
        let dedup_key = running.dedup_key.clone();
        let cancelled = running.cancelled;
        let mut job = self.read_job(lease.id)?.ok_or(Error::NotFound {
            id: lease.id,
            dead_only: false,
        })?;
        let mut batch = Batch::new(self);
        // First, so that a conflict refuses the transition before anything is staged.
        if let Some(update) = state {
            batch.put_state(&st, update)?;
        }
        if cancelled {
            batch.delete_running_strong(lease.id, lease.token);
        } else {
            batch.delete_running(lease.id, lease.token);
        }
        let counts = batch.counts(&st, &lease.queue);
        counts.running = counts.running.saturating_sub(1);
        let wake = apply(&mut job, &mut batch, &mut st, cancelled);
        if job.dead_at.is_some()
            && let Some(key) = &dedup_key
        {
            batch.release_dedup(&lease.queue, key, lease.id)?;
        }
        batch.put_job(&job);
        batch.commit(&mut st)?;
        st.running.remove(&lease.id);
        drop(st);
        if wake {
            self.wake_workers();
        }
        Ok(())
    }
}

/// The running entry of the lease's job, if the lease is the current one.
fn fenced<'a>(st: &'a WriteState, lease: &Lease) -> Result<&'a RunningJob> {
    match st.running.get(&lease.id) {
        Some(r) if r.token == lease.token => Ok(r),
        _ => Err(Error::StaleLease { id: lease.id }),
    }
}
