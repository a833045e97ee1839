//! The circuit breaker: a small state machine fed with (event, now).
//!
//! Why a breaker and not just retries? When the downstream is down, every job would fail,
//! burn an attempt and back off; after an outage of an hour the queue would be full of
//! jobs near their retry limit, or already dead. While the breaker is open the worker
//! claims nothing, so jobs wait where they are and keep their attempts.
//!
//! ```text
//!            counted failures >= threshold
//!   Closed ─────────────────────────────────> Open
//!     ^                                        │ recovery timeout passed
//!     │ enough probe successes                 v
//!     └──────────────────────────────────── HalfOpen ──(counted probe failure)──> Open
//! ```
//!
//! Only failures whose class counts toward the breaker move it (`not_found` does not by
//! default: an item the downstream has not indexed yet says nothing about its health).
//! Half-open admits `half_open_probes` jobs at a time (one by default), never more.
//! Everything here is pure; the worker persists [`Snapshot`]s in the store, in the same
//! write as the outcome that changed them.
//!
//! # One breaker for every process
//!
//! Workers in several processes may serve one queue through a shared store. They share
//! one snapshot: every change is a compare-and-set of the stored record (the worker
//! re-reads it and decides again when another process wrote first), so consecutive
//! failures are counted across processes and an outage opens the breaker once for all.
//! The half-open probes are [`Permit`]s inside the snapshot: a worker takes one, in that
//! same compare-and-set, before claiming a probe job, so `half_open_probes` holds in
//! total, not per process. A permit expires like a lease (its holder renews it), so a
//! process that dies holding one does not stall recovery.

mod ramp;
mod snapshot;

use std::fmt;
use std::time::Duration;

use tenax_core::Timestamp;
use tenax_policies::BreakerSettings;

pub use ramp::ramp_rate;
pub use snapshot::{Permit, Snapshot};

/// Where the breaker is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Jobs flow; counted failures are tallied.
    Closed,
    /// Nothing is claimed until the recovery timeout has passed.
    Open,
    /// A few probe jobs test whether the downstream is back.
    HalfOpen,
}

impl BreakerState {
    /// The name used in logs, metrics and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }

    /// The gauge value: 0 closed, 1 half-open, 2 open.
    pub const fn gauge(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            BreakerState::Open => 2.0,
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many jobs the breaker lets the worker claim right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// As many as there are free slots.
    Open,
    /// At most this many, and each one is a probe.
    Probes(u32),
    /// None until this time (the end of the recovery timeout), or until a probe ends
    /// (`None`).
    Wait(Option<Timestamp>),
}

/// A change of state, for the log line and the transition counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The state left.
    pub from: BreakerState,
    /// The state entered.
    pub to: BreakerState,
    /// Why, for people.
    pub reason: String,
    /// When closing: how long the breaker was not closed.
    pub outage: Option<Duration>,
}

/// The breaker of one queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breaker {
    snap: Snapshot,
}

impl Breaker {
    /// A breaker resuming from `snap` (a fresh one: `Snapshot::default()`).
    pub fn new(snap: Snapshot) -> Self {
        Breaker { snap }
    }

    /// The persisted part of the state.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snap
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        self.snap.state
    }

    /// Probe jobs running now (unexpired permits, every process's).
    pub fn probes_in_flight(&self, now: Timestamp) -> u32 {
        let live = self.snap.permits.iter().filter(|p| p.until > now).count();
        u32::try_from(live).unwrap_or(u32::MAX)
    }

    /// What may be claimed at `now`; moves Open to HalfOpen once the timeout has passed.
    pub fn admit(
        &mut self,
        now: Timestamp,
        cfg: &BreakerSettings,
    ) -> (Admission, Option<Transition>) {
        let mut transition = None;
        if self.snap.state == BreakerState::Open {
            let until = self.open_until(cfg);
            if now < until {
                return (Admission::Wait(Some(until)), None);
            }
            transition =
                Some(self.enter(BreakerState::HalfOpen, now, "the recovery timeout passed"));
        }
        let admission = match self.snap.state {
            BreakerState::Closed => Admission::Open,
            BreakerState::HalfOpen => {
                let free = cfg
                    .half_open_probes
                    .saturating_sub(self.probes_in_flight(now));
                if free == 0 {
                    // A permit ends with its probe, or when it expires.
                    let expiry = self.snap.permits.iter().map(|p| p.until).min();
                    Admission::Wait(expiry.filter(|t| *t < Timestamp::from_millis(u64::MAX)))
                } else {
                    Admission::Probes(free)
                }
            }
            BreakerState::Open => Admission::Wait(Some(self.open_until(cfg))),
        };
        (admission, transition)
    }

    /// When an open breaker starts probing. The timeout is read from the live policy each
    /// time, so a reload applies to an outage in progress.
    pub fn open_until(&self, cfg: &BreakerSettings) -> Timestamp {
        self.snap.opened_at.saturating_add(cfg.recovery_timeout)
    }

    /// Takes a probe permit for each of `ids`, valid until `until` (expired ones are
    /// dropped first). Call after [`admit`](Self::admit) allowed that many probes.
    pub fn grant_probes(&mut self, ids: &[u64], until: Timestamp, now: Timestamp) {
        self.snap.permits.retain(|p| p.until > now);
        self.snap
            .permits
            .extend(ids.iter().map(|&id| Permit { id, until }));
    }

    /// Gives back permits whose probes were never claimed (no job was due).
    pub fn return_probes(&mut self, ids: &[u64]) {
        self.snap.permits.retain(|p| !ids.contains(&p.id));
    }

    /// Extends the permits of `ids` still held until `until` (their holder is alive).
    pub fn extend_probes(&mut self, ids: &[u64], until: Timestamp) {
        for p in &mut self.snap.permits {
            if ids.contains(&p.id) {
                p.until = until;
            }
        }
    }

    /// Drops every permit: for a store one process owns, whose earlier probes died with
    /// their process (their jobs are rescued at open).
    pub fn forget_probes(&mut self) {
        self.snap.permits.clear();
    }

    /// A job concluded: `evidence` is what its outcome showed, `probe_id` the permit it
    /// was claimed with, if it was a probe.
    pub fn record(
        &mut self,
        evidence: Evidence,
        probe_id: Option<u64>,
        now: Timestamp,
        cfg: &BreakerSettings,
    ) -> Option<Transition> {
        // A probe counts only in the round that granted its permit.
        let probe = probe_id.is_some_and(|id| self.snap.permits.iter().any(|p| p.id == id));
        if let Some(id) = probe_id {
            self.return_probes(&[id]);
        }
        match (self.snap.state, evidence) {
            (BreakerState::Closed, Evidence::Success) => {
                self.snap.failures = 0;
                None
            }
            (BreakerState::Closed, Evidence::CountedFailure) => {
                self.snap.failures = self.snap.failures.saturating_add(1);
                (self.snap.failures >= cfg.failure_threshold).then(|| {
                    let reason = format!("{} consecutive counted failures", self.snap.failures);
                    self.enter(BreakerState::Open, now, &reason)
                })
            }
            (BreakerState::HalfOpen, Evidence::Success) if probe => {
                self.snap.probe_successes = self.snap.probe_successes.saturating_add(1);
                (self.snap.probe_successes >= cfg.successes_to_close).then(|| {
                    let reason = format!("{} probe(s) succeeded", self.snap.probe_successes);
                    self.enter(BreakerState::Closed, now, &reason)
                })
            }
            (BreakerState::HalfOpen, Evidence::CountedFailure) if probe => {
                Some(self.enter(BreakerState::Open, now, "a probe failed"))
            }
            // Late results of jobs claimed before the breaker opened, and failures that do
            // not count, leave it where it is.
            _ => None,
        }
    }

    /// A health probe failed while half-open: back to Open with a fresh recovery timeout,
    /// no job having been touched (see [`HealthProbe`](crate::HealthProbe)). In any
    /// other state it changes nothing.
    pub fn health_failed(&mut self, now: Timestamp, reason: &str) -> Option<Transition> {
        (self.snap.state == BreakerState::HalfOpen)
            .then(|| self.enter(BreakerState::Open, now, reason))
    }

    /// The ramp's start, if the breaker closed after an outage and the ramp may still run.
    pub fn closed_at(&self) -> Option<Timestamp> {
        self.snap.closed_at
    }

    /// How long the current outage has lasted (zero when closed).
    pub fn open_for(&self, now: Timestamp) -> Duration {
        match self.snap.state {
            BreakerState::Closed => Duration::ZERO,
            _ => now.since(self.snap.opened_at),
        }
    }

    fn enter(&mut self, to: BreakerState, now: Timestamp, reason: &str) -> Transition {
        let from = self.snap.state;
        let outage = (to == BreakerState::Closed).then(|| now.since(self.snap.opened_at));
        self.snap.state = to;
        // Each state starts with no probe in flight: a new round's probes take new
        // permits, and a late probe of the last round changes nothing.
        self.snap.permits.clear();
        match to {
            BreakerState::Open => {
                self.snap.opened_at = now;
                self.snap.openings = self.snap.openings.saturating_add(1);
                self.snap.closed_at = None;
            }
            BreakerState::HalfOpen => self.snap.probe_successes = 0,
            BreakerState::Closed => {
                self.snap.failures = 0;
                self.snap.probe_successes = 0;
                self.snap.closed_at = Some(now);
            }
        }
        Transition {
            from,
            to,
            reason: reason.to_owned(),
            outage,
        }
    }
}

/// What a concluded job tells the breaker about the downstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// It completed.
    Success,
    /// It failed with a class that counts toward the breaker.
    CountedFailure,
    /// It failed with a class that does not count (or was released at shutdown).
    Neutral,
}

#[cfg(test)]
mod tests;
