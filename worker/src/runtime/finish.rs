//! The outcome side of the loop: complete, retry, bury or release a finished attempt,
//! with any breaker change written in the same store call.

use tenax_core::{Error as StoreError, Job, JobError, Lease, StateUpdate};
use tenax_policies::{Decision, ErrorClass, Failure};
use tokio::task::{Id, JoinError};

use super::{BreakerView, InFlight, Runner};
use crate::attempt::{AttemptResult, Settled, settle};
use crate::breaker::{Outcome, Snapshot};
use crate::{HandlerError, Result};

/// Longest error message kept in a job's record, in bytes.
const MAX_ERROR_MESSAGE: usize = 512;

impl Runner {
    /// Applies the result of one finished attempt task.
    pub(super) fn settle(&mut self, done: Result<(Id, AttemptResult), JoinError>) -> Result<()> {
        let (id, settled) = match done {
            Ok((id, result)) => (id, Settled::Done(result)),
            Err(err) => (err.id(), settle(Err(err))),
        };
        let Some(job) = self.inflight.remove(&id) else {
            return Ok(());
        };
        let took = job.started.elapsed();
        self.metrics.finished(took);
        job.span.record(
            "duration_ms",
            u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        );
        match settled {
            Settled::Done(Ok(())) => self.completed(job),
            Settled::Done(Err(error)) => self.failed(job, error),
            Settled::Cancelled => self.released(job),
        }
    }

    fn completed(&mut self, job: InFlight) -> Result<()> {
        let state = self.breaker_after(Outcome::Success, job.probe);
        let update = state
            .as_ref()
            .map(|(key, bytes)| StateUpdate { key, value: bytes });
        let written = self.parts.store.complete(&job.lease, update);
        self.written(&job, written, "completed", None)?;
        self.metrics.completed();
        self.report.completed += 1;
        tracing::debug!(parent: &job.span, "completed");
        Ok(())
    }

    fn failed(&mut self, job: InFlight, error: HandlerError) -> Result<()> {
        let store = &self.parts.store;
        let now = store.now();
        let policy = self.parts.policy.load();
        let counted = policy.counts_toward_breaker(&error.class);
        let outcome = if counted {
            Outcome::CountedFailure
        } else {
            Outcome::Neutral
        };
        let mut failure =
            Failure::new(&error.class, job.attempt.saturating_add(1)).message(&error.message);
        if let Some(status) = error.status {
            failure = failure.status(status);
        }
        if let Some(hint) = error.retry_after {
            failure = failure.retry_after(hint);
        }
        let decision = policy.decide(&failure, self.parts.jitter.draw());
        drop(policy);
        let state = self.breaker_after(outcome, job.probe);
        let update = state
            .as_ref()
            .map(|(key, bytes)| StateUpdate { key, value: bytes });
        let class = error.class.as_str();
        match decision {
            Decision::Retry { delay } => {
                let record = job_error(&error, now, None);
                let run_at = now.saturating_add(delay);
                let written = self.parts.store.retry(&job.lease, run_at, record, update);
                self.written(&job, written, "retried", Some(class))?;
                self.metrics.retried(class);
                self.report.retried += 1;
                tracing::info!(
                    parent: &job.span,
                    class,
                    retry_in = %tenax_policies::format_duration(delay),
                    "attempt failed: {}",
                    error.message
                );
            }
            Decision::Bury { reason } => {
                let record = job_error(&error, now, Some(&reason.to_string()));
                let written = self.parts.store.bury(&job.lease, record, update);
                self.written(&job, written, "buried", Some(class))?;
                self.metrics.buried(class);
                self.report.buried += 1;
                tracing::warn!(
                    parent: &job.span,
                    class,
                    %reason,
                    "job moved to the dead letter queue: {}",
                    error.message
                );
            }
        }
        Ok(())
    }

    fn released(&mut self, job: InFlight) -> Result<()> {
        if let Some(t) = self.breaker.record(
            Outcome::Neutral,
            job.probe,
            self.parts.store.now(),
            &self.breaker_cfg(),
        ) {
            self.transitioned(&t);
        }
        let written = self.parts.store.release(&job.lease);
        self.written(&job, written, "released", None)?;
        self.metrics.released();
        self.report.released += 1;
        tracing::info!(parent: &job.span, "released at shutdown; no attempt counted");
        Ok(())
    }

    /// A claimed job whose kind has no handler: buried at once (not retried, since no
    /// retry can help until a handler is deployed; requeue it then).
    pub(super) fn bury_unknown_kind(&mut self, lease: Lease, job: Job, probe: bool) -> Result<()> {
        if probe {
            self.breaker.record(
                Outcome::Neutral,
                true,
                self.parts.store.now(),
                &self.breaker_cfg(),
            );
        }
        let error = HandlerError::permanent(format!(
            "no handler is registered for kind `{}`; requeue the job once one is",
            job.kind
        ));
        let record = job_error(&error, self.parts.store.now(), None);
        match self.parts.store.bury(&lease, record, None) {
            Ok(()) | Err(StoreError::StaleLease { .. }) => {}
            Err(err) => return Err(err.into()),
        }
        self.metrics.buried(ErrorClass::PERMANENT.as_str());
        self.report.buried += 1;
        tracing::warn!(id = %job.id, kind = %job.kind, "no handler for this kind; job buried");
        Ok(())
    }

    /// Feeds the breaker and returns the state update to write with the outcome, if the
    /// persisted state changed.
    fn breaker_after(&mut self, outcome: Outcome, probe: bool) -> Option<(String, Vec<u8>)> {
        let before = self.breaker.snapshot().clone();
        let now = self.parts.store.now();
        if let Some(t) = self
            .breaker
            .record(outcome, probe, now, &self.breaker_cfg())
        {
            self.transitioned(&t);
        }
        let after = self.breaker.snapshot();
        (*after != before).then(|| (Snapshot::key(&self.parts.queue), after.encode()))
    }

    fn breaker_cfg(&self) -> tenax_policies::BreakerSettings {
        *self.parts.policy.load().policy().breaker()
    }

    /// Checks a store write. A stale lease means the job was rescued and claimed again
    /// elsewhere: that holder owns it now, so this result is dropped.
    fn written(
        &self,
        job: &InFlight,
        written: tenax_core::Result<()>,
        outcome: &'static str,
        class: Option<&str>,
    ) -> Result<()> {
        job.span.record("outcome", outcome);
        if let Some(class) = class {
            job.span.record("class", class);
        }
        match written {
            Ok(()) => Ok(()),
            Err(StoreError::StaleLease { id }) => {
                tracing::warn!(parent: &job.span, %id, kind = %job.kind, "lease lost; result dropped");
                Ok(())
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Logs the breaker's state at start-up when it is not closed, and publishes it.
    pub(super) fn resumed(&mut self) {
        let state = self.breaker.state();
        if state != crate::BreakerState::Closed {
            tracing::warn!(
                queue = %self.parts.queue,
                %state,
                "circuit breaker resumed from the store; claiming waits for its recovery timeout"
            );
        }
        self.metrics.breaker(state, false);
        self.publish();
    }

    /// Sends the breaker's current state to watchers.
    pub(super) fn publish(&self) {
        let view = BreakerView::of(&self.parts.queue, &self.breaker, &self.breaker_cfg());
        self.view.send_replace(view);
    }
}

/// The error as stored: class, truncated message (with the bury reason), time.
fn job_error(error: &HandlerError, at: tenax_core::Timestamp, buried: Option<&str>) -> JobError {
    let mut message = truncate(&error.message, MAX_ERROR_MESSAGE).to_owned();
    if let Some(reason) = buried {
        message.push_str(" [buried: ");
        message.push_str(reason);
        message.push(']');
    }
    JobError {
        class: error.class.as_str().to_owned(),
        message,
        at,
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("short", 512), "short");
    }
}
