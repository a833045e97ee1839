//! A schedule as `GET /v1/schedules` and `tenax schedule list` show it: read from the
//! configuration and the stored mark, on the store's clock.

use serde::{Deserialize, Serialize};
use tenax_core::{JobStore, Timestamp};

use super::{Mark, Schedule};

/// One schedule, its last fired tick and its next fire time (RFC 3339, UTC).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct ScheduleView {
    /// The schedule's `name`.
    pub(crate) name: String,
    /// `cron "0 * * * *" (UTC)` or `every 15m`.
    pub(crate) timing: String,
    /// `one` or `all`.
    pub(crate) catch_up: String,
    /// Where each tick's job goes.
    pub(crate) queue: String,
    /// The job kind of each tick.
    pub(crate) kind: String,
    /// The latest tick that enqueued a job; absent before the first.
    pub(crate) last_fired: Option<String>,
    /// When the next tick fires (at the latest: a missed tick fires at once).
    pub(crate) next_fire: Option<String>,
}

impl ScheduleView {
    /// Every schedule in configuration order.
    pub(crate) fn all(
        store: &dyn JobStore,
        schedules: &[Schedule],
    ) -> tenax_core::Result<Vec<ScheduleView>> {
        let now = store.now();
        schedules
            .iter()
            .map(|s| {
                let mark = store.state(&s.state_key())?.and_then(|b| Mark::decode(&b));
                Ok(ScheduleView::of(s, mark, now))
            })
            .collect()
    }

    fn of(s: &Schedule, mark: Option<Mark>, now: Timestamp) -> ScheduleView {
        let covered = mark.map_or(now, |m| m.covered());
        let next = s.timing.next_after(covered);
        ScheduleView {
            name: s.name.clone(),
            timing: s.timing_text.clone(),
            catch_up: match s.catch_up {
                super::CatchUp::One => "one",
                super::CatchUp::All => "all",
            }
            .to_owned(),
            queue: s.queue.clone(),
            kind: s.kind.clone(),
            last_fired: mark
                .and_then(|m| m.last_fired)
                .map(|ms| rfc3339(Timestamp::from_millis(ms))),
            next_fire: next.map(rfc3339),
        }
    }
}

fn rfc3339(t: Timestamp) -> String {
    humantime::format_rfc3339_millis(t.to_system_time()).to_string()
}
