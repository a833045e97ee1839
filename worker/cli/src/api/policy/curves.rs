//! A policy as the dashboard draws it: each class's settings and its retry curve (the
//! delay before each retry with its jitter band, and the time until the job is buried),
//! computed by `tenax_policies`' own [`CompiledPolicy::curve`], within limits.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use tenax_policies::{
    BreakerSettings, CompiledPolicy, CurveLimits, RateLimit, ScheduleEnd, format_duration,
};

/// Retries drawn per class; a class allowing more shows the first ones and says so.
pub(crate) const MAX_POINTS: u32 = 1_000;
/// Time to compute the curves of one policy (a script's `delay` runs for every point).
pub(crate) const TIME_BUDGET: Duration = Duration::from_secs(2);

/// A class: its settings, and what they make of failures.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct ClassView {
    /// Delay before the first retry, e.g. `5s`.
    base: String,
    base_ms: u64,
    /// Longest delay.
    cap: String,
    cap_ms: u64,
    max_retries: u32,
    /// Share of each delay that jitter may take away (0 to 1).
    jitter: f64,
    counts_toward_breaker: bool,
    /// The delay before each retry, in order (at most 1,000).
    retries: Vec<RetryView>,
    /// Whether `retries` stops before the last retry (too many, or out of time): then
    /// `end` and `buried_after` are `null`.
    truncated: bool,
    /// How the schedule ends: `never_retried`, `retries_exhausted` or `script_said_dead`.
    end: Option<&'static str>,
    /// With `script_said_dead`: the failed attempt at which the script buries the job.
    end_attempt: Option<u32>,
    /// Time from the first failure until the job is buried, over the jitter range
    /// (handler run time not included).
    buried_after: Option<SpanView>,
}

/// The delay before one retry.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct RetryView {
    /// 1 = the retry after the first failure.
    attempt: u32,
    /// Without jitter.
    nominal_ms: u64,
    /// The jitter band: the shortest and the longest delay.
    min_ms: u64,
    max_ms: u64,
    /// Time from the first failure to this retry, over the jitter range.
    cumulative_min_ms: u64,
    cumulative_max_ms: u64,
}

/// A range of times.
#[derive(Clone, Copy, Serialize, utoipa::ToSchema)]
pub(crate) struct SpanView {
    min_ms: u64,
    max_ms: u64,
}

/// A policy's values and curves.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct Shape {
    /// Every declared class by name.
    classes: BTreeMap<String, ClassView>,
    /// The class whose settings apply to undeclared classes.
    fallback_class: String,
    /// The breaker settings (durations as text, e.g. `30s`).
    #[schema(value_type = Object)]
    breaker: BreakerSettings,
    /// The policy's steady rate limit, if any.
    #[schema(value_type = Option<Object>)]
    rate_limit: Option<RateLimit>,
}

impl Shape {
    /// The classes and settings of `compiled`, the curves computed until `deadline`.
    pub(crate) fn of(compiled: &CompiledPolicy, deadline: Instant) -> Self {
        let policy = compiled.policy();
        let classes = policy
            .classes()
            .map(|(class, _)| {
                let view = class_view(compiled, class, deadline);
                (class.as_str().to_owned(), view)
            })
            .collect();
        Shape {
            classes,
            fallback_class: policy.fallback_class().as_str().to_owned(),
            breaker: *policy.breaker(),
            rate_limit: policy.rate_limit(),
        }
    }

    /// The declared classes' views.
    pub(crate) fn classes(&self) -> &BTreeMap<String, ClassView> {
        &self.classes
    }
}

fn class_view(
    compiled: &CompiledPolicy,
    class: &tenax_policies::ErrorClass,
    deadline: Instant,
) -> ClassView {
    let settings = compiled.policy().effective(class);
    let limits = CurveLimits {
        max_points: Some(MAX_POINTS),
        deadline: Some(deadline),
    };
    let curve = compiled.curve(class, limits);
    let (end, end_attempt) = match curve.end {
        None => (None, None),
        Some(ScheduleEnd::NeverRetried) => (Some("never_retried"), None),
        Some(ScheduleEnd::RetriesExhausted) => (Some("retries_exhausted"), None),
        Some(ScheduleEnd::ScriptSaidDead { attempt }) => (Some("script_said_dead"), Some(attempt)),
    };
    ClassView {
        base: format_duration(settings.base),
        base_ms: ms(settings.base),
        cap: format_duration(settings.cap),
        cap_ms: ms(settings.cap),
        max_retries: settings.max_retries,
        jitter: settings.jitter,
        counts_toward_breaker: settings.counts_toward_breaker,
        retries: curve
            .points
            .iter()
            .map(|p| RetryView {
                attempt: p.retry,
                nominal_ms: ms(p.nominal),
                min_ms: ms(p.delay.min),
                max_ms: ms(p.delay.max),
                cumulative_min_ms: ms(p.cumulative.min),
                cumulative_max_ms: ms(p.cumulative.max),
            })
            .collect(),
        truncated: curve.end.is_none(),
        end,
        end_attempt,
        buried_after: curve.buried_after.map(|s| SpanView {
            min_ms: ms(s.min),
            max_ms: ms(s.max),
        }),
    }
}

impl ClassView {
    /// Whether its retries come back together (no jitter) although its failures count
    /// toward the breaker: after an outage they would all hit the downstream at once.
    pub(crate) fn retries_in_lockstep(&self) -> bool {
        self.jitter == 0.0 && self.counts_toward_breaker && self.max_retries > 0
    }

    /// The attempt at which the script buries jobs before their retries run out.
    pub(crate) fn script_ends_early(&self) -> Option<u32> {
        self.end_attempt.filter(|&a| a <= self.max_retries)
    }

    pub(crate) fn truncated(&self) -> bool {
        self.truncated
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
