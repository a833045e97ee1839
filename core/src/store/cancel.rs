//! `cancel`: an operator withdraws a job, and `delete_dead`: an operator drops one dead
//! letter.
//!
//! A pending job goes straight to the dead letters as `cancelled` (one batch), so it can
//! still be seen and requeued. A running job cannot be stopped from here: its running
//! entry is marked instead (in memory and on disk, in one batch), and the outcome that
//! ends the attempt reads the mark under the same lock: a retry or release buries it
//! as `cancelled`, a completion still completes (the downstream already did the work),
//! and a rescue after a crash buries it as `cancelled` too.

use super::{Batch, Store};
use crate::keys::DuePos;
use crate::{Error, JobError, JobId, Result};

/// Error class of a job an operator cancelled.
pub const CANCELLED_CLASS: &str = "cancelled";

/// What [`Store::cancel`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cancel {
    /// The job was pending; it is now in the dead letters as `cancelled`.
    Buried,
    /// The job is running; the outcome of the claim with this lease token will bury it
    /// as `cancelled` unless it completes.
    Marked {
        /// The token of the marked claim.
        token: u64,
    },
    /// The job was already dead; nothing changed.
    AlreadyDead,
}

impl Store {
    /// Cancels a pending or running job (see the module docs). `NotFound` when no job
    /// has this id (it completed, was purged, or never was).
    pub fn cancel(&self, id: JobId) -> Result<Cancel> {
        let shared = &self.shared;
        let mut st = shared.lock();
        let not_found = Error::NotFound {
            id,
            dead_only: false,
        };
        let mut job = shared.read_job(id)?.ok_or(not_found)?;
        if job.dead_at.is_some() {
            return Ok(Cancel::AlreadyDead);
        }
        let mut batch = Batch::new(shared);
        if let Some(running) = st.running.get(&id) {
            let token = running.token;
            if running.cancelled {
                return Ok(Cancel::Marked { token });
            }
            batch.mark_running_cancelled(id, token, &job.queue);
            batch.commit(&mut st)?;
            if let Some(running) = st.running.get_mut(&id) {
                running.cancelled = true;
            }
            return Ok(Cancel::Marked { token });
        }
        let now = shared.now();
        batch.delete_due(
            &job.queue,
            DuePos {
                run_at: job.run_at,
                id,
            },
        );
        if let Some(key) = &job.dedup_key {
            batch.release_dedup(&job.queue, key, id)?;
        }
        let counts = batch.counts(&st, &job.queue);
        counts.remove_pending(job.attempt);
        counts.dead += 1;
        job.last_error = Some(JobError {
            class: CANCELLED_CLASS.to_owned(),
            message: "cancelled by an operator before it ran again".to_owned(),
            at: now,
        });
        job.dead_at = Some(now);
        batch.put_dead(&job);
        batch.put_job(&job);
        batch.commit(&mut st)?;
        Ok(Cancel::Buried)
    }

    /// Deletes one dead letter. `NotFound` (dead only) when no dead job has this id; of
    /// two concurrent deletes of one id, exactly one succeeds.
    pub fn delete_dead(&self, id: JobId) -> Result<()> {
        let shared = &self.shared;
        let mut st = shared.lock();
        let job = shared
            .read_job(id)?
            .filter(|j| j.dead_at.is_some())
            .ok_or(Error::NotFound {
                id,
                dead_only: true,
            })?;
        let mut batch = Batch::new(shared);
        batch.delete_dead(&job);
        batch.delete_job(id);
        let counts = batch.counts(&st, &job.queue);
        counts.dead = counts.dead.saturating_sub(1);
        batch.commit(&mut st)?;
        Ok(())
    }
}
