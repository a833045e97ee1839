//! The claim side of the loop: how many jobs may start now, and what to wait for.

use std::sync::Arc;

use tenax_core::{Claimed, Timestamp};
use tenax_policies::LoadedPolicy;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use super::gate::{Allowed, Pass};
use super::{Held, InFlight, Runner, Wake, lease};
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
        if free == 0 {
            // Every slot is busy: an ended attempt wakes the loop.
            return Ok(later(None, None));
        }
        // NOTE: listen before looking, so an enqueue between the claim and the sleep
        // still wakes us.
        let listener = store.listen();
        let pass = match self.health.take_passed() {
            // The health probe passed: the probe job goes with the permits held for it.
            Some(permits) => Pass::probing(permits),
            None => {
                let pass = match self.admit(now, policy.policy().breaker(), rate, free)? {
                    Allowed::Claim(pass) => pass,
                    Allowed::Nothing(until) => return Ok(later(until, None)),
                    Allowed::NothingDue(next) => return Ok(later(next, Some(listener))),
                    Allowed::Again => return Ok(Wake::Now),
                };
                if !pass.probes.is_empty() && self.ask_health(&pass) {
                    // Its answer wakes the loop.
                    return Ok(later(None, None));
                }
                pass
            }
        };
        let sent = Instant::now();
        let claimed = match store.claim(&self.settings.queue, pass.limit) {
            Ok(claimed) => claimed,
            Err(err) => {
                self.admitted(&pass, 0);
                return Err(err.into());
            }
        };
        let n = claimed.len();
        for (i, job) in claimed.into_iter().enumerate() {
            self.start(job, pass.probes.get(i).copied(), now, sent, &policy)?;
        }
        self.admitted(&pass, n);
        if n == pass.limit {
            return Ok(Wake::Now);
        }
        let next = self.settings.store.next_due(&self.settings.queue)?;
        Ok(later(next, Some(listener)))
    }

    /// Starts one attempt as its own task, decided later with `policy`. `sent` is when
    /// the claim was asked for: the lease holds for a lease duration from then at least.
    fn start(
        &mut self,
        claimed: Claimed,
        probe: Option<u64>,
        now: Timestamp,
        sent: Instant,
        policy: &Arc<LoadedPolicy>,
    ) -> crate::Result<()> {
        let Claimed { lease, job } = claimed;
        let Some(registered) = self.settings.handlers.get(&job.kind) else {
            return self.bury_unknown_kind(lease, job, probe, policy);
        };
        self.metrics.started(now.since(job.run_at));
        self.report.started += 1;
        let span = tracing::info_span!(
            "job",
            id = %job.id,
            kind = %job.kind,
            attempt = job.attempt + 1,
            probe = probe.is_some(),
            outcome = tracing::field::Empty,
            class = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let kind = job.kind.clone();
        let attempt = job.attempt;
        let (deadline, guard) = match self.lease {
            Some(d) => {
                let (tx, rx) = watch::channel(lease::deadline(sent, d));
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let task = attempt::attempt(
            registered.handler.clone(),
            JobRun::from(job).decided_with(Arc::clone(policy)),
            registered.timeout,
            guard,
        );
        let abort = self.tasks.spawn(task.instrument(span.clone()));
        self.inflight.insert(
            abort.id(),
            InFlight {
                held: Held {
                    lease,
                    kind,
                    probe,
                    policy: Arc::clone(policy),
                    span,
                },
                attempt,
                started: Instant::now(),
                abort,
                deadline,
                lost: false,
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
