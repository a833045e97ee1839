//! A job's attempt history: what happened on each of its last attempts.
//!
//! The history is part of the job record, so it is written in the same batch as the
//! outcome that ends the attempt (no extra write, no extra sync) and dead letters keep
//! it. It is bounded so that a job failing for days does not grow without end: the
//! newest [`MAX_ATTEMPTS`] entries are kept and each message is cut to
//! [`MAX_ATTEMPT_MESSAGE`] bytes, so the messages of a whole history stay under 4 KiB
//! while all ten attempts are still shown. A completed job leaves the store with its
//! history, so no stored entry says "completed".

use std::time::Duration;

use crate::codec::{DecodeError, Decoded, Reader, Writer};
use crate::{JobError, Timestamp};

/// How many attempts a job keeps, newest last.
pub const MAX_ATTEMPTS: usize = 10;
/// Longest message kept per attempt, in bytes (cut at a character boundary): ten of
/// them stay under 4 KiB.
pub const MAX_ATTEMPT_MESSAGE: usize = 384;

/// How an attempt ended, as recorded in the history. The store sets it from the
/// transition that wrote the attempt, whatever the caller put there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttemptOutcome {
    /// It failed and the job was scheduled to run again.
    Retry,
    /// It failed for good and the job went to the dead letter queue.
    Dead,
    /// It was given back without counting (shutdown).
    Released,
    /// It ended after an operator cancelled the job, which went to the dead letters.
    Cancelled,
}

impl AttemptOutcome {
    /// The outcome's name as shown in API answers: `retry`, `dead`, `released`,
    /// `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Retry => "retry",
            AttemptOutcome::Dead => "dead",
            AttemptOutcome::Released => "released",
            AttemptOutcome::Cancelled => "cancelled",
        }
    }

    fn tag(self) -> u8 {
        match self {
            AttemptOutcome::Retry => 1,
            AttemptOutcome::Dead => 2,
            AttemptOutcome::Released => 3,
            AttemptOutcome::Cancelled => 4,
        }
    }

    fn from_tag(tag: u8) -> Decoded<Self> {
        Ok(match tag {
            1 => AttemptOutcome::Retry,
            2 => AttemptOutcome::Dead,
            3 => AttemptOutcome::Released,
            4 => AttemptOutcome::Cancelled,
            _ => return Err(DecodeError("bad attempt outcome")),
        })
    }
}

/// One attempt of a job, as the history keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// When the attempt started.
    pub started_at: Timestamp,
    /// How long it ran.
    pub duration: Duration,
    /// How it ended; set by the store from the transition.
    pub outcome: AttemptOutcome,
    /// The error class, empty when the attempt did not fail (released).
    pub class: String,
    /// What happened, for people.
    pub message: String,
    /// The HTTP status the downstream answered, if the failure was a response.
    pub status: Option<u16>,
    /// The delay the policy chose before the next attempt, for a retry.
    pub delay: Option<Duration>,
    /// The version of the policy that decided the outcome, when a policy did.
    pub policy_version: Option<u64>,
}

impl Attempt {
    /// A failed attempt of `class` that started at `started_at` and ran for `duration`.
    pub fn failed(
        started_at: Timestamp,
        duration: Duration,
        class: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Attempt {
            started_at,
            duration,
            outcome: AttemptOutcome::Retry,
            class: class.into(),
            message: message.into(),
            status: None,
            delay: None,
            policy_version: None,
        }
    }

    /// With the HTTP status of the response that failed it.
    #[must_use]
    pub fn with_status(mut self, status: Option<u16>) -> Self {
        self.status = status;
        self
    }

    /// With the retry delay the policy of `version` chose.
    #[must_use]
    pub fn with_decision(mut self, delay: Option<Duration>, version: u64) -> Self {
        self.delay = delay;
        self.policy_version = Some(version);
        self
    }

    /// When the attempt ended.
    pub fn ended_at(&self) -> Timestamp {
        self.started_at.saturating_add(self.duration)
    }

    /// The failure as the job's `last_error` records it.
    pub fn error(&self) -> JobError {
        JobError {
            class: self.class.clone(),
            message: self.message.clone(),
            at: self.ended_at(),
        }
    }
}

/// An error on its own (no timing known) is an attempt that ended when it happened.
impl From<JobError> for Attempt {
    fn from(e: JobError) -> Self {
        Attempt::failed(e.at, Duration::ZERO, e.class, e.message)
    }
}

impl Attempt {
    /// The attempt as a history keeps it: `outcome` set (whatever the caller put there)
    /// and the message cut to [`MAX_ATTEMPT_MESSAGE`] bytes at a character boundary.
    /// Backends that store the history their own way record this form.
    #[must_use]
    pub fn recorded(mut self, outcome: AttemptOutcome) -> Self {
        self.outcome = outcome;
        let cut = self.message.floor_char_boundary(MAX_ATTEMPT_MESSAGE);
        self.message.truncate(cut);
        self
    }
}

/// Appends `attempt` to `history` with `outcome`, then applies the bounds.
pub(crate) fn record(history: &mut Vec<Attempt>, attempt: Attempt, outcome: AttemptOutcome) {
    history.push(attempt.recorded(outcome));
    let excess = history.len().saturating_sub(MAX_ATTEMPTS);
    history.drain(..excess);
}

pub(crate) fn encode(w: &mut Writer, history: &[Attempt]) {
    w.varint(history.len() as u64);
    for a in history {
        w.varint(a.started_at.as_millis())
            .varint(u64::try_from(a.duration.as_millis()).unwrap_or(u64::MAX))
            .u8(a.outcome.tag())
            .str(&a.class)
            .str(&a.message);
        match a.status {
            None => w.u8(0),
            Some(s) => w.u8(1).varint(u64::from(s)),
        };
        match a.delay {
            None => w.u8(0),
            Some(d) => w
                .u8(1)
                .varint(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        };
        match a.policy_version {
            None => w.u8(0),
            Some(v) => w.u8(1).varint(v),
        };
    }
}

pub(crate) fn decode(r: &mut Reader<'_>) -> Decoded<Vec<Attempt>> {
    let n = r.varint()?;
    if n > MAX_ATTEMPTS as u64 * 4 {
        return Err(DecodeError("attempt history too long"));
    }
    let mut history = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let started_at = r.timestamp()?;
        let duration = Duration::from_millis(r.varint()?);
        let outcome = AttemptOutcome::from_tag(r.u8()?)?;
        let class = r.string()?;
        let message = r.string()?;
        let status = match r.u8()? {
            0 => None,
            1 => Some(u16::try_from(r.varint()?).map_err(|_| DecodeError("bad status"))?),
            _ => return Err(DecodeError("bad status tag")),
        };
        let delay = match r.u8()? {
            0 => None,
            1 => Some(Duration::from_millis(r.varint()?)),
            _ => return Err(DecodeError("bad delay tag")),
        };
        let policy_version = match r.u8()? {
            0 => None,
            1 => Some(r.varint()?),
            _ => return Err(DecodeError("bad policy version tag")),
        };
        history.push(Attempt {
            started_at,
            duration,
            outcome,
            class,
            message,
            status,
            delay,
            policy_version,
        });
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(message: &str) -> Attempt {
        Attempt::failed(
            Timestamp::from_millis(1),
            Duration::ZERO,
            "transient",
            message,
        )
    }

    #[test]
    fn the_history_keeps_the_newest_ten() {
        let mut h = Vec::new();
        for i in 0..15 {
            record(&mut h, attempt(&i.to_string()), AttemptOutcome::Retry);
        }
        let kept: Vec<&str> = h.iter().map(|a| a.message.as_str()).collect();
        assert_eq!(
            kept,
            ["5", "6", "7", "8", "9", "10", "11", "12", "13", "14"]
        );
    }

    #[test]
    fn long_messages_are_cut_so_ten_attempts_stay_under_four_kib() {
        let mut h = Vec::new();
        for _ in 0..12 {
            record(&mut h, attempt(&"é".repeat(1000)), AttemptOutcome::Dead);
        }
        assert_eq!(h.len(), MAX_ATTEMPTS);
        assert!(h.iter().all(|a| a.message.len() <= MAX_ATTEMPT_MESSAGE));
        let total: usize = h.iter().map(|a| a.message.len()).sum();
        assert!(total <= 4096, "{total}");
        assert!(h.iter().all(|a| a.outcome == AttemptOutcome::Dead));
    }
}
