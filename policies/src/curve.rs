//! A class's retry curve: the delay before each retry, over the jitter range, and the
//! time until the job is buried, computed by the same `decide` the worker calls.
//!
//! `tenax policy check` prints it as a table and the dashboard draws it as a chart; both
//! ask [`CompiledPolicy::curve`], so neither carries its own copy of the formula. A
//! class may allow 100,000 retries and a script's `delay` may take up to its call limit,
//! so the caller bounds the work with [`CurveLimits`]: a curve cut short says so, and
//! then gives no total.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{CompiledPolicy, Decision, ErrorClass, Failure, ScheduleEnd, Span};

/// A draw as close to 1 as matters: the shortest delay jitter can give.
const LAST_DRAW: f64 = 1.0 - f64::EPSILON;

/// How much of a curve to compute.
#[derive(Debug, Clone, Copy, Default)]
pub struct CurveLimits {
    /// At most this many retries. Default (`None`): all of them.
    pub max_points: Option<u32>,
    /// Stop computing at this instant. Default (`None`): no deadline.
    pub deadline: Option<Instant>,
}

/// One retry on a curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CurvePoint {
    /// The retry number (1 = the retry after the first failure).
    pub retry: u32,
    /// The delay without jitter (a draw of 0), after the script's `delay` if any.
    #[serde(serialize_with = "crate::duration::serialize")]
    pub nominal: Duration,
    /// The delay over the whole jitter range.
    pub delay: Span,
    /// Time from the first failure to this retry (handler run time not included).
    pub cumulative: Span,
}

/// The retry curve of one class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Curve {
    /// The class.
    pub class: ErrorClass,
    /// Its retry budget.
    pub max_retries: u32,
    /// Whether its failures count toward the breaker.
    pub counts_toward_breaker: bool,
    /// Every retry computed, in order.
    pub points: Vec<CurvePoint>,
    /// How the schedule ends; `None` when the limits cut the curve short.
    pub end: Option<ScheduleEnd>,
    /// Time from the first failure to the job going dead (zero if never retried);
    /// `None` when the limits cut the curve short.
    pub buried_after: Option<Span>,
}

impl CompiledPolicy {
    /// The retry curve of `class` (an undeclared class follows the fallback class, as
    /// `decide` does), within `limits`.
    pub fn curve(&self, class: &ErrorClass, limits: CurveLimits) -> Curve {
        let settings = self.policy().effective(class);
        let mut points = Vec::new();
        let mut total = Span {
            min: Duration::ZERO,
            max: Duration::ZERO,
        };
        let mut end = Some(if settings.max_retries == 0 {
            ScheduleEnd::NeverRetried
        } else {
            ScheduleEnd::RetriesExhausted
        });
        for attempt in 1..=settings.max_retries {
            let out_of_points = limits.max_points.is_some_and(|max| attempt > max);
            let out_of_time = limits.deadline.is_some_and(|d| Instant::now() >= d);
            if out_of_points || out_of_time {
                end = None;
                break;
            }
            let failure = Failure::new(class, attempt);
            let decisions = [self.decide(&failure, 0.0), self.decide(&failure, LAST_DRAW)];
            let [Decision::Retry { delay: a }, Decision::Retry { delay: b }] = decisions else {
                end = Some(ScheduleEnd::ScriptSaidDead { attempt });
                break;
            };
            let delay = Span {
                min: a.min(b),
                max: a.max(b),
            };
            total.min = total.min.saturating_add(delay.min);
            total.max = total.max.saturating_add(delay.max);
            points.push(CurvePoint {
                retry: attempt,
                nominal: a,
                delay,
                cumulative: total,
            });
        }
        Curve {
            class: class.clone(),
            max_retries: settings.max_retries,
            counts_toward_breaker: settings.counts_toward_breaker,
            points,
            buried_after: end.map(|_| total),
            end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn the_default_transient_curve_doubles_caps_and_sums() {
        let policy = CompiledPolicy::default();
        let curve = policy.curve(&ErrorClass::TRANSIENT, CurveLimits::default());
        let nominal: Vec<Duration> = curve.points.iter().map(|p| p.nominal).collect();
        assert_eq!(nominal, [S(5), S(10), S(20), S(40), S(80)]);
        assert_eq!(curve.points[0].delay.min, Duration::from_millis(2500));
        assert_eq!(curve.end, Some(ScheduleEnd::RetriesExhausted));
        let total = curve.buried_after.expect("complete");
        assert_eq!(total.max, S(155));
        assert_eq!(curve.points[4].cumulative, total);
    }

    #[test]
    fn limits_cut_a_curve_short_and_say_so() {
        let policy = CompiledPolicy::default();
        let limits = CurveLimits {
            max_points: Some(2),
            deadline: None,
        };
        let curve = policy.curve(&ErrorClass::TRANSIENT, limits);
        assert_eq!(curve.points.len(), 2);
        assert_eq!((curve.end, curve.buried_after), (None, None));
        let past = CurveLimits {
            max_points: None,
            deadline: Some(Instant::now()),
        };
        assert!(policy.curve(&ErrorClass::TRANSIENT, past).points.is_empty());
    }

    #[test]
    fn a_never_retried_class_is_buried_at_once() {
        let curve = CompiledPolicy::default().curve(&ErrorClass::PERMANENT, CurveLimits::default());
        assert!(curve.points.is_empty());
        assert_eq!(curve.end, Some(ScheduleEnd::NeverRetried));
        assert_eq!(curve.buried_after.map(|s| s.max), Some(Duration::ZERO));
    }
}
