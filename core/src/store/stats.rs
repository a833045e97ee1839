//! Stats from the counters and the head of each due index: no scans.

use std::collections::BTreeMap;

use super::Store;
use crate::{JobId, QueueCounts, Result, Timestamp};

/// The job at the head of a queue's due index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DueJob {
    /// Its id.
    pub id: JobId,
    /// When it is (or was) due. In the past, it is the oldest due job and `now - run_at`
    /// is how far the queue lags.
    pub run_at: Timestamp,
}

/// One queue's counts and head.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStats {
    /// Jobs per state.
    pub counts: QueueCounts,
    /// The pending job due first, if any.
    pub next_due: Option<DueJob>,
}

/// Counts per state, per queue and in total.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// When the stats were taken, by the store's clock.
    pub at: Timestamp,
    /// Per queue, by name.
    pub queues: BTreeMap<String, QueueStats>,
    /// Sum over all queues.
    pub total: QueueCounts,
}

impl Stats {
    /// The oldest job that is due and not yet claimed, over all queues.
    pub fn oldest_due(&self) -> Option<DueJob> {
        self.queues
            .values()
            .filter_map(|q| q.next_due)
            .filter(|d| d.run_at <= self.at)
            .min_by_key(|d| (d.run_at, d.id))
    }
}

impl Store {
    /// Current counts per state and queue, and the head of each queue.
    pub fn stats(&self) -> Result<Stats> {
        let shared = &self.shared;
        let counts = shared.lock().counts.clone();
        let mut stats = Stats {
            at: shared.now(),
            ..Stats::default()
        };
        for (queue, c) in counts {
            let next_due = shared.head(&queue)?.map(|p| DueJob {
                id: p.id,
                run_at: p.run_at,
            });
            stats.total += c;
            stats.queues.insert(
                queue,
                QueueStats {
                    counts: c,
                    next_due,
                },
            );
        }
        Ok(stats)
    }
}
