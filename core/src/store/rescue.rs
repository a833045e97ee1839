//! Rescue at open: jobs that were running when the previous process died.
//!
//! Such a job may have been half-done or may have killed the process itself. It goes
//! back to pending with the crash recorded and the attempt counted, so the retry budget
//! still applies; after `crash_limit` crashes it is buried as `crashed` rather than
//! crash-looping the worker (a poison pill).

use super::{Batch, Shared};
use crate::keys::{self, DuePos};
use crate::{Error, JobError, Result};

/// Error class recorded for jobs that were running when the process died.
pub const CRASHED_CLASS: &str = "crashed";

const CHUNK: usize = 1_000;

impl Shared {
    pub(super) fn rescue(&self) -> Result<()> {
        // NOTE: runs inside `open`, before any other thread can reach the store; the scan
        // is under the write lock all the same, so it stays correct if that changes.
        let mut st = self.lock();
        let mut leftovers = Vec::new();
        for item in self.ks.running.iter() {
            let (key, value) = item
                .into_inner()
                .map_err(|e| Error::engine("scan running jobs", e))?;
            let (id, token) = keys::parse_running(&key)
                .ok_or_else(|| Error::corrupt(None, "bad running-index key"))?;
            // Entries written before the queue was stored in them are empty.
            let queue = (!value.is_empty()).then(|| String::from_utf8_lossy(&value).into_owned());
            leftovers.push((id, token, queue));
        }
        let now = self.now();
        for chunk in leftovers.chunks(CHUNK) {
            let mut batch = Batch::new(self);
            for (id, token, queue) in chunk {
                let (id, token) = (*id, *token);
                batch.delete_running(id, token);
                let mut job = match self.read_job(id) {
                    Ok(Some(job)) => job,
                    // No record: nothing is left to rescue.
                    Ok(None) => continue,
                    Err(Error::Corrupt { what, .. }) => {
                        // Counted as dead in the queue it ran in, as a purge will count
                        // it; without a queue (an old entry) the stand-in's own queue
                        // `""` is, and the running count it left cannot be found.
                        if let Some(queue) = queue {
                            let counts = batch.counts(&st, queue);
                            counts.running = counts.running.saturating_sub(1);
                        }
                        batch.quarantine(id, queue.as_deref(), now, &what);
                        batch.counts(&st, queue.as_deref().unwrap_or_default()).dead += 1;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                job.attempt = job.attempt.saturating_add(1);
                job.crashes = job.crashes.saturating_add(1);
                job.last_error = Some(JobError {
                    class: CRASHED_CLASS.to_owned(),
                    message: format!(
                        "the process died while the job was running ({} of {} crashes allowed)",
                        job.crashes, self.opts.crash_limit
                    ),
                    at: now,
                });
                let counts = batch.counts(&st, &job.queue);
                counts.running = counts.running.saturating_sub(1);
                if job.crashes >= self.opts.crash_limit {
                    counts.dead += 1;
                    job.dead_at = Some(now);
                    batch.put_dead(&job);
                    if let Some(key) = &job.dedup_key {
                        batch.release_dedup(&job.queue, key, id)?;
                    }
                } else {
                    counts.add_pending(job.attempt);
                    job.run_at = now;
                    let pos = DuePos { run_at: now, id };
                    batch.put_due(&job.queue, pos);
                    st.lower_cursor(&job.queue, pos);
                }
                batch.put_job(&job);
            }
            batch.commit(&mut st)?;
        }
        drop(st);
        if !leftovers.is_empty() {
            self.wake_workers();
        }
        Ok(())
    }
}
