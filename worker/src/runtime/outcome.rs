//! The outcome side of the loop: complete, retry, bury or release the job of an ended
//! attempt, with any breaker change written in the same store call.

use std::time::Duration;

use tenax_core::{Attempt, Error as StoreError, Job, Lease, StateUpdate, Timestamp};
use tenax_policies::{BreakerSettings, Decision, ErrorClass};
use tokio::task::{Id, JoinError};

use super::{InFlight, Runner};
use crate::attempt::{self, AttemptResult, Ended};
use crate::breaker::Evidence;
use crate::{HandlerError, OutcomeEvent, OutcomeKind, Result};

/// Longest error message kept in a job's record, in bytes: the history's bound.
const MAX_ERROR_MESSAGE: usize = tenax_core::MAX_ATTEMPT_MESSAGE;

impl Runner {
    /// Concludes one ended attempt task: writes its job's outcome.
    pub(super) fn conclude(
        &mut self,
        joined: Result<(Id, AttemptResult), JoinError>,
    ) -> Result<()> {
        let (id, ended) = match joined {
            Ok((id, result)) => (id, Ended::Returned(result)),
            Err(err) => (err.id(), attempt::ended(Err(err))),
        };
        let Some(job) = self.inflight.remove(&id) else {
            return Ok(());
        };
        let took = job.started.elapsed();
        self.metrics.attempt_took(took);
        job.span.record(
            "duration_ms",
            u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        );
        match ended {
            Ended::Returned(Ok(())) => self.completed(job),
            Ended::Returned(Err(error)) => self.failed(job, error, took),
            Ended::Cancelled => self.released(job),
        }
    }

    fn completed(&mut self, job: InFlight) -> Result<()> {
        let cfg = breaker_settings(&job);
        let state = self.feed(Evidence::Success, job.probe, None, &cfg);
        let update = state
            .as_ref()
            .map(|(key, bytes)| StateUpdate { key, value: bytes });
        let written = self.settings.store.complete(&job.lease, update);
        if self.written(&job, written, "completed", None)? {
            self.observed(&job.kind, OutcomeKind::Completed);
        }
        self.metrics.completed();
        self.report.completed += 1;
        tracing::debug!(parent: &job.span, "completed");
        Ok(())
    }

    /// Decides the failure with the attempt's policy snapshot (the one its handler saw),
    /// and feeds the breaker with that snapshot's count and thresholds.
    /// The attempt goes into the job's history with its timing, the HTTP status and the
    /// delay chosen by that policy version.
    fn failed(&mut self, job: InFlight, error: HandlerError, took: Duration) -> Result<()> {
        let now = self.settings.store.now();
        let version = job.policy.version();
        let draw = self.settings.jitter.draw();
        let decided = attempt::decide(job.policy.compiled(), &error, job.attempt, draw);
        let evidence = if decided.counts_toward_breaker {
            Evidence::CountedFailure
        } else {
            Evidence::Neutral
        };
        let cfg = breaker_settings(&job);
        let class = error.class.as_str();
        let state = self.feed(evidence, job.probe, Some(class), &cfg);
        let update = state
            .as_ref()
            .map(|(key, bytes)| StateUpdate { key, value: bytes });
        match decided.decision {
            Decision::Retry { delay } => {
                let record =
                    attempt_record(&error, now, took, None).with_decision(Some(delay), version);
                let run_at = now.saturating_add(delay);
                let written = self
                    .settings
                    .store
                    .retry(&job.lease, run_at, record, update);
                if self.written(&job, written, "retried", Some(class))? {
                    self.observed(&job.kind, OutcomeKind::Retried { class });
                }
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
                let record = attempt_record(&error, now, took, Some(&reason.to_string()))
                    .with_decision(None, version);
                let written = self.settings.store.bury(&job.lease, record, update);
                if self.written(&job, written, "buried", Some(class))? {
                    self.observed(&job.kind, OutcomeKind::Buried { class });
                }
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
        self.neutral(job.probe, &breaker_settings(&job));
        let written = self.settings.store.release(&job.lease);
        if self.written(&job, written, "released", None)? {
            self.observed(&job.kind, OutcomeKind::Released);
        }
        self.metrics.released();
        self.report.released += 1;
        tracing::info!(parent: &job.span, "released at shutdown; no attempt counted");
        Ok(())
    }

    /// A claimed job whose kind has no handler: buried at once (not retried, since no
    /// retry can help until a handler is deployed; requeue it then).
    pub(super) fn bury_unknown_kind(
        &mut self,
        lease: Lease,
        job: Job,
        probe: bool,
        cfg: &BreakerSettings,
    ) -> Result<()> {
        self.neutral(probe, cfg);
        let error = HandlerError::permanent(format!(
            "no handler is registered for kind `{}`; requeue the job once one is",
            job.kind
        ));
        let record = attempt_record(&error, self.settings.store.now(), Duration::ZERO, None);
        match self.settings.store.bury(&lease, record, None) {
            Ok(()) => self.observed(
                &job.kind,
                OutcomeKind::Buried {
                    class: ErrorClass::PERMANENT.as_str(),
                },
            ),
            Err(StoreError::StaleLease { .. }) => {}
            Err(err) => return Err(err.into()),
        }
        self.metrics.buried(ErrorClass::PERMANENT.as_str());
        self.report.buried += 1;
        tracing::warn!(id = %job.id, kind = %job.kind, "no handler for this kind; job buried");
        Ok(())
    }

    /// Tells the observers of an outcome written for a job of `kind`.
    fn observed(&self, kind: &str, outcome: OutcomeKind<'_>) {
        let event = OutcomeEvent {
            queue: &self.settings.queue,
            kind,
            outcome,
            at: self.settings.store.now(),
        };
        for observer in &self.settings.observers {
            observer.outcome(&event);
        }
    }

    /// Checks a store write: whether the outcome was written. A stale lease means the
    /// job was rescued and claimed again elsewhere: that holder owns it now, so this
    /// result is dropped (`false`).
    fn written(
        &self,
        job: &InFlight,
        written: tenax_core::Result<()>,
        outcome: &'static str,
        class: Option<&str>,
    ) -> Result<bool> {
        job.span.record("outcome", outcome);
        if let Some(class) = class {
            job.span.record("class", class);
        }
        match written {
            Ok(()) => Ok(true),
            Err(StoreError::StaleLease { id }) => {
                tracing::warn!(parent: &job.span, %id, kind = %job.kind, "lease lost; result dropped");
                Ok(false)
            }
            Err(err) => Err(err.into()),
        }
    }
}

/// The breaker settings of the policy `job` is decided with.
fn breaker_settings(job: &InFlight) -> BreakerSettings {
    *job.policy.policy().breaker()
}

/// The failed attempt as stored: when it started (`took` before `now`), how long it
/// ran, its class, truncated message (with the bury reason) and HTTP status.
fn attempt_record(
    error: &HandlerError,
    now: Timestamp,
    took: Duration,
    buried: Option<&str>,
) -> Attempt {
    // The bury reason goes after the handler's message and must survive core's bound
    // on stored messages, so the message is cut to leave room for it.
    let suffix = buried.map(|reason| format!(" [buried: {reason}]"));
    let room = MAX_ERROR_MESSAGE.saturating_sub(suffix.as_ref().map_or(0, String::len));
    let mut message = error.message[..error.message.floor_char_boundary(room)].to_owned();
    if let Some(suffix) = suffix {
        message.push_str(&suffix);
    }
    // Whole milliseconds, as stored, so the attempt ends at `now` exactly.
    let took = Duration::from_millis(u64::try_from(took.as_millis()).unwrap_or(u64::MAX));
    Attempt::failed(
        now.saturating_sub(took),
        took,
        error.class.as_str(),
        message,
    )
    .with_status(error.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_message_keeps_whole_characters_and_its_bury_reason() {
        let error = HandlerError::permanent("é".repeat(MAX_ERROR_MESSAGE));
        let record = attempt_record(
            &error,
            Timestamp::from_millis(10_000),
            Duration::ZERO,
            Some("permanent"),
        );
        assert!(
            record.message.len() <= MAX_ERROR_MESSAGE,
            "{}",
            record.message.len()
        );
        assert!(
            record.message.ends_with(" [buried: permanent]"),
            "{}",
            record.message
        );
        let head = record.message.trim_end_matches(" [buried: permanent]");
        assert!(head.chars().all(|c| c == 'é') && !head.is_empty());
        let short = attempt_record(
            &HandlerError::transient("short"),
            Timestamp::from_millis(1),
            Duration::ZERO,
            None,
        );
        assert_eq!(short.message, "short");
    }
}
