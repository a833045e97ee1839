//! Rescue at open: jobs that were running when the previous process died.
//!
//! Such a job may have been half-done or may have killed the process itself. It goes
//! back to pending with the crash recorded and the attempt counted, so the retry budget
//! still applies; after `crash_limit` crashes it is buried as `crashed` rather than
//! crash-looping the worker (a poison pill). A job an operator cancelled while it ran
//! is buried as `cancelled` instead. Either way the crash joins its attempt history.

use std::time::Duration;

use super::{Batch, Shared};
use crate::attempt::{self, Attempt, AttemptOutcome};
use crate::keys::{self, DuePos};
use crate::{CANCELLED_CLASS, Error, Result};

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
            let (queue, cancelled) = keys::parse_running_value(&value);
            leftovers.push((id, token, queue, cancelled));
        }
        let now = self.now();
        for chunk in leftovers.chunks(CHUNK) {
            let mut batch = Batch::new(self);
            for (id, token, queue, cancelled) in chunk {
                let (id, token, cancelled) = (*id, *token, *cancelled);
                if cancelled {
                    batch.delete_running_strong(id, token);
                } else {
                    batch.delete_running(id, token);
                }
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
                let crash = Attempt::failed(
                    now,
                    Duration::ZERO,
                    CRASHED_CLASS,
                    format!(
                        "the process died while the job was running ({} of {} crashes allowed)",
                        job.crashes, self.opts.crash_limit
                    ),
                );
                job.last_error = Some(crash.error());
                let counts = batch.counts(&st, &job.queue);
                counts.running = counts.running.saturating_sub(1);
                let buried = cancelled || job.crashes >= self.opts.crash_limit;
                let outcome = match (cancelled, buried) {
                    (true, _) => AttemptOutcome::Cancelled,
                    (false, true) => AttemptOutcome::Dead,
                    (false, false) => AttemptOutcome::Retry,
                };
                attempt::record(&mut job.attempts, crash, outcome);
                if cancelled && let Some(e) = &mut job.last_error {
                    e.message = format!("cancelled by an operator while running ({})", e.message);
                    e.class = CANCELLED_CLASS.to_owned();
                }
                if buried {
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
