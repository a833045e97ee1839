//! The health probe as the loop drives it: asked once per half-open episode, when a
//! job is due, before the probe job is claimed (see [`crate::HealthProbe`]).
//!
//! The worker asks while holding the half-open probe permits it took for the probe job
//! (see `gate.rs`), so across every process serving the queue one question is asked at
//! a time, as one probe job runs at a time. The probe runs as its own task, like an
//! attempt, so a slow or panicking probe never stalls the loop; its answer wakes the
//! loop as an ended attempt does. A pass lets the probe job through with those permits;
//! a failure moves the breaker back to open (which drops the permits) and writes it on
//! its own, by compare-and-set (no job is involved, so there is no outcome to write it
//! with).

use tokio::task::{JoinError, JoinHandle};

use super::Runner;
use super::gate::Pass;
use super::shared::MAX_ROUNDS;
use crate::{HandlerError, Result};

/// Where this half-open episode's health probe is.
#[derive(Default)]
pub(super) enum Health {
    /// Not asked yet (or the breaker moved since).
    #[default]
    Unasked,
    /// Running, with the probe permits held for the job that follows a pass.
    Asking {
        task: JoinHandle<std::result::Result<(), HandlerError>>,
        permits: Vec<u64>,
    },
    /// It passed: the next claim takes the probe job with these permits.
    Passed { permits: Vec<u64> },
}

impl Health {
    /// Forgets the question, cancelling a probe still running; returns the permits it
    /// held.
    pub(super) fn reset(&mut self) -> Vec<u64> {
        match std::mem::take(self) {
            Health::Unasked => Vec::new(),
            Health::Asking { task, permits } => {
                task.abort();
                permits
            }
            Health::Passed { permits } => permits,
        }
    }

    /// The permits held for a probe job after a passed question, if any.
    pub(super) fn take_passed(&mut self) -> Option<Vec<u64>> {
        match std::mem::take(self) {
            Health::Passed { permits } => Some(permits),
            other => {
                *self = other;
                None
            }
        }
    }

    /// The permits held now (to renew them with the leases).
    pub(super) fn permits(&self) -> &[u64] {
        match self {
            Health::Unasked => &[],
            Health::Asking { permits, .. } | Health::Passed { permits } => permits,
        }
    }
}

/// The running probe's answer; never resolves while none runs.
pub(super) async fn answer(
    health: &mut Health,
) -> std::result::Result<std::result::Result<(), HandlerError>, JoinError> {
    match health {
        Health::Asking { task, .. } => task.await,
        _ => std::future::pending().await,
    }
}

impl Runner {
    /// Before claiming the probe jobs of `pass`: asks the health probe, if one is
    /// configured and has not passed in this episode, keeping the pass's permits while
    /// it runs and giving back its tokens. Returns whether it asked (then the answer
    /// wakes the loop and nothing is claimed now).
    pub(super) fn ask_health(&mut self, pass: &Pass) -> bool {
        let Some(probe) = self.settings.probe.clone() else {
            return false;
        };
        tracing::info!(queue = %self.settings.queue, "asking the health probe before a probe job");
        self.give_back(&pass.without_probes(), 0);
        self.health = Health::Asking {
            task: tokio::spawn(crate::probe::run(probe)),
            permits: pass.probes.clone(),
        };
        true
    }

    /// The probe answered: let the probe job through, or reopen the breaker.
    pub(super) fn health_answered(
        &mut self,
        answer: std::result::Result<std::result::Result<(), HandlerError>, JoinError>,
    ) -> Result<()> {
        let permits = self.health.reset();
        let (failure, class) = match answer {
            Ok(Ok(())) => {
                tracing::info!(queue = %self.settings.queue, "health probe passed; sending a probe job");
                self.health = Health::Passed { permits };
                return Ok(());
            }
            Ok(Err(error)) => (error.to_string(), error.class.as_str().to_owned()),
            Err(err) if err.is_panic() => (
                "the health probe panicked".to_owned(),
                tenax_policies::ErrorClass::PANICKED.as_str().to_owned(),
            ),
            Err(_) => {
                self.update_breaker_or_log("return a cancelled health probe's permits", |b| {
                    b.return_probes(&permits);
                });
                return Ok(());
            }
        };
        let cfg = *self.settings.policy.load().policy().breaker();
        let reason = format!("health probe failed ({failure})");
        for _ in 0..MAX_ROUNDS {
            let now = self.settings.store.now();
            let mut next = self.breaker.clone();
            // Nothing to do if the breaker left half-open meanwhile (another worker).
            let Some(t) = next.health_failed(now, &reason) else {
                return Ok(());
            };
            match self.store_breaker(next) {
                Ok(()) => {
                    self.transitioned(&t, &cfg, Some(&class), now);
                    return Ok(());
                }
                Err(tenax_core::Error::StateConflict { .. }) => self.reload_breaker()?,
                Err(err) => return Err(err.into()),
            }
        }
        tracing::warn!(queue = %self.settings.queue, "the breaker kept changing; a failed health probe was not written");
        Ok(())
    }
}
