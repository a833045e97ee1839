//! When the store cannot be reached (a lost connection, a cut network, a full disk):
//! back off, keep the outcomes it could not take, and say so once.
//!
//! Such errors are transient ([`tenax_core::Error::is_transient`]): the same call can
//! succeed later without anyone changing anything. Stopping the worker for them would
//! turn a network blip into an outage, so the loop stops claiming instead, keeps its
//! running attempts (their leases are renewed if the store answers in time, else they
//! are abandoned, see `lease.rs`), and retries with a growing wait. Every other store
//! error still stops the worker.

use std::time::Duration;

use tokio::time::Instant;

use super::Runner;
use crate::{Error, Result};

/// The first wait after a failure.
const FIRST_WAIT: Duration = Duration::from_millis(50);
/// The longest wait between tries.
const LONGEST_WAIT: Duration = Duration::from_secs(2);

/// Since when the store fails, and when to try again.
pub(super) struct Unreachable {
    since: Instant,
    wait: Duration,
    retry_at: Instant,
}

impl Unreachable {
    /// When the next try is due.
    pub(super) fn retry_at(&self) -> Instant {
        self.retry_at
    }

    /// Whether the next try is due now.
    pub(super) fn due(&self) -> bool {
        Instant::now() >= self.retry_at
    }
}

impl Runner {
    /// A store call failed: waited out if the failure is transient, else returned.
    pub(super) fn store_trouble(&mut self, err: Error) -> Result<()> {
        match err {
            Error::Store(e) if e.is_transient() => {
                self.unreachable(&e);
                Ok(())
            }
            other => Err(other),
        }
    }

    /// Notes a transient store failure and schedules the next try.
    pub(super) fn unreachable(&mut self, err: &tenax_core::Error) {
        let now = Instant::now();
        match &mut self.unreachable {
            None => {
                tracing::warn!(
                    queue = %self.settings.queue,
                    %err,
                    "the store cannot be reached; claiming stops until it answers again"
                );
                self.unreachable = Some(Unreachable {
                    since: now,
                    wait: FIRST_WAIT,
                    retry_at: now + FIRST_WAIT,
                });
            }
            Some(u) => {
                u.wait = (u.wait * 2).min(LONGEST_WAIT);
                u.retry_at = now + u.wait;
                tracing::debug!(queue = %self.settings.queue, %err, "the store is still unreachable");
            }
        }
    }

    /// A claim round went through: the store answers again.
    pub(super) fn reachable(&mut self) {
        if let Some(u) = self.unreachable.take() {
            tracing::info!(
                queue = %self.settings.queue,
                after = %tenax_policies::format_duration(u.since.elapsed()),
                "the store answers again; claiming resumes"
            );
        }
    }
}
