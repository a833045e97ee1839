//! The claim side of the loop: how many jobs may start now, and what to wait for.

use std::sync::Arc;

use tenax_core::{Claimed, Timestamp};
use tenax_policies::LoadedPolicy;
use tracing::Instrument;

use super::gate::Allowed;
use super::{InFlight, Runner, Wake};
use crate::attempt;
use crate::handler::JobRun;

impl Runner {
    /// Claims as many due jobs as the free slots and the gate allow, starts them, and
    /// says what to wait for next. The policy is loaded once per round: the gate reads
    /// its breaker settings, and every attempt started here is decided with it.
    pub(super) fn claim_round(&mut self) -> crate::Result<Wake> {
        let store = Arc::clone(&self.settings.store);
        let now = store.now();
        let policy = self.settings.policy.load();
        let controls = self.controls.borrow_and_update().clone();
        let rate = controls.effective_rate(policy.policy().rate_limit());
        self.metrics.controls(controls.paused.is_some(), rate);
        if controls.paused.is_some() {
            // Paused: claim nothing; a resume (a change of the controls) wakes the loop.
            return Ok(later(None, None));
        }
        let free = self.settings.concurrency - self.inflight.len();
        let pass = match self.admit(now, policy.policy().breaker(), rate, free) {
            Allowed::Claim(pass) => pass,
            Allowed::Nothing(until) => return Ok(later(until, None)),
        };
        if pass.limit == 0 {
            // Every slot is busy: an ended attempt wakes the loop.
            return Ok(later(None, None));
        }
        if pass.probe
            && let Some(wait) = self.ask_health(now)?
        {
            return Ok(wait);
        }
        // NOTE: listen before looking, so an enqueue between the claim and the sleep
        // still wakes us.
        let listener = store.listen();
        let claimed = store.claim(&self.settings.queue, pass.limit)?;
        let n = claimed.len();
        self.admitted(&pass, n);
        for job in claimed {
            self.start(job, pass.probe, now, &policy)?;
        }
        if n == pass.limit {
            return Ok(Wake::Now);
        }
        let next = self.settings.store.next_due(&self.settings.queue)?;
        Ok(later(next, Some(listener)))
    }

    /// Starts one attempt as its own task, decided later with `policy`.
    fn start(
        &mut self,
        claimed: Claimed,
        probe: bool,
        now: Timestamp,
        policy: &Arc<LoadedPolicy>,
    ) -> crate::Result<()> {
        let Claimed { lease, job } = claimed;
        let Some(registered) = self.settings.handlers.get(&job.kind) else {
            let cfg = *policy.policy().breaker();
            return self.bury_unknown_kind(lease, job, probe, &cfg);
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
            JobRun::from(job).decided_with(Arc::clone(policy)),
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
                policy: Arc::clone(policy),
                started: tokio::time::Instant::now(),
                span,
            },
        );
        Ok(())
    }
}

pub(super) fn later(
    deadline: Option<Timestamp>,
    listener: Option<tenax_core::EventListener>,
) -> Wake {
    Wake::Later { deadline, listener }
}
