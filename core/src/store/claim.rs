//! `claim`: hand due jobs to exactly one holder each.

use std::sync::Arc;

use super::{Batch, RunningJob, Store};
use crate::keys::{self, DuePos};
use crate::{Claimed, Error, JobId, Lease, Result, Timestamp};

impl Store {
    /// Claims up to `max` jobs of `queue` that are due now, oldest `run_at` first.
    ///
    /// Each job goes to exactly one caller; its lease must accompany the outcome. A job
    /// that is not yet due is never returned, and never holds back due jobs.
    pub fn claim(&self, queue: &str, max: usize) -> Result<Vec<Claimed>> {
        let shared = &self.shared;
        if max == 0 {
            return Ok(Vec::new());
        }
        let now = shared.now();
        let mut st = shared.lock();
        let cursor = st.cursor(queue);
        let from = keys::due(queue, cursor);
        let to = keys::due(
            queue,
            DuePos {
                run_at: now,
                id: JobId::new(u64::MAX),
            },
        );
        let mut queue_name: Option<Arc<str>> = None;
        let mut batch = Batch::new(shared);
        let mut claimed = Vec::new();
        let mut last = None;
        for item in shared.ks.due.range(from..=to).take(max) {
            let key = item.key().map_err(|e| Error::engine("scan due index", e))?;
            let pos = keys::parse_due(&key, queue)
                .ok_or_else(|| Error::corrupt(None, "bad due-index key"))?;
            last = Some(pos);
            batch.delete_due(queue, pos);
            let job = match shared.read_job(pos.id) {
                Ok(Some(job)) => job,
                Ok(None) => continue, // an index key whose job is gone: drop the key
                Err(Error::Corrupt { what, .. }) => {
                    let counts = batch.counts(&st, queue);
                    counts.waiting = counts.waiting.saturating_sub(1);
                    batch.quarantine(pos.id, Some(queue), now, &what);
                    batch.counts(&st, queue).dead += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let token = batch.next_seq(&mut st);
            batch.put_running(job.id, token, queue);
            let counts = batch.counts(&st, queue);
            counts.remove_pending(job.attempt);
            counts.running += 1;
            let lease = Lease {
                id: job.id,
                token,
                queue: queue_name.get_or_insert_with(|| Arc::from(queue)).clone(),
            };
            claimed.push(Claimed { lease, job });
        }
        let Some(last) = last else {
            return Ok(claimed);
        };
        batch.commit(&mut st)?;
        for c in &claimed {
            let running = RunningJob {
                token: c.lease.token,
                dedup_key: c.job.dedup_key.as_deref().map(Box::from),
                claimed_at: now,
                cancelled: false,
            };
            st.running.insert(c.job.id, running);
        }
        st.cursors.insert(queue.to_owned(), successor(last));
        Ok(claimed)
    }

    /// When the next job of `queue` is due (possibly in the past), or `None` if the queue
    /// has no pending job. A worker sleeps until then or until [`listen`](Store::listen)
    /// fires, whichever is first.
    pub fn next_due(&self, queue: &str) -> Result<Option<Timestamp>> {
        Ok(self.shared.head(queue)?.map(|pos| pos.run_at))
    }
}

impl super::Shared {
    /// The first live due position of `queue`, found from the cursor.
    pub(super) fn head(&self, queue: &str) -> Result<Option<DuePos>> {
        let st = self.lock();
        let from = keys::due(queue, st.cursor(queue));
        let to = keys::due(
            queue,
            DuePos {
                run_at: Timestamp::from_millis(u64::MAX),
                id: JobId::new(u64::MAX),
            },
        );
        let first = self.ks.due.range(from..=to).next();
        drop(st);
        let Some(item) = first else {
            return Ok(None);
        };
        let key = item.key().map_err(|e| Error::engine("scan due index", e))?;
        keys::parse_due(&key, queue)
            .map(Some)
            .ok_or_else(|| Error::corrupt(None, "bad due-index key"))
    }
}

/// The smallest position after `pos`: a lower bound for what is left after consuming it.
fn successor(pos: DuePos) -> DuePos {
    match pos.id.get().checked_add(1) {
        Some(id) => DuePos {
            run_at: pos.run_at,
            id: JobId::new(id),
        },
        None => DuePos {
            run_at: Timestamp::from_millis(pos.run_at.as_millis().saturating_add(1)),
            id: JobId::new(0),
        },
    }
}
