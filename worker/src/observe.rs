//! Watching a worker from outside: each outcome it writes and each breaker transition,
//! as it happens.
//!
//! Metrics go through the `metrics` facade and are meant for Prometheus; an embedder that
//! wants the events themselves (a dashboard's per-minute history, an outage log, a test)
//! registers an [`Observer`] with [`WorkerBuilder::observer`](crate::WorkerBuilder::observer)
//! instead of scraping text. Observers run on the worker's loop, right after the store
//! write, so they must be quick and must not block: count, or forward into a channel.

use tenax_core::Timestamp;

use crate::BreakerState;

/// What was written for an ended attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutcomeKind<'a> {
    /// The job completed.
    Completed,
    /// The attempt failed and the job will run again.
    Retried {
        /// The failure's error class.
        class: &'a str,
    },
    /// The job moved to the dead letter queue.
    Buried {
        /// The failure's error class.
        class: &'a str,
    },
    /// The job was given back at shutdown without an attempt counted.
    Released,
}

/// An outcome the worker wrote. Outcomes dropped because the lease was lost (the job was
/// rescued and claimed again) are not reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutcomeEvent<'a> {
    /// The worker's queue.
    pub queue: &'a str,
    /// The job's kind.
    pub kind: &'a str,
    /// What was written.
    pub outcome: OutcomeKind<'a>,
    /// When, by the store's clock.
    pub at: Timestamp,
}

/// A change of a worker's circuit breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerEvent<'a> {
    /// The worker's queue.
    pub queue: &'a str,
    /// The state left.
    pub from: BreakerState,
    /// The state entered.
    pub to: BreakerState,
    /// Why, for people (`5 consecutive counted failures`, `a probe failed`, ...).
    pub reason: &'a str,
    /// The error class of the failure that moved it, when a failure did.
    pub class: Option<&'a str>,
    /// When, by the store's clock.
    pub at: Timestamp,
}

/// Told of a worker's outcomes and breaker transitions; both methods do nothing unless
/// overridden. Called on the worker's loop: keep it quick.
pub trait Observer: Send + Sync + 'static {
    /// An outcome was written.
    fn outcome(&self, event: &OutcomeEvent<'_>) {
        let _ = event;
    }

    /// The breaker changed state.
    fn breaker(&self, event: &BreakerEvent<'_>) {
        let _ = event;
    }
}
