//! What the breaker looks like from outside: for the API, the CLI and the demo.

use serde::Serialize;
use tenax_core::{JobStore, Timestamp};
use tenax_policies::BreakerSettings;

use crate::breaker::{Breaker, BreakerState, Snapshot};
use crate::{Error, Result};

/// A breaker's state as shown to people and programs. Times are Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreakerView {
    /// The queue whose breaker it is.
    pub queue: String,
    /// Closed, open or half-open.
    pub state: BreakerState,
    /// Consecutive counted failures while closed.
    pub consecutive_failures: u32,
    /// The policy's threshold, at the time of the view.
    pub failure_threshold: u32,
    /// How many times the breaker has opened, ever.
    pub openings: u64,
    /// When it last opened.
    pub opened_at_ms: Option<u64>,
    /// While open: when probing starts.
    pub probe_at_ms: Option<u64>,
    /// Probe jobs running now, in every process serving the queue.
    pub probes_in_flight: u32,
    /// When it last closed after an outage (the recovery ramp's start).
    pub closed_at_ms: Option<u64>,
}

impl BreakerView {
    pub(crate) fn of(
        queue: &str,
        breaker: &Breaker,
        cfg: &BreakerSettings,
        now: Timestamp,
    ) -> Self {
        let snap = breaker.snapshot();
        let opened = snap.openings > 0;
        BreakerView {
            queue: queue.to_owned(),
            state: snap.state,
            consecutive_failures: snap.failures,
            failure_threshold: cfg.failure_threshold,
            openings: snap.openings,
            opened_at_ms: opened.then(|| snap.opened_at.as_millis()),
            probe_at_ms: (snap.state == BreakerState::Open)
                .then(|| breaker.open_until(cfg).as_millis()),
            probes_in_flight: breaker.probes_in_flight(now),
            closed_at_ms: snap.closed_at.map(Timestamp::as_millis),
        }
    }

    /// The breaker of `queue` as stored, for when no worker is running (the CLI).
    ///
    /// # Errors
    /// A store error, or [`Error::BreakerState`] when the record is unreadable.
    pub fn from_store(store: &dyn JobStore, queue: &str, cfg: &BreakerSettings) -> Result<Self> {
        let breaker = Breaker::new(load_snapshot(store, queue)?);
        Ok(BreakerView::of(queue, &breaker, cfg, store.now()))
    }
}

/// The stored snapshot of `queue`'s breaker; a fresh one when none is stored.
pub(crate) fn load_snapshot(store: &dyn JobStore, queue: &str) -> Result<Snapshot> {
    match store.state(&Snapshot::key(queue))? {
        None => Ok(Snapshot::default()),
        Some(bytes) => Snapshot::decode(&bytes).map_err(|reason| Error::BreakerState {
            queue: queue.to_owned(),
            reason,
        }),
    }
}
