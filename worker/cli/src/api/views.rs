//! How jobs, stats and times look in API answers.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tenax_core::{Job, JobState, QueueCounts, Stats, Timestamp};

use super::error::ApiError;

/// RFC 3339 in UTC with milliseconds.
pub(crate) fn time(t: Timestamp) -> String {
    humantime::format_rfc3339_millis(t.to_system_time()).to_string()
}

/// A point in time as given by a client: RFC 3339, or integer Unix milliseconds.
#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum TimeSpec {
    Millis(u64),
    Text(String),
}

impl TimeSpec {
    pub(crate) fn resolve(&self, key: &str) -> Result<Timestamp, ApiError> {
        match self {
            TimeSpec::Millis(ms) => Ok(Timestamp::from_millis(*ms)),
            TimeSpec::Text(text) => text.parse::<u64>().map(Timestamp::from_millis).or_else(|_| {
                humantime::parse_rfc3339_weak(text.trim())
                    .map(Timestamp::from)
                    .map_err(|e| {
                        ApiError::unprocessable(
                            "invalid_time",
                            format!("`{key}`: {text:?} is not an RFC 3339 time or Unix milliseconds ({e})"),
                        )
                    })
            }),
        }
    }
}

/// A duration as given by a client: "30s", "1h 30m", or integer milliseconds.
#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum DurationSpec {
    Millis(u64),
    Text(String),
}

impl DurationSpec {
    pub(crate) fn resolve(&self, key: &str) -> Result<Duration, ApiError> {
        match self {
            DurationSpec::Millis(ms) => Ok(Duration::from_millis(*ms)),
            DurationSpec::Text(text) => text.parse::<u64>().map(Duration::from_millis).or_else(|_| {
                humantime::parse_duration(text.trim()).map_err(|e| {
                    ApiError::unprocessable(
                        "invalid_duration",
                        format!("`{key}`: {text:?} is not a duration like \"30s\" or \"1h 30m\" ({e})"),
                    )
                })
            }),
        }
    }
}

/// A job as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct JobView {
    id: u64,
    queue: String,
    kind: String,
    /// `waiting`, `retrying`, `running` or `dead`.
    #[schema(value_type = String)]
    state: &'static str,
    /// The payload as JSON when it is JSON, else as text (lossy UTF-8); an HTTP
    /// request's secret headers and query parameters are shown as `***`.
    payload: serde_json::Value,
    attempt: u32,
    crashes: u32,
    run_at: String,
    enqueued_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    dead_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dedup_key: Option<String>,
    last_error: Option<ErrorView>,
    /// The last attempts, oldest first (at most ten).
    attempts: Vec<AttemptView>,
}

/// One attempt in a job's history.
#[derive(Serialize, utoipa::ToSchema)]
struct AttemptView {
    started_at: String,
    duration_ms: u64,
    /// `retry`, `dead`, `released` or `cancelled`.
    #[schema(value_type = String)]
    outcome: &'static str,
    class: String,
    message: String,
    /// The downstream's HTTP status, when the failure was a response.
    status: Option<u16>,
    /// The delay the policy chose before the next attempt (retries only).
    delay_ms: Option<u64>,
    /// The version of the policy that decided (see `GET /v1/policy`).
    policy_version: Option<u64>,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[derive(Serialize, utoipa::ToSchema)]
struct ErrorView {
    class: String,
    message: String,
    at: String,
}

impl JobView {
    pub(crate) fn new(job: Job, state: JobState) -> Self {
        let mut payload = serde_json::from_slice(&job.payload).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&job.payload).into_owned())
        });
        // NOTE: every kind's payload, not only `http`'s: a payload shaped like a request
        // is shown redacted whatever handler runs it.
        tenax_worker::http::redact_payload(&mut payload);
        JobView {
            id: job.id.get(),
            queue: job.queue,
            kind: job.kind,
            state: match state {
                JobState::Pending if job.attempt > 0 => "retrying",
                JobState::Pending => "waiting",
                JobState::Running => "running",
                JobState::Dead => "dead",
            },
            payload,
            attempt: job.attempt,
            crashes: job.crashes,
            run_at: time(job.run_at),
            enqueued_at: time(job.enqueued_at),
            dead_at: job.dead_at.map(time),
            dedup_key: job.dedup_key,
            last_error: job.last_error.map(|e| ErrorView {
                class: e.class,
                message: e.message,
                at: time(e.at),
            }),
            attempts: job
                .attempts
                .into_iter()
                .map(|a| AttemptView {
                    started_at: time(a.started_at),
                    duration_ms: millis(a.duration),
                    outcome: a.outcome.as_str(),
                    class: a.class,
                    message: a.message,
                    status: a.status,
                    delay_ms: a.delay.map(millis),
                    policy_version: a.policy_version,
                })
                .collect(),
        }
    }
}

/// Counts and heads per queue.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct StatsView {
    at: String,
    total: CountsView,
    queues: std::collections::BTreeMap<String, QueueView>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct QueueView {
    #[serde(flatten)]
    counts: CountsView,
    /// The pending job due first: its id and due time.
    next_due: Option<DueView>,
    /// A served queue's pause, rate limit and breaker (absent for a queue no worker of
    /// this daemon serves, and when the store is read without a daemon).
    #[serde(skip_serializing_if = "Option::is_none")]
    steering: Option<super::queues::QueueStatus>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct DueView {
    id: u64,
    run_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct CountsView {
    waiting: u64,
    retrying: u64,
    running: u64,
    dead: u64,
    completed: u64,
    enqueued: u64,
}

impl From<&QueueCounts> for CountsView {
    fn from(c: &QueueCounts) -> Self {
        CountsView {
            waiting: c.waiting,
            retrying: c.retrying,
            running: c.running,
            dead: c.dead,
            completed: c.completed,
            enqueued: c.enqueued,
        }
    }
}

impl StatsView {
    /// Adds a served queue's pause, rate limit and breaker; a served queue without jobs
    /// yet is listed with zero counts.
    pub(crate) fn steering(&mut self, queue: &str, status: super::queues::QueueStatus) {
        let view = self
            .queues
            .entry(queue.to_owned())
            .or_insert_with(|| QueueView {
                counts: (&QueueCounts::default()).into(),
                next_due: None,
                steering: None,
            });
        view.steering = Some(status);
    }
}

impl From<&Stats> for StatsView {
    fn from(s: &Stats) -> Self {
        StatsView {
            at: time(s.at),
            total: (&s.total).into(),
            queues: s
                .queues
                .iter()
                .map(|(name, q)| {
                    let view = QueueView {
                        counts: (&q.counts).into(),
                        next_due: q.next_due.map(|d| DueView {
                            id: d.id.get(),
                            run_at: time(d.run_at),
                        }),
                        steering: None,
                    };
                    (name.clone(), view)
                })
                .collect(),
        }
    }
}
