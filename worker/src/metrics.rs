//! The worker's metrics, through the `metrics` facade.
//!
//! Without an installed recorder every call here is a no-op, so a library user pays
//! nothing; the `tenax` binary installs a Prometheus exporter. Names follow Prometheus
//! conventions: `_total` for counters, base units (seconds) for histograms.

use metrics::{
    Counter, Gauge, Histogram, counter, describe_counter, describe_gauge, describe_histogram,
    gauge, histogram,
};
use tenax_core::Stats;
use tenax_policies::{LivePolicy, ReloadEvent};

use crate::BreakerState;

/// Jobs accepted by the store (recorded by whoever enqueues, e.g. the API).
pub const JOBS_ENQUEUED: &str = "tenax_jobs_enqueued_total";
/// Attempts started.
pub const JOBS_STARTED: &str = "tenax_jobs_started_total";
/// Jobs completed.
pub const JOBS_COMPLETED: &str = "tenax_jobs_completed_total";
/// Failed attempts scheduled for a retry, by class.
pub const JOBS_RETRIED: &str = "tenax_jobs_retried_total";
/// Jobs moved to the dead letter queue, by class.
pub const JOBS_BURIED: &str = "tenax_jobs_buried_total";
/// Running jobs given back at shutdown without an attempt counted.
pub const JOBS_RELEASED: &str = "tenax_jobs_released_total";
/// Attempts whose lease was lost (not renewed in time, or the job rescued elsewhere).
pub const LEASES_LOST: &str = "tenax_leases_lost_total";
/// Jobs rescued after their holder's lease expired (shared stores), counted as crashes.
pub const JOBS_RESCUED: &str = "tenax_jobs_rescued_total";
/// How long attempts took.
pub const JOB_DURATION: &str = "tenax_job_duration_seconds";
/// From a job being due (enqueue, or its retry time) to its attempt starting.
pub const JOB_START_DELAY: &str = "tenax_job_start_delay_seconds";
/// Breaker state: 0 closed, 1 half-open, 2 open.
pub const BREAKER_STATE: &str = "tenax_breaker_state";
/// Breaker transitions, by the state entered.
pub const BREAKER_TRANSITIONS: &str = "tenax_breaker_transitions_total";
/// The live policy's version.
pub const POLICY_VERSION: &str = "tenax_policy_version";
/// Policy reloads, by result (`ok` or `rejected`).
pub const POLICY_RELOADS: &str = "tenax_policy_reloads_total";
/// 1 while a queue is paused, else 0.
pub const QUEUE_PAUSED: &str = "tenax_queue_paused";
/// A queue's rate limit in force (run-time or the policy's), jobs per second; 0: none.
pub const QUEUE_RATE_LIMIT: &str = "tenax_queue_rate_limit";
/// Jobs per queue and state, from the store's counters.
pub const QUEUE_DEPTH: &str = "tenax_queue_depth";

/// Registers the help text of every metric with the installed recorder.
pub fn describe() {
    describe_counter!(JOBS_ENQUEUED, "Jobs accepted by the store.");
    describe_counter!(JOBS_STARTED, "Attempts started.");
    describe_counter!(JOBS_COMPLETED, "Jobs completed.");
    describe_counter!(
        JOBS_RETRIED,
        "Failed attempts scheduled for a retry, by error class."
    );
    describe_counter!(
        JOBS_BURIED,
        "Jobs moved to the dead letter queue, by error class."
    );
    describe_counter!(
        JOBS_RELEASED,
        "Running jobs released at shutdown, no attempt counted."
    );
    describe_counter!(
        LEASES_LOST,
        "Attempts whose lease was lost: abandoned, or their outcome refused."
    );
    describe_counter!(
        JOBS_RESCUED,
        "Jobs rescued after their holder's lease expired, counted as crashes."
    );
    describe_histogram!(
        JOB_DURATION,
        metrics::Unit::Seconds,
        "Duration of attempts."
    );
    describe_histogram!(
        JOB_START_DELAY,
        metrics::Unit::Seconds,
        "Time from a job being due to its attempt starting."
    );
    describe_gauge!(
        BREAKER_STATE,
        "Circuit breaker: 0 closed, 1 half-open, 2 open."
    );
    describe_counter!(
        BREAKER_TRANSITIONS,
        "Circuit breaker transitions, by state entered."
    );
    describe_gauge!(
        POLICY_VERSION,
        "Version of the live policy (1 = as loaded at start)."
    );
    describe_counter!(POLICY_RELOADS, "Policy reloads, by result.");
    describe_gauge!(QUEUE_DEPTH, "Jobs per queue and state.");
    describe_gauge!(QUEUE_PAUSED, "1 while the queue is paused, else 0.");
    describe_gauge!(
        QUEUE_RATE_LIMIT,
        "The queue's rate limit in force, in jobs per second; 0 without one."
    );
}

/// Counts `n` jobs enqueued into `queue`.
pub fn jobs_enqueued(queue: &str, n: u64) {
    counter!(JOBS_ENQUEUED, "queue" => queue.to_owned()).increment(n);
}

/// Sets the queue-depth gauges from a [`Stats`] snapshot (call it when metrics are
/// scraped: the worker itself makes no store calls while idle).
pub fn record_stats(stats: &Stats) {
    for (queue, q) in &stats.queues {
        let c = &q.counts;
        for (state, n) in [
            ("waiting", c.waiting),
            ("retrying", c.retrying),
            ("running", c.running),
            ("dead", c.dead),
        ] {
            gauge!(QUEUE_DEPTH, "queue" => queue.clone(), "state" => state).set(n as f64);
        }
    }
}

/// Keeps the policy gauges and reload counters up to date.
pub fn watch_policy(policy: &LivePolicy) {
    gauge!(POLICY_VERSION).set(policy.load().version() as f64);
    policy.on_reload(|event| match event {
        ReloadEvent::Reloaded { version, .. } => {
            counter!(POLICY_RELOADS, "result" => "ok").increment(1);
            gauge!(POLICY_VERSION).set(*version as f64);
        }
        ReloadEvent::Rejected { .. } => {
            counter!(POLICY_RELOADS, "result" => "rejected").increment(1);
        }
        _ => {}
    });
}

/// The per-queue handles of the hot path, built once per worker.
pub(crate) struct QueueMetrics {
    queue: String,
    started: Counter,
    completed: Counter,
    released: Counter,
    duration: Histogram,
    start_delay: Histogram,
    paused: Gauge,
    rate_limit: Gauge,
}

impl QueueMetrics {
    pub(crate) fn new(queue: &str) -> Self {
        let q = || ("queue", queue.to_owned());
        QueueMetrics {
            queue: queue.to_owned(),
            started: counter!(JOBS_STARTED, &[q()]),
            completed: counter!(JOBS_COMPLETED, &[q()]),
            released: counter!(JOBS_RELEASED, &[q()]),
            duration: histogram!(JOB_DURATION, &[q()]),
            start_delay: histogram!(JOB_START_DELAY, &[q()]),
            paused: gauge!(QUEUE_PAUSED, &[q()]),
            rate_limit: gauge!(QUEUE_RATE_LIMIT, &[q()]),
        }
    }

    pub(crate) fn started(&self, delay: std::time::Duration) {
        self.started.increment(1);
        self.start_delay.record(delay.as_secs_f64());
    }

    pub(crate) fn attempt_took(&self, took: std::time::Duration) {
        self.duration.record(took.as_secs_f64());
    }

    pub(crate) fn completed(&self) {
        self.completed.increment(1);
    }

    pub(crate) fn released(&self) {
        self.released.increment(1);
    }

    pub(crate) fn lost(&self) {
        counter!(LEASES_LOST, "queue" => self.queue.clone()).increment(1);
    }

    pub(crate) fn rescued(&self, n: usize) {
        counter!(JOBS_RESCUED, "queue" => self.queue.clone()).increment(n as u64);
    }

    pub(crate) fn retried(&self, class: &str) {
        counter!(JOBS_RETRIED, "queue" => self.queue.clone(), "class" => class.to_owned())
            .increment(1);
    }

    pub(crate) fn buried(&self, class: &str) {
        counter!(JOBS_BURIED, "queue" => self.queue.clone(), "class" => class.to_owned())
            .increment(1);
    }

    /// Shows whether the queue is paused and the rate limit in force.
    pub(crate) fn controls(&self, paused: bool, rate: Option<crate::RateLimit>) {
        self.paused.set(if paused { 1.0 } else { 0.0 });
        self.rate_limit.set(rate.map_or(0.0, |r| r.per_second));
    }

    pub(crate) fn breaker(&self, state: BreakerState, transition: bool) {
        gauge!(BREAKER_STATE, "queue" => self.queue.clone()).set(state.gauge());
        if transition {
            counter!(BREAKER_TRANSITIONS, "queue" => self.queue.clone(), "to" => state.as_str())
                .increment(1);
        }
    }
}
