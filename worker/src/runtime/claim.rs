//! The claim side of the loop: how many jobs may start now, and what to wait for.

use tenax_core::{Claimed, Timestamp};
use tracing::Instrument;

use super::{InFlight, Runner, Wake};
use crate::attempt;
use crate::breaker::{Admission, Transition};
use crate::handler::JobRun;

impl Runner {
    /// Claims as many due jobs as the free slots, the breaker and the ramp allow, starts
    /// them, and says what to wait for next.
    pub(super) fn claim_round(&mut self) -> crate::Result<Wake> {
        let store = std::sync::Arc::clone(&self.parts.store);
        let now = store.now();
        let policy = self.parts.policy.load();
        let cfg = *policy.policy().breaker();
        let (admission, transition) = self.breaker.admit(now, &cfg);
        if let Some(t) = transition {
            self.transitioned(&t);
        }
        let free = self.parts.concurrency - self.inflight.len();
        let (mut limit, probe) = match admission {
            Admission::Open => (free, false),
            Admission::Probes(n) => (free.min(n as usize), true),
            Admission::Wait(until) => return Ok(later(until, None)),
        };
        let ramp = self
            .ramp
            .allowance(cfg.ramp.as_ref(), self.breaker.closed_at(), now);
        if let Some((tokens, wait)) = ramp {
            if tokens == 0 {
                return Ok(later(Some(now.saturating_add(wait)), None));
            }
            limit = limit.min(tokens as usize);
        }
        if limit == 0 {
            // Every slot is busy: a finished attempt wakes the loop.
            return Ok(later(None, None));
        }
        // NOTE: listen before looking, so an enqueue between the claim and the sleep
        // still wakes us.
        let listener = store.listen();
        let claimed = store.claim(&self.parts.queue, limit)?;
        let n = claimed.len();
        if ramp.is_some() {
            self.ramp.spend(n as u32);
        }
        if probe {
            self.breaker.probes_started(n as u32);
        }
        for job in claimed {
            self.start(job, probe, now)?;
        }
        if n == limit {
            return Ok(Wake::Now);
        }
        let next = self.parts.store.next_due(&self.parts.queue)?;
        Ok(later(next, Some(listener)))
    }

    /// Starts one attempt as its own task.
    fn start(&mut self, claimed: Claimed, probe: bool, now: Timestamp) -> crate::Result<()> {
        let Claimed { lease, job } = claimed;
        let Some(registered) = self.parts.handlers.get(&job.kind) else {
            return self.bury_unknown_kind(lease, job, probe);
        };
        self.metrics.started(now.since(job.run_at));
        self.report.started += 1;
        let span = tracing::info_span!(
            "job",
            id = %job.id,
            kind = %job.kind,
            attempt = job.attempt + 1,
            probe,
            outcome = tracing::field::Empty,
            class = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let kind = job.kind.clone();
        let attempt = job.attempt;
        let task = attempt::attempt(
            registered.handler.clone(),
            JobRun::from(job),
            registered.timeout,
        );
        let handle = self.tasks.spawn(task.instrument(span.clone()));
        self.inflight.insert(
            handle.id(),
            InFlight {
                lease,
                kind,
                attempt,
                probe,
                started: tokio::time::Instant::now(),
                span,
            },
        );
        Ok(())
    }

    /// Logs and counts a breaker transition, and publishes the new state.
    pub(super) fn transitioned(&mut self, t: &Transition) {
        match t.to {
            crate::BreakerState::Open => tracing::warn!(
                queue = %self.parts.queue,
                from = %t.from,
                "circuit breaker opened: {}; claiming nothing until the recovery timeout",
                t.reason
            ),
            crate::BreakerState::HalfOpen => tracing::info!(
                queue = %self.parts.queue,
                "circuit breaker half-open: {}; sending a probe",
                t.reason
            ),
            crate::BreakerState::Closed => tracing::info!(
                queue = %self.parts.queue,
                outage = %tenax_policies::format_duration(t.outage.unwrap_or_default()),
                "circuit breaker closed: {}",
                t.reason
            ),
        }
        self.metrics.breaker(t.to, true);
        self.publish();
    }
}

fn later(deadline: Option<Timestamp>, listener: Option<tenax_core::EventListener>) -> Wake {
    Wake::Later { deadline, listener }
}
