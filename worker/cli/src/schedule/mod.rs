//! Periodic jobs: `[[schedules]]` in the configuration, fired by one task in the daemon.
//!
//! Why a tick fires exactly once: the scheduler stores, per schedule, the latest tick
//! it has handled (its *mark*), in the same write as the tick's job
//! ([`JobStore::enqueue_with_state`](tenax_core::JobStore::enqueue_with_state)). A
//! `kill -9` lands before that write (the tick is still due at the next start and fires
//! then) or after it (the mark says it fired); there is no moment in between. The job
//! also carries the dedup key `schedule:<name>:<tick-ms>`, so that even a mark that was
//! lost with its write could not put a second live job in the queue for one tick.
//!
//! After a stop that missed ticks, the next start fires the latest missed tick only
//! (`catch_up = "one"`), or each of them up to [`MAX_CATCH_UP`](timing::MAX_CATCH_UP) (`catch_up = "all"`).
//! A schedule seen for the first time fires nothing for the past: it stores "covered
//! until now" and waits for its next tick.
//!
//! Ticks are computed on the store's clock, and the task sleeps on tokio time until the
//! earliest next tick of any schedule: no polling.

mod mark;
mod runner;
mod timing;
mod view;
mod zoned;

use tenax_core::{DedupMode, NewJob, Timestamp};

pub(crate) use mark::Mark;
pub(crate) use runner::Scheduler;
pub(crate) use timing::{CatchUp, Timing};
pub(crate) use view::ScheduleView;

/// A checked schedule: when, and the job each tick enqueues.
#[derive(Clone, Debug)]
pub(crate) struct Schedule {
    pub(crate) name: String,
    pub(crate) timing: Timing,
    /// How the timing was written, for people: `cron "0 * * * *" (UTC)` or `every 15m`.
    pub(crate) timing_text: String,
    pub(crate) catch_up: CatchUp,
    pub(crate) queue: String,
    pub(crate) kind: String,
    /// The template's payload as JSON.
    pub(crate) payload: Vec<u8>,
}

impl Schedule {
    /// The store key of this schedule's mark.
    pub(crate) fn state_key(&self) -> String {
        format!("schedule:{}", self.name)
    }

    /// The job for `tick`, with its per-tick dedup key.
    pub(crate) fn job(&self, tick: Timestamp) -> NewJob {
        NewJob::new(self.kind.clone(), self.payload.clone())
            .with_queue(self.queue.clone())
            .with_dedup_key(self.dedup_key(tick), DedupMode::KeepExisting)
    }

    /// `schedule:<name>:<tick-ms>`.
    pub(crate) fn dedup_key(&self, tick: Timestamp) -> String {
        format!("schedule:{}:{}", self.name, tick.as_millis())
    }
}
