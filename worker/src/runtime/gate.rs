//! The gate between the queue and the downstream: the circuit breaker, the recovery
//! ramp and the steady rate limit as the loop drives them.
//!
//! `crate::breaker` is the pure state machine and the ramp's token bucket; this file is
//! everything the running worker does with them, in one place: asking how many jobs may
//! be claimed, noting the claims, telling the breaker what each outcome showed, turning
//! a change of its persisted state into the update written with that outcome, and
//! logging, counting and publishing transitions. Every call takes the breaker settings
//! it should use, so an attempt's outcome is judged with the policy it was decided with.

use tenax_core::Timestamp;
use tenax_policies::{BreakerSettings, RateLimit};

use super::{BreakerView, Runner};
use crate::breaker::{Admission, Evidence, Snapshot, Transition};

/// What the gate allows in one claim round.
pub(super) enum Allowed {
    /// Claim up to the pass's limit.
    Claim(Pass),
    /// Claim nothing until this time (the recovery timeout's end, the ramp's next token),
    /// or until an attempt ends (`None`).
    Nothing(Option<Timestamp>),
}

/// Leave to claim, from the breaker and the ramp.
pub(super) struct Pass {
    /// At most this many jobs: 0 when no slot is free.
    pub(super) limit: usize,
    /// Each claimed job is a half-open probe.
    pub(super) probe: bool,
    /// The ramp limited this round, so claims spend its tokens.
    ramped: bool,
    /// The rate limit applied this round, so claims spend its tokens.
    rated: bool,
}

impl Runner {
    /// How many of `free` slots the breaker, the ramp and the rate limit `rate` let the
    /// loop fill at `now`. The ramp and the rate limit both apply: the lower wins.
    pub(super) fn admit(
        &mut self,
        now: Timestamp,
        cfg: &BreakerSettings,
        rate: Option<RateLimit>,
        free: usize,
    ) -> Allowed {
        let (admission, transition) = self.breaker.admit(now, cfg);
        if let Some(t) = transition {
            self.transitioned(&t, cfg, None, now);
        }
        let (mut limit, probe) = match admission {
            Admission::Open => (free, false),
            Admission::Probes(n) => (free.min(n as usize), true),
            Admission::Wait(until) => return Allowed::Nothing(until),
        };
        let ramp = self
            .ramp
            .allowance(cfg.ramp.as_ref(), self.breaker.closed_at(), now);
        if let Some((tokens, wait)) = ramp {
            if tokens == 0 {
                return Allowed::Nothing(Some(now.saturating_add(wait)));
            }
            limit = limit.min(tokens as usize);
        }
        let steady = if free == 0 {
            None // nothing to start: leave the bucket alone
        } else {
            self.rate.allowance(rate)
        };
        if let Some((tokens, wait)) = steady {
            if tokens == 0 {
                return Allowed::Nothing(Some(now.saturating_add(wait)));
            }
            limit = limit.min(tokens as usize);
        }
        Allowed::Claim(Pass {
            limit,
            probe,
            ramped: ramp.is_some(),
            rated: steady.is_some(),
        })
    }

    /// Notes that `n` jobs were claimed under `pass`: ramp tokens spent, probes running.
    pub(super) fn admitted(&mut self, pass: &Pass, n: usize) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        if pass.ramped {
            self.ramp.spend(n);
        }
        if pass.rated {
            self.rate.spend(n);
        }
        if pass.probe {
            self.breaker.probes_started(n);
        }
    }

    /// Tells the breaker what a concluded job showed (`class`: the failure's, if it
    /// failed), and returns the state update to write with the job's outcome when the
    /// persisted state changed. A change is published too, so watchers see the count of
    /// consecutive failures climb, not only the transitions.
    pub(super) fn feed(
        &mut self,
        evidence: Evidence,
        probe: bool,
        class: Option<&str>,
        cfg: &BreakerSettings,
    ) -> Option<(String, Vec<u8>)> {
        let before = self.breaker.snapshot().clone();
        let now = self.settings.store.now();
        match self.breaker.record(evidence, probe, now, cfg) {
            Some(t) => self.transitioned(&t, cfg, class, now),
            None if *self.breaker.snapshot() != before => self.publish(cfg),
            None => {}
        }
        let after = self.breaker.snapshot();
        (*after != before).then(|| (Snapshot::key(&self.settings.queue), after.encode()))
    }

    /// A job that says nothing about the downstream (released at shutdown, or of a kind
    /// without a handler): frees its probe slot, if it was a probe. Neutral evidence
    /// never moves the breaker, so there is nothing to write.
    pub(super) fn neutral(&mut self, probe: bool, cfg: &BreakerSettings) {
        let now = self.settings.store.now();
        let moved = self.breaker.record(Evidence::Neutral, probe, now, cfg);
        debug_assert!(moved.is_none(), "neutral evidence moved the breaker");
    }

    /// Logs and counts a breaker transition made at `at`, tells the observers, and
    /// publishes the new state.
    pub(super) fn transitioned(
        &mut self,
        t: &Transition,
        cfg: &BreakerSettings,
        class: Option<&str>,
        at: Timestamp,
    ) {
        self.health.reset();
        match t.to {
            crate::BreakerState::Open => tracing::warn!(
                queue = %self.settings.queue,
                from = %t.from,
                "circuit breaker opened: {}; claiming nothing until the recovery timeout",
                t.reason
            ),
            crate::BreakerState::HalfOpen => tracing::info!(
                queue = %self.settings.queue,
                "circuit breaker half-open: {}; sending a probe",
                t.reason
            ),
            crate::BreakerState::Closed => tracing::info!(
                queue = %self.settings.queue,
                outage = %tenax_policies::format_duration(t.outage.unwrap_or_default()),
                "circuit breaker closed: {}",
                t.reason
            ),
        }
        self.metrics.breaker(t.to, true);
        let event = crate::BreakerEvent {
            queue: &self.settings.queue,
            from: t.from,
            to: t.to,
            reason: &t.reason,
            class,
            at,
        };
        for observer in &self.settings.observers {
            observer.breaker(&event);
        }
        self.publish(cfg);
    }

    /// Logs the breaker's state at start-up when it is not closed, and publishes it.
    pub(super) fn resumed(&mut self) {
        let state = self.breaker.state();
        if state != crate::BreakerState::Closed {
            tracing::warn!(
                queue = %self.settings.queue,
                %state,
                "circuit breaker resumed from the store; claiming waits for its recovery timeout"
            );
        }
        self.metrics.breaker(state, false);
        let cfg = *self.settings.policy.load().policy().breaker();
        self.publish(&cfg);
    }

    /// Sends the breaker's current state to watchers.
    fn publish(&self, cfg: &BreakerSettings) {
        let view = BreakerView::of(&self.settings.queue, &self.breaker, cfg);
        self.view.send_replace(view);
    }
}
