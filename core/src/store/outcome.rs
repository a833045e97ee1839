//! The outcomes of a claimed job: `complete`, `retry`, `bury`, `release`.
//!
//! Each checks the lease first (fencing) and is one atomic batch. They do not wait for
//! the disk: they are synced within the flush interval, and a power cut inside that
//! window at worst makes the job run again (see the crate docs).

use super::{Batch, RunningJob, Shared, Store, WriteState};
use crate::keys::DuePos;
use crate::{Error, Job, JobError, Lease, Result, StateUpdate, Timestamp};

impl Store {
    /// The job succeeded: it leaves the store (counted as completed).
    pub fn complete(&self, lease: &Lease, state: Option<StateUpdate<'_>>) -> Result<()> {
        let shared = &self.shared;
        let mut st = shared.lock();
        let running = fenced(&st, lease)?;
        let mut batch = Batch::new(shared);
        batch.delete_running(lease.id, lease.token);
        batch.delete_job(lease.id);
        if let Some(key) = &running.dedup_key {
            batch.release_dedup(&lease.queue, key, lease.id)?;
        }
        let counts = batch.counts(&st, &lease.queue);
        counts.running = counts.running.saturating_sub(1);
        counts.completed += 1;
        if let Some(update) = state {
            batch.put_state(update);
        }
        batch.commit(&mut st)?;
        st.running.remove(&lease.id);
        Ok(())
    }

    /// The attempt failed and the job runs again at `run_at`: the attempt count goes up
    /// and `error` is recorded, in the same write.
    pub fn retry(
        &self,
        lease: &Lease,
        run_at: Timestamp,
        error: JobError,
        state: Option<StateUpdate<'_>>,
    ) -> Result<()> {
        self.shared.finish(lease, state, |job, batch, st| {
            job.attempt = job.attempt.saturating_add(1);
            job.last_error = Some(error);
            job.run_at = run_at;
            let pos = DuePos { run_at, id: job.id };
            batch.put_due(&job.queue, pos);
            batch.counts(st, &job.queue).add_pending(job.attempt);
            st.lower_cursor(&job.queue, pos);
            true
        })
    }

    /// The job failed for good: it moves to the dead letter queue with its final error,
    /// counted as a failed attempt.
    pub fn bury(
        &self,
        lease: &Lease,
        error: JobError,
        state: Option<StateUpdate<'_>>,
    ) -> Result<()> {
        let now = self.now();
        self.shared.finish(lease, state, |job, batch, st| {
            job.attempt = job.attempt.saturating_add(1);
            job.last_error = Some(error);
            job.dead_at = Some(now);
            batch.put_dead(job);
            batch.counts(st, &job.queue).dead += 1;
            false
        })
    }

    /// Gives a claimed job back without counting an attempt (for shutdown): it is due
    /// again at once, at its old place in the queue.
    pub fn release(&self, lease: &Lease) -> Result<()> {
        self.shared.finish(lease, None, |job, batch, st| {
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

impl Shared {
    /// The common shape of retry, bury and release: check the lease, read the record, let
    /// `apply` change it, write it back with the running key gone. `apply` returns whether
    /// the job is claimable again (to wake sleeping workers).
    fn finish(
        &self,
        lease: &Lease,
        state: Option<StateUpdate<'_>>,
        apply: impl FnOnce(&mut Job, &mut Batch<'_>, &mut WriteState) -> bool,
    ) -> Result<()> {
        let mut st = self.lock();
        let dedup_key = fenced(&st, lease)?.dedup_key.clone();
        let mut job = self.read_job(lease.id)?.ok_or(Error::NotFound {
            id: lease.id,
            dead_only: false,
        })?;
        let mut batch = Batch::new(self);
        batch.delete_running(lease.id, lease.token);
        let counts = batch.counts(&st, &lease.queue);
        counts.running = counts.running.saturating_sub(1);
        let wake = apply(&mut job, &mut batch, &mut st);
        if job.dead_at.is_some()
            && let Some(key) = &dedup_key
        {
            batch.release_dedup(&lease.queue, key, lease.id)?;
        }
        batch.put_job(&job);
        if let Some(update) = state {
            batch.put_state(update);
        }
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
