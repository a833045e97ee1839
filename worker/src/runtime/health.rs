//! The health probe as the loop drives it: asked once per half-open episode, when a
//! job is due, before the probe job is claimed (see [`crate::HealthProbe`]).
//!
//! The probe runs as its own task, like an attempt, so a slow or panicking probe never
//! stalls the loop; its answer wakes the loop as an ended attempt does. A failure moves
//! the breaker back to open and writes its state on its own (no job is involved, so
//! there is no outcome to write it with).

use tenax_core::Timestamp;
use tokio::task::{JoinError, JoinHandle};

use super::claim::later;
use super::{Runner, Wake};
use crate::breaker::Snapshot;
use crate::{HandlerError, Result};

/// Where this half-open episode's health probe is.
#[derive(Default)]
pub(super) enum Health {
    /// Not asked yet (or the breaker moved since).
    #[default]
    Unasked,
    /// Running.
    Asking(JoinHandle<std::result::Result<(), HandlerError>>),
    /// It passed: probe jobs may go through.
    Passed,
}

impl Health {
    /// Forgets the answer, cancelling a probe still running: the breaker moved.
    pub(super) fn reset(&mut self) {
        if let Health::Asking(task) = std::mem::take(self) {
            task.abort();
        }
    }
}

/// The running probe's answer; never resolves while none runs.
pub(super) async fn answer(
    health: &mut Health,
) -> std::result::Result<std::result::Result<(), HandlerError>, JoinError> {
    match health {
        Health::Asking(task) => task.await,
        _ => std::future::pending().await,
    }
}

impl Runner {
    /// Before claiming probe jobs: `None` to go ahead, else what to wait for. Without
    /// a configured probe, or once it passed, it is always `None`.
    pub(super) fn ask_health(&mut self, now: Timestamp) -> Result<Option<Wake>> {
        let Some(probe) = self.settings.probe.clone() else {
            return Ok(None);
        };
        match self.health {
            Health::Passed => return Ok(None),
            // Its answer wakes the loop.
            Health::Asking(_) => return Ok(Some(later(None, None))),
            Health::Unasked => {}
        }
        // NOTE: only when a job is due: an idle queue asks nothing, and the question is
        // asked again at the next enqueue or due time.
        let listener = self.settings.store.listen();
        match self.settings.store.next_due(&self.settings.queue)? {
            Some(at) if at <= now => {
                tracing::info!(queue = %self.settings.queue, "asking the health probe before a probe job");
                self.health = Health::Asking(tokio::spawn(crate::probe::run(probe)));
                Ok(Some(later(None, None)))
            }
            next => Ok(Some(later(next, Some(listener)))),
        }
    }

    /// The probe answered: let probe jobs through, or reopen the breaker.
    pub(super) fn health_answered(
        &mut self,
        answer: std::result::Result<std::result::Result<(), HandlerError>, JoinError>,
    ) -> Result<()> {
        self.health = Health::Unasked;
        let (failure, class) = match answer {
            Ok(Ok(())) => {
                tracing::info!(queue = %self.settings.queue, "health probe passed; sending a probe job");
                self.health = Health::Passed;
                return Ok(());
            }
            Ok(Err(error)) => (error.to_string(), error.class.as_str().to_owned()),
            Err(err) if err.is_panic() => (
                "the health probe panicked".to_owned(),
                tenax_policies::ErrorClass::PANICKED.as_str().to_owned(),
            ),
            Err(_) => return Ok(()),
        };
        let cfg = *self.settings.policy.load().policy().breaker();
        let now = self.settings.store.now();
        let reason = format!("health probe failed ({failure})");
        if let Some(t) = self.breaker.health_failed(now, &reason) {
            self.transitioned(&t, &cfg, Some(&class), now);
            let snap = self.breaker.snapshot().encode();
            self.settings
                .store
                .put_state(&Snapshot::key(&self.settings.queue), &snap)?;
        }
        Ok(())
    }
}
