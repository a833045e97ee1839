//! The data behind `tenax policy check FILE`: the effective policy beside the Rust
//! defaults, and each class's actual retry schedule.
//!
//! The original tool documented "~2 hours" and "5, 10, 20, 40, 80 s" while its code did
//! something else. Here the schedule is computed by the same `decide` the worker calls,
//! at both ends of the jitter range, so what the report says is what will happen.

use std::time::Duration;

use serde::Serialize;

use crate::{
    BreakerSettings, ClassPolicy, CompiledPolicy, CurveLimits, ErrorClass, Policy, defaults,
    duration,
};

/// Schedules longer than this many rows show only the first and last rows.
const FULL_SCHEDULE_ROWS: u32 = 15;
const HEAD_ROWS: u32 = 10;
const TAIL_ROWS: u32 = 3;

/// The result of checking a policy: what it sets and what it will do.
/// `Display` renders it as a plain-text table; it also serializes (for JSON output).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// Where the policy came from.
    pub origin: String,
    /// The script's fingerprint.
    pub fingerprint: String,
    /// Whether the script defines `delay` (the schedules include its effect).
    pub has_delay_fn: bool,
    /// Whether the script defines `classify`.
    pub has_classify_fn: bool,
    /// Every setting beside its default and bounds.
    pub settings: Vec<SettingRow>,
    /// One retry schedule per declared class.
    pub schedules: Vec<Schedule>,
}

/// One setting: effective value, Rust default, bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingRow {
    /// Full key, such as `classes.transient.base`.
    pub key: String,
    /// The effective value.
    pub value: String,
    /// The Rust default, or `-` for a class the defaults do not have.
    pub default: String,
    /// The accepted range.
    pub bounds: String,
    /// Whether the value differs from the default.
    pub differs: bool,
}

/// A range of durations, shortest to longest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    /// Shortest.
    #[serde(serialize_with = "duration::serialize")]
    pub min: Duration,
    /// Longest.
    #[serde(serialize_with = "duration::serialize")]
    pub max: Duration,
}

/// One retry of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScheduleRow {
    /// The retry number (1 = the retry after the first failure).
    pub retry: u32,
    /// Delay before this retry, over the jitter range.
    pub delay: Span,
    /// Time from the first failure to this retry (handler run time not included).
    pub cumulative: Span,
}

/// How a schedule ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleEnd {
    /// The class is never retried: buried at the first failure.
    NeverRetried,
    /// Buried when the attempt after the last retry fails.
    RetriesExhausted,
    /// The script's `delay` function said `"dead"` at this failed attempt (for a failure
    /// without status or message).
    ScriptSaidDead {
        /// The attempt whose failure the script ended.
        attempt: u32,
    },
}

/// The retry schedule of one class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Schedule {
    /// The class.
    pub class: ErrorClass,
    /// Its retry budget.
    pub max_retries: u32,
    /// Whether its failures count toward the breaker.
    pub counts_toward_breaker: bool,
    /// The first rows (all of them for a short schedule).
    pub head: Vec<ScheduleRow>,
    /// Rows left out between `head` and `tail`.
    pub omitted: u32,
    /// The last rows of a long schedule.
    pub tail: Vec<ScheduleRow>,
    /// How it ends.
    pub end: ScheduleEnd,
    /// Time from the first failure to the job going dead (zero if never retried).
    pub dead_after: Span,
}

impl CheckReport {
    /// Checks a compiled policy (with its script functions).
    pub fn new(compiled: &CompiledPolicy) -> Self {
        CheckReport {
            origin: compiled.origin().to_string(),
            fingerprint: compiled.fingerprint().to_string(),
            has_delay_fn: compiled.has_delay_fn(),
            has_classify_fn: compiled.has_classify_fn(),
            settings: settings(compiled.policy()),
            schedules: compiled
                .policy()
                .classes()
                .map(|(class, _)| schedule(compiled, class))
                .collect(),
        }
    }
}

fn schedule(compiled: &CompiledPolicy, class: &ErrorClass) -> Schedule {
    let curve = compiled.curve(class, CurveLimits::default());
    let mut rows: Vec<ScheduleRow> = curve
        .points
        .iter()
        .map(|p| ScheduleRow {
            retry: p.retry,
            delay: p.delay,
            cumulative: p.cumulative,
        })
        .collect();
    let count = rows.len() as u32;
    let (head, omitted, tail) = if count <= FULL_SCHEDULE_ROWS {
        (rows, 0, Vec::new())
    } else {
        let tail = rows.split_off((count - TAIL_ROWS) as usize);
        rows.truncate(HEAD_ROWS as usize);
        (rows, count - HEAD_ROWS - TAIL_ROWS, tail)
    };
    let zero = Span {
        min: Duration::ZERO,
        max: Duration::ZERO,
    };
    Schedule {
        class: class.clone(),
        max_retries: curve.max_retries,
        counts_toward_breaker: curve.counts_toward_breaker,
        head,
        omitted,
        tail,
        // Without limits the curve always ends.
        end: curve.end.unwrap_or(ScheduleEnd::RetriesExhausted),
        dead_after: curve.buried_after.unwrap_or(zero),
    }
}

fn row(key: String, value: String, default: Option<String>, bounds: String) -> SettingRow {
    let differs = default.as_ref() != Some(&value);
    SettingRow {
        key,
        value,
        default: default.unwrap_or_else(|| "-".to_string()),
        bounds,
        differs,
    }
}

fn settings(policy: &Policy) -> Vec<SettingRow> {
    let rust = Policy::default();
    let mut rows = Vec::new();
    let d = duration::format;
    for (class, value) in policy.classes() {
        let default = rust.class(class);
        let key = |k: &str| format!("classes.{class}.{k}");
        let pick = |f: fn(&ClassPolicy) -> String| default.map(f);
        rows.push(row(
            key("base"),
            d(value.base),
            pick(|c| duration::format(c.base)),
            defaults::BASE.to_string(),
        ));
        rows.push(row(
            key("cap"),
            d(value.cap),
            pick(|c| duration::format(c.cap)),
            format!("{}, at least base", defaults::CAP),
        ));
        rows.push(row(
            key("max_retries"),
            value.max_retries.to_string(),
            pick(|c| c.max_retries.to_string()),
            defaults::MAX_RETRIES.to_string(),
        ));
        rows.push(row(
            key("jitter"),
            value.jitter.to_string(),
            pick(|c| c.jitter.to_string()),
            defaults::JITTER.to_string(),
        ));
        rows.push(row(
            key("breaker"),
            value.counts_toward_breaker.to_string(),
            pick(|c| c.counts_toward_breaker.to_string()),
            "true or false".to_string(),
        ));
    }
    rows.push(row(
        "fallback_class".to_string(),
        policy.fallback_class().to_string(),
        Some(rust.fallback_class().to_string()),
        "a declared class".to_string(),
    ));
    breaker_rows(policy.breaker(), rust.breaker(), &mut rows);
    let rate = |p: &Policy| match p.rate_limit() {
        None => "none".to_string(),
        Some(r) => format!("{}/s, burst {}", r.per_second, r.burst),
    };
    rows.push(row(
        "rate_limit".to_string(),
        rate(policy),
        Some(rate(&rust)),
        format!(
            "none, or per_second {} and burst {}",
            defaults::RATE_PER_SECOND,
            defaults::RATE_BURST
        ),
    ));
    rows
}

fn breaker_rows(value: &BreakerSettings, default: &BreakerSettings, rows: &mut Vec<SettingRow>) {
    let key = |k: &str| format!("breaker.{k}");
    let mut count = |k: &str, v: u32, dv: u32, b: &defaults::Bounds<u32>| {
        rows.push(row(
            key(k),
            v.to_string(),
            Some(dv.to_string()),
            b.to_string(),
        ));
    };
    count(
        "failure_threshold",
        value.failure_threshold,
        default.failure_threshold,
        &defaults::FAILURE_THRESHOLD,
    );
    count(
        "half_open_probes",
        value.half_open_probes,
        default.half_open_probes,
        &defaults::HALF_OPEN_PROBES,
    );
    count(
        "successes_to_close",
        value.successes_to_close,
        default.successes_to_close,
        &defaults::SUCCESSES_TO_CLOSE,
    );
    rows.push(row(
        key("recovery_timeout"),
        duration::format(value.recovery_timeout),
        Some(duration::format(default.recovery_timeout)),
        defaults::RECOVERY_TIMEOUT.to_string(),
    ));
    let ramp = |r: &BreakerSettings| match r.ramp {
        None => "none".to_string(),
        Some(r) => format!(
            "{}/s to {}/s over {}",
            r.start_rate_per_sec,
            r.end_rate_per_sec,
            duration::format(r.duration)
        ),
    };
    rows.push(row(
        key("ramp"),
        ramp(value),
        Some(ramp(default)),
        format!(
            "none, or rates {} over {}",
            defaults::RAMP_RATE,
            defaults::RAMP_DURATION
        ),
    ));
}
