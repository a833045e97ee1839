//! Watching the breaker: turns its published states into milestones and outage lengths.
//!
//! The worker publishes its breaker through a `watch` channel, which keeps only the
//! latest value: a probe that fails within a millisecond of the half-open state can make
//! us see `Open` followed by `Open` again. So transitions are read from the counters and
//! timestamps the view carries (`openings`, `opened_at_ms`, `closed_at_ms`), not only
//! from the state, and nothing is missed however the updates are coalesced.

use std::time::Duration;

use tenax_worker::{BreakerState, BreakerView};
use tokio::sync::{mpsc, watch};

/// What the breaker did during the demo.
#[derive(Clone, Debug, Default)]
pub(crate) struct BreakerLog {
    /// Times it went from closed to open: one per outage it noticed.
    pub(crate) outages: u32,
    /// Times it opened, failed probes included.
    pub(crate) openings: u64,
    /// For each outage that ended: how long the breaker kept the queue paused.
    pub(crate) paused: Vec<Duration>,
    /// The view last seen.
    last: Option<BreakerView>,
    /// When the current outage began (Unix ms), while the breaker is not closed.
    outage_began_ms: Option<u64>,
}

impl BreakerLog {
    /// Takes in a newly published view; returns a line for people when something
    /// worth telling happened.
    pub(crate) fn observe(&mut self, view: &BreakerView) -> Option<String> {
        let before = self.last.replace(view.clone());
        let (was, opened_before) = before
            .as_ref()
            .map_or((BreakerState::Closed, 0), |v| (v.state, v.openings));
        self.openings = view.openings;
        let reopened = view.openings > opened_before;
        match (was, view.state) {
            (BreakerState::Closed, BreakerState::Closed) if reopened => {
                // A whole outage between two looks: count it all the same.
                self.outages += 1;
                let paused = self.pause_ended(view);
                Some(format!(
                    "breaker opened and closed again within {:.1} s",
                    paused.as_secs_f64()
                ))
            }
            (BreakerState::Closed, BreakerState::Closed) => None,
            (BreakerState::Closed, _) => {
                self.outages += 1;
                self.outage_began_ms = view.opened_at_ms;
                Some(format!(
                    "breaker OPEN after {} consecutive failures: claiming paused, waiting jobs keep their attempts",
                    view.failure_threshold
                ))
            }
            (_, BreakerState::Closed) => {
                let paused = self.pause_ended(view);
                Some(format!(
                    "breaker CLOSED: a probe got through; the queue was paused {:.1} s; draining with the recovery ramp",
                    paused.as_secs_f64()
                ))
            }
            (_, BreakerState::Open) if reopened => {
                Some("breaker probe failed: open again until the next probe".to_owned())
            }
            (BreakerState::Open, BreakerState::HalfOpen) => {
                Some("breaker HALF-OPEN: letting one probe job through".to_owned())
            }
            _ => None,
        }
    }

    /// Records the end of the current outage and returns how long it paused the queue.
    fn pause_ended(&mut self, view: &BreakerView) -> Duration {
        let began = self.outage_began_ms.take().or(view.opened_at_ms);
        let paused = match (began, view.closed_at_ms) {
            (Some(began), Some(closed)) => Duration::from_millis(closed.saturating_sub(began)),
            _ => Duration::ZERO,
        };
        self.paused.push(paused);
        paused
    }
}

/// Follows `breaker` until the worker stops publishing (it has shut down), sending
/// milestones to `notes`; returns the log.
pub(crate) async fn follow(
    mut breaker: watch::Receiver<BreakerView>,
    notes: mpsc::UnboundedSender<String>,
) -> BreakerLog {
    let mut log = BreakerLog::default();
    while breaker.changed().await.is_ok() {
        let view = breaker.borrow_and_update().clone();
        if let Some(line) = log.observe(&view) {
            let _ = notes.send(line);
        }
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(state: BreakerState, openings: u64, opened: u64, closed: Option<u64>) -> BreakerView {
        BreakerView {
            queue: "default".into(),
            state,
            consecutive_failures: 0,
            failure_threshold: 5,
            openings,
            opened_at_ms: (openings > 0).then_some(opened),
            probe_at_ms: None,
            probes_in_flight: 0,
            closed_at_ms: closed,
        }
    }

    #[test]
    fn a_coalesced_outage_is_measured_from_its_first_opening() {
        let mut log = BreakerLog::default();
        assert!(
            log.observe(&view(BreakerState::Open, 1, 1_000, None))
                .is_some()
        );
        // Half-open and the failed probe were coalesced: only the new opening shows.
        let again = log.observe(&view(BreakerState::Open, 2, 3_000, None));
        assert!(again.is_some_and(|l| l.contains("probe failed")));
        assert!(
            log.observe(&view(BreakerState::HalfOpen, 2, 3_000, None))
                .is_some()
        );
        assert!(
            log.observe(&view(BreakerState::Closed, 2, 3_000, Some(5_500)))
                .is_some()
        );
        assert_eq!(log.outages, 1);
        assert_eq!(log.openings, 2);
        assert_eq!(log.paused, [Duration::from_millis(4_500)]);
    }
}
