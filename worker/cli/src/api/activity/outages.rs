//! The breaker outages of one queue over the last day: when each opened, when it closed,
//! and the failure that opened it.

use std::collections::VecDeque;

use serde::Serialize;
use tenax_worker::BreakerState;

/// How far back outages are kept: 24 h.
pub(crate) const KEEP_MS: u64 = 24 * 3600 * 1000;
/// Most outages kept per queue (a flapping breaker must not grow memory).
const MAX_OUTAGES: usize = 500;

/// One outage: from the breaker opening to it closing again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct Outage {
    /// When the breaker opened, Unix milliseconds.
    pub(crate) opened_at_ms: u64,
    /// When it closed again; `null` while the outage lasts.
    pub(crate) closed_at_ms: Option<u64>,
    /// Why it opened, for people.
    pub(crate) cause: String,
    /// The error class of the failure that opened it, when known.
    pub(crate) class: Option<String>,
    /// Probes that failed during the outage (each re-opened the breaker).
    pub(crate) failed_probes: u32,
}

/// The outage log of one queue.
#[derive(Debug, Default)]
pub(crate) struct Outages {
    log: VecDeque<Outage>,
}

impl Outages {
    /// Notes a transition to `to` at `at_ms`.
    pub(crate) fn transition(
        &mut self,
        from: BreakerState,
        to: BreakerState,
        at_ms: u64,
        cause: &str,
        class: Option<&str>,
    ) {
        let ongoing = self.log.back_mut().filter(|o| o.closed_at_ms.is_none());
        match (to, ongoing) {
            (BreakerState::Open, Some(outage)) if from == BreakerState::HalfOpen => {
                outage.failed_probes += 1;
            }
            (BreakerState::Open, _) => self.opened(at_ms, cause.to_owned(), class),
            (BreakerState::Closed, Some(outage)) => outage.closed_at_ms = Some(at_ms),
            _ => {}
        }
        self.prune(at_ms);
    }

    /// Notes an outage that began before this process (from the stored breaker).
    pub(crate) fn resumed(&mut self, opened_at_ms: u64, closed_at_ms: Option<u64>, now_ms: u64) {
        self.log.push_back(Outage {
            opened_at_ms,
            closed_at_ms,
            cause: "opened before the daemon started".to_owned(),
            class: None,
            failed_probes: 0,
        });
        self.prune(now_ms);
    }

    fn opened(&mut self, at_ms: u64, cause: String, class: Option<&str>) {
        if self.log.len() >= MAX_OUTAGES {
            self.log.pop_front();
        }
        self.log.push_back(Outage {
            opened_at_ms: at_ms,
            closed_at_ms: None,
            cause,
            class: class.map(str::to_owned),
            failed_probes: 0,
        });
    }

    /// The outages that overlap the last day before `now_ms`, oldest first.
    pub(crate) fn recent(&self, now_ms: u64) -> Vec<Outage> {
        let since = now_ms.saturating_sub(KEEP_MS);
        self.log
            .iter()
            .filter(|o| o.closed_at_ms.is_none_or(|c| c >= since))
            .cloned()
            .collect()
    }

    fn prune(&mut self, now_ms: u64) {
        let since = now_ms.saturating_sub(KEEP_MS);
        while self
            .log
            .front()
            .is_some_and(|o| o.closed_at_ms.is_some_and(|c| c < since))
        {
            self.log.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BreakerState::{Closed, HalfOpen, Open};

    #[test]
    fn an_outage_runs_from_open_to_closed_and_a_failed_probe_extends_it() {
        let mut log = Outages::default();
        log.transition(
            Closed,
            Open,
            1_000,
            "5 consecutive counted failures",
            Some("unavailable"),
        );
        log.transition(Open, HalfOpen, 2_000, "the recovery timeout passed", None);
        log.transition(HalfOpen, Open, 2_100, "a probe failed", Some("unavailable"));
        let open = log.recent(3_000);
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].closed_at_ms, None);
        assert_eq!(open[0].failed_probes, 1);
        assert_eq!(open[0].class.as_deref(), Some("unavailable"));
        log.transition(Open, HalfOpen, 4_000, "the recovery timeout passed", None);
        log.transition(HalfOpen, Closed, 4_100, "1 probe(s) succeeded", None);
        assert_eq!(log.recent(5_000)[0].closed_at_ms, Some(4_100));
        // A day later it is forgotten.
        assert!(log.recent(4_100 + KEEP_MS + 1).is_empty());
        log.transition(Closed, Open, 4_200 + KEEP_MS, "again", None);
        assert_eq!(log.recent(4_300 + KEEP_MS).len(), 1);
    }
}
