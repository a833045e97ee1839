//! The gate between the queue and the downstream: the circuit breaker, the recovery
//! ramp and the steady rate limit as the loop drives them.
//!
//! `crate::breaker` is the pure state machine; this file is everything the running
//! worker does with it, in one place: asking how many jobs may be claimed, taking the
//! ramp's and the rate limit's tokens from the store's buckets and the half-open probe
//! permits from the breaker record, giving back what a claim did not use, and logging,
//! counting and publishing transitions. Every call takes the breaker settings it should
//! use, so an attempt's outcome is judged with the policy it was decided with.
//!
//! The tokens and the permits live in the store so that they hold in total across every
//! process serving the queue. On a store one process owns, that costs no disk write for
//! tokens (they are in memory) and one record write per half-open probe.

use std::time::Duration;

use tenax_core::Timestamp;
use tenax_policies::{BreakerSettings, RateLimit};

use super::{BreakerView, Runner};
use crate::breaker::{Admission, Transition, ramp_rate};
use crate::rate::token_rate;

/// What the gate allows in one claim round.
pub(super) enum Allowed {
    /// Claim up to the pass's limit.
    Claim(Pass),
    /// Claim nothing until this time (the recovery timeout's end, the next token, a
    /// permit's expiry), or until an attempt ends (`None`).
    Nothing(Option<Timestamp>),
    /// Half-open, but no job is due to probe with: wait for one (the next due time, or
    /// an enqueue).
    NothingDue(Option<Timestamp>),
    /// Another process changed the breaker meanwhile: decide again at once.
    Again,
}

/// Leave to claim, from the breaker, the ramp and the rate limit.
pub(super) struct Pass {
    /// At most this many jobs.
    pub(super) limit: usize,
    /// The probe permits taken, one per job to claim, when half-open.
    pub(super) probes: Vec<u64>,
    /// Tokens taken from the ramp's bucket.
    ramp: u32,
    /// Tokens taken from the rate limit's bucket.
    rate: u32,
}

impl Pass {
    /// Leave to claim one probe job per permit in `permits`, already taken.
    pub(super) fn probing(permits: Vec<u64>) -> Pass {
        Pass {
            limit: permits.len(),
            probes: permits,
            ramp: 0,
            rate: 0,
        }
    }

    /// The pass without its probe permits (kept by whoever takes them).
    pub(super) fn without_probes(&self) -> Pass {
        Pass {
            limit: self.limit,
            probes: Vec::new(),
            ramp: self.ramp,
            rate: self.rate,
        }
    }
}

impl Runner {
    /// How many of `free` slots (at least one) the breaker, the ramp and the rate limit
    /// `rate` let the loop fill at `now`. The ramp and the rate limit both apply: the
    /// lower wins. Tokens and permits are taken here; [`admitted`](Self::admitted)
    /// gives back what the claim did not use.
    pub(super) fn admit(
        &mut self,
        now: Timestamp,
        cfg: &BreakerSettings,
        rate: Option<RateLimit>,
        free: usize,
    ) -> crate::Result<Allowed> {
        let mut next = self.breaker.clone();
        let (admission, transition) = next.admit(now, cfg);
        let (limit, probing) = match admission {
            Admission::Open => (free, false),
            Admission::Probes(n) => (free.min(n as usize), true),
            Admission::Wait(until) => return Ok(Allowed::Nothing(until)),
        };
        let mut pass = Pass {
            limit,
            probes: Vec::new(),
            ramp: 0,
            rate: 0,
        };
        let store = std::sync::Arc::clone(&self.settings.store);
        if probing {
            // A permit is a store write that other workers wait on: take one only for a
            // job that can be claimed now.
            let due = store.next_due(&self.settings.queue)?;
            if due.is_none_or(|t| t > now) {
                return Ok(Allowed::NothingDue(due));
            }
        }
        let want = u32::try_from(pass.limit).unwrap_or(u32::MAX);
        if let Some(ramp) = ramp_rate(cfg.ramp.as_ref(), next.closed_at(), now) {
            let tokens = store.take_tokens(&self.bucket("ramp"), ramp, want)?;
            if tokens.granted == 0 {
                return Ok(Allowed::Nothing(Some(now.saturating_add(tokens.wait))));
            }
            pass.ramp = tokens.granted;
            pass.limit = tokens.granted as usize;
        }
        if let Some(limit) = rate {
            let want = u32::try_from(pass.limit).unwrap_or(u32::MAX);
            let tokens = match store.take_tokens(&self.bucket("rate"), token_rate(limit), want) {
                Ok(tokens) => tokens,
                Err(err) => {
                    self.give_back(&pass, 0);
                    return Err(err.into());
                }
            };
            if tokens.granted == 0 {
                self.give_back(&pass, 0);
                return Ok(Allowed::Nothing(Some(now.saturating_add(tokens.wait))));
            }
            pass.rate = tokens.granted;
            pass.limit = tokens.granted as usize;
        }
        if probing {
            let ids: Vec<u64> = (0..pass.limit).map(|_| self.ids.next_u64()).collect();
            next.grant_probes(&ids, self.permit_until(now), now);
            pass.probes = ids;
        }
        if next != self.breaker {
            match self.store_breaker(next) {
                Ok(()) => match transition {
                    Some(t) => self.transitioned(&t, cfg, None, now),
                    None => self.publish(cfg),
                },
                Err(err) => {
                    pass.probes.clear();
                    self.give_back(&pass, 0);
                    if matches!(err, tenax_core::Error::StateConflict { .. }) {
                        self.reload_breaker()?;
                        return Ok(Allowed::Again);
                    }
                    return Err(err.into());
                }
            }
        }
        Ok(Allowed::Claim(pass))
    }

    /// Notes that `n` jobs were claimed under `pass`: gives back the tokens and probe
    /// permits the claim did not use. A failure here only costs tokens or a permit that
    /// lapses on its own, so it is logged, not returned.
    pub(super) fn admitted(&mut self, pass: &Pass, n: usize) {
        self.give_back(pass, n);
    }

    pub(super) fn give_back(&mut self, pass: &Pass, used: usize) {
        let used32 = u32::try_from(used).unwrap_or(u32::MAX);
        let store = std::sync::Arc::clone(&self.settings.store);
        for (bucket, taken) in [("ramp", pass.ramp), ("rate", pass.rate)] {
            if taken > used32
                && let Err(err) = store.return_tokens(&self.bucket(bucket), taken - used32)
            {
                tracing::debug!(%err, bucket, "could not give back unused tokens");
            }
        }
        if pass.probes.len() > used {
            let unused = pass.probes[used..].to_vec();
            self.update_breaker_or_log("return unused probe permits", |b| {
                b.return_probes(&unused);
            });
        }
    }

    /// The store bucket of this queue's `what` (`ramp` or `rate`).
    fn bucket(&self, what: &str) -> String {
        format!("{what}/{}", self.settings.queue)
    }

    /// Until when a probe permit taken at `now` holds: a lease duration (renewed while
    /// the probe runs), or on a store whose leases never expire, the longest an attempt
    /// may run and a minute more.
    pub(super) fn permit_until(&self, now: Timestamp) -> Timestamp {
        let valid = self
            .lease
            .unwrap_or_else(|| self.longest_timeout + Duration::from_secs(60));
        now.saturating_add(valid)
    }

    /// Logs and counts a breaker transition this worker made at `at` (`class`: of the
    /// failure that made it, if one did), tells the observers, and publishes the new
    /// state.
    pub(super) fn transitioned(
        &mut self,
        t: &Transition,
        cfg: &BreakerSettings,
        class: Option<&str>,
        at: Timestamp,
    ) {
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
        self.tell_observers(t.from, t.to, &t.reason, class, at);
        // The breaker moved: a health question of the last state is moot, and the
        // move dropped every permit.
        self.health.reset();
        self.publish(cfg);
    }

    /// Tells the observers of a change of the breaker's state.
    pub(super) fn tell_observers(
        &self,
        from: crate::BreakerState,
        to: crate::BreakerState,
        reason: &str,
        class: Option<&str>,
        at: Timestamp,
    ) {
        let event = crate::BreakerEvent {
            queue: &self.settings.queue,
            from,
            to,
            reason,
            class,
            at,
        };
        for observer in &self.settings.observers {
            observer.breaker(&event);
        }
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
    pub(super) fn publish(&self, cfg: &BreakerSettings) {
        let now = self.settings.store.now();
        let view = BreakerView::of(&self.settings.queue, &self.breaker, cfg, now);
        self.view.send_replace(view);
    }
}
