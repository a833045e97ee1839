//! The outcome side of the loop: complete, retry, bury or release the job of an ended
//! attempt, with any breaker change written in the same store call.
//!
//! The breaker change rides with the outcome as a compare-and-set of the queue's
//! breaker record: if another process changed the breaker since this worker last read
//! it, the store refuses the whole write, and the worker re-reads the breaker, applies
//! the evidence again, and writes again. So an outcome and the breaker change it caused
//! are one write, and no process overwrites another's count.
//!
//! An outcome the store cannot take now (it is unreachable) waits in the backlog and is
//! written when the store answers again; if the job was rescued meanwhile, the store
//! refuses it as a stale lease and the job's current holder decides.

use std::time::Duration;

use tenax_core::{Attempt, Error as StoreError, Job, Lease, StateUpdate, Timestamp};
use tenax_policies::{Decision, LoadedPolicy};
use tokio::task::{Id, JoinError};

use super::shared::MAX_ROUNDS;
use super::{Held, InFlight, Runner};
use crate::attempt::{self, Ended, TaskOutput};
use crate::breaker::{Evidence, Snapshot};
use crate::{HandlerError, OutcomeEvent, OutcomeKind, Result};

/// Longest error message kept in a job's record, in bytes: the history's bound.
const MAX_ERROR_MESSAGE: usize = tenax_core::MAX_ATTEMPT_MESSAGE;

/// The store write of an outcome.
enum Write {
    Complete,
    Retry {
        run_at: Timestamp,
        attempt: Attempt,
        delay: Duration,
        message: String,
    },
    Bury {
        attempt: Attempt,
        reason: String,
        message: String,
    },
    Release,
}

/// An outcome to write, and what it tells the breaker.
pub(super) struct Unwritten {
    job: Held,
    write: Write,
    evidence: Evidence,
    /// The failure's class, for retries and burials.
    class: Option<String>,
}

impl Runner {
    /// Concludes ended attempt tasks in order: writes their jobs' outcomes. Successes
    /// that change nothing in the breaker (the steady state of a healthy queue) are
    /// completed together in one store call,
    /// [`complete_batch`](tenax_core::JobStore::complete_batch); every other outcome is
    /// written on its own, after the successes that ended before it.
    pub(super) fn conclude(
        &mut self,
        ended: impl IntoIterator<Item = Result<(Id, TaskOutput), JoinError>>,
    ) -> Result<()> {
        let mut successes = Vec::new();
        for joined in ended {
            let (id, ended) = match joined {
                Ok((id, result)) => (id, attempt::ended(Ok(result))),
                Err(err) => (err.id(), attempt::ended(Err(err))),
            };
            let Some(job) = self.inflight.remove(&id) else {
                continue;
            };
            let took = job.started.elapsed();
            self.metrics.attempt_took(took);
            job.held.span.record(
                "duration_ms",
                u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            );
            if let Ended::Abandoned = ended {
                self.lost(job.held, "its lease could not be renewed in time");
                continue;
            }
            if job.lost {
                self.lost(job.held, "the store no longer holds its lease");
                continue;
            }
            if let Ended::Returned(Ok(())) = ended {
                let done = Unwritten {
                    job: job.held,
                    write: Write::Complete,
                    evidence: Evidence::Success,
                    class: None,
                };
                if self.moves_breaker(&done) {
                    self.complete_all(std::mem::take(&mut successes))?;
                    self.write_outcome(done)?;
                } else {
                    successes.push(done);
                }
                continue;
            }
            self.complete_all(std::mem::take(&mut successes))?;
            match ended {
                Ended::Returned(Ok(())) | Ended::Abandoned => {}
                Ended::Returned(Err(error)) => self.failed(job, &error, took)?,
                Ended::Cancelled => self.write_outcome(Unwritten {
                    job: job.held,
                    write: Write::Release,
                    evidence: Evidence::Neutral,
                    class: None,
                })?,
            }
        }
        self.complete_all(successes)
    }

    /// Whether writing `u` would change the breaker.
    fn moves_breaker(&self, u: &Unwritten) -> bool {
        let mut next = self.breaker.clone();
        let cfg = *u.job.policy.policy().breaker();
        next.record(u.evidence, u.job.probe, self.settings.store.now(), &cfg);
        next != self.breaker
    }

    /// Completes jobs whose success leaves the breaker as it is, in one store call.
    fn complete_all(&mut self, jobs: Vec<Unwritten>) -> Result<()> {
        if jobs.is_empty() {
            return Ok(());
        }
        if self.unreachable.is_some() {
            self.backlog.extend(jobs);
            return Ok(());
        }
        let leases: Vec<Lease> = jobs.iter().map(|u| u.job.lease.clone()).collect();
        let answers = self.settings.store.complete_batch(&leases);
        for (u, written) in jobs.into_iter().zip(answers) {
            match written {
                Ok(()) => self.written(u),
                Err(StoreError::StaleLease { .. }) => {
                    self.lost(u.job, "the store refused its outcome: the lease was taken");
                }
                Err(err) if err.is_transient() => {
                    self.unreachable(&err);
                    self.backlog.push(u);
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }

    /// Decides the failure with the attempt's policy snapshot (the one its handler saw),
    /// and feeds the breaker with that snapshot's count and thresholds.
    /// The attempt goes into the job's history with its timing, the HTTP status and the
    /// delay chosen by that policy version.
    fn failed(&mut self, job: InFlight, error: &HandlerError, took: Duration) -> Result<()> {
        let now = self.settings.store.now();
        let policy = &job.held.policy;
        let version = policy.version();
        let draw = self.settings.jitter.draw();
        let decided = attempt::decide(policy.compiled(), error, job.attempt, draw);
        let evidence = if decided.counts_toward_breaker {
            Evidence::CountedFailure
        } else {
            Evidence::Neutral
        };
        let write = match decided.decision {
            Decision::Retry { delay } => Write::Retry {
                run_at: now.saturating_add(delay),
                attempt: attempt_record(error, now, took, None).with_decision(Some(delay), version),
                delay,
                message: error.message.clone(),
            },
            Decision::Bury { reason } => Write::Bury {
                attempt: attempt_record(error, now, took, Some(&reason.to_string()))
                    .with_decision(None, version),
                reason: reason.to_string(),
                message: error.message.clone(),
            },
        };
        self.write_outcome(Unwritten {
            job: job.held,
            write,
            evidence,
            class: Some(error.class.as_str().to_owned()),
        })
    }

    /// A claimed job whose kind has no handler: buried at once (not retried, since no
    /// retry can help until a handler is deployed; requeue it then).
    pub(super) fn bury_unknown_kind(
        &mut self,
        lease: Lease,
        job: Job,
        probe: Option<u64>,
        policy: &std::sync::Arc<LoadedPolicy>,
    ) -> Result<()> {
        let error = HandlerError::permanent(format!(
            "no handler is registered for kind `{}`; requeue the job once one is",
            job.kind
        ));
        let record = attempt_record(&error, self.settings.store.now(), Duration::ZERO, None);
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
        self.write_outcome(Unwritten {
            job: Held {
                lease,
                kind: job.kind,
                probe,
                policy: std::sync::Arc::clone(policy),
                span,
            },
            write: Write::Bury {
                attempt: record,
                reason: "no handler for this kind".to_owned(),
                message: error.message,
            },
            // An unknown kind says nothing about the downstream.
            evidence: Evidence::Neutral,
            class: Some(error.class.as_str().to_owned()),
        })
    }

    /// Writes an outcome now, or keeps it for later while the store is unreachable.
    fn write_outcome(&mut self, u: Unwritten) -> Result<()> {
        if self.unreachable.is_some() {
            self.backlog.push(u);
            return Ok(());
        }
        self.write_now(u)
    }

    /// Tries the backlog's outcomes in order; stops at the first the store cannot take.
    pub(super) fn write_backlog(&mut self) -> Result<()> {
        let mut waiting = std::mem::take(&mut self.backlog).into_iter();
        while let Some(u) = waiting.next() {
            self.write_now(u)?;
            if !self.backlog.is_empty() {
                self.backlog.extend(waiting);
                break;
            }
        }
        Ok(())
    }

    /// Writes an outcome. A stale lease means the job was rescued and is someone else's
    /// now: the result is dropped and counted as lost. A transient failure keeps the
    /// outcome in the backlog.
    fn write_now(&mut self, u: Unwritten) -> Result<()> {
        match self.try_write(&u) {
            Ok(()) => {
                self.written(u);
                Ok(())
            }
            Err(StoreError::StaleLease { .. }) => {
                self.lost(u.job, "the store refused its outcome: the lease was taken");
                Ok(())
            }
            Err(err) if err.is_transient() => {
                self.unreachable(&err);
                self.backlog.push(u);
                Ok(())
            }
            Err(err) => Err(err.into()),
        }
    }

    /// The store write of `u`, with the breaker change its evidence makes, re-read and
    /// redone after another process's breaker write.
    fn try_write(&mut self, u: &Unwritten) -> tenax_core::Result<()> {
        let store = std::sync::Arc::clone(&self.settings.store);
        let lease = &u.job.lease;
        let cfg = *u.job.policy.policy().breaker();
        let key = Snapshot::key(&self.settings.queue);
        if matches!(u.write, Write::Release) {
            // A release changes the breaker only by freeing a probe permit; it has no
            // state to ride with, so the permit is freed after it.
            store.release(lease)?;
            if let Some(id) = u.job.probe {
                self.update_breaker_or_log("free a released probe's permit", |b| {
                    b.return_probes(&[id]);
                });
            }
            return Ok(());
        }
        for round in 0..=MAX_ROUNDS {
            let now = store.now();
            let mut next = self.breaker.clone();
            let transition = next.record(u.evidence, u.job.probe, now, &cfg);
            // After too many conflicts in a row, the outcome is written on its own.
            let bytes =
                (next != self.breaker && round < MAX_ROUNDS).then(|| next.snapshot().encode());
            let update = bytes
                .as_deref()
                .map(|b| StateUpdate::new(&key, b).expecting(self.breaker_version));
            let written = match &u.write {
                Write::Complete => store.complete(lease, update),
                Write::Retry {
                    run_at, attempt, ..
                } => store.retry(lease, *run_at, attempt.clone(), update),
                Write::Bury { attempt, .. } => store.bury(lease, attempt.clone(), update),
                Write::Release => unreachable!("handled above"),
            };
            match written {
                Ok(()) => {
                    if bytes.is_some() {
                        self.breaker = next;
                        self.breaker_version += 1;
                        match transition {
                            Some(t) => self.transitioned(&t, &cfg, u.class.as_deref(), now),
                            None => self.publish(&cfg),
                        }
                    } else if round == MAX_ROUNDS {
                        tracing::warn!(queue = %self.settings.queue, "the breaker kept changing; an outcome was written without its evidence");
                    }
                    return Ok(());
                }
                Err(StoreError::StateConflict { .. }) => self.reload_breaker()?,
                Err(err) => return Err(err),
            }
        }
        unreachable!("the last round writes without a breaker change")
    }

    /// Counts and logs a written outcome, and tells the observers.
    fn written(&mut self, u: Unwritten) {
        let span = &u.job.span;
        let class = u.class.as_deref().unwrap_or_default();
        let outcome = match &u.write {
            Write::Complete => OutcomeKind::Completed,
            Write::Retry { .. } => OutcomeKind::Retried { class },
            Write::Bury { .. } => OutcomeKind::Buried { class },
            Write::Release => OutcomeKind::Released,
        };
        let event = OutcomeEvent {
            queue: &self.settings.queue,
            kind: &u.job.kind,
            outcome,
            at: self.settings.store.now(),
        };
        for observer in &self.settings.observers {
            observer.outcome(&event);
        }
        match &u.write {
            Write::Complete => {
                span.record("outcome", "completed");
                self.metrics.completed();
                self.report.completed += 1;
                tracing::debug!(parent: span, "completed");
            }
            Write::Retry { delay, message, .. } => {
                span.record("outcome", "retried");
                span.record("class", class);
                self.metrics.retried(class);
                self.report.retried += 1;
                tracing::info!(
                    parent: span,
                    class,
                    retry_in = %tenax_policies::format_duration(*delay),
                    "attempt failed: {message}"
                );
            }
            Write::Bury {
                reason, message, ..
            } => {
                span.record("outcome", "buried");
                span.record("class", class);
                self.metrics.buried(class);
                self.report.buried += 1;
                tracing::warn!(
                    parent: span,
                    class,
                    %reason,
                    "job moved to the dead letter queue: {message}"
                );
            }
            Write::Release => {
                span.record("outcome", "released");
                self.metrics.released();
                self.report.released += 1;
                tracing::info!(parent: span, "released at shutdown; no attempt counted");
            }
        }
    }

    /// A job this worker no longer holds: nothing is written for it (its current holder,
    /// or the rescue of its expired lease, decides), and its probe permit is freed.
    fn lost(&mut self, job: Held, why: &str) {
        job.span.record("outcome", "lost");
        self.metrics.lost();
        self.report.lost += 1;
        tracing::warn!(
            parent: &job.span,
            id = %job.lease.id(),
            kind = %job.kind,
            "lease lost: {why}; the result is dropped and the job is left to its current holder"
        );
        if let Some(id) = job.probe {
            self.update_breaker_or_log("free a lost probe's permit", |b| {
                b.return_probes(&[id]);
            });
        }
    }
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
