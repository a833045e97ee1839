//! The default policy's schedules, pinned: what the brief promises is what `decide` does.

use std::time::Duration;

use tenax_policies::{BuryReason, Decision, ErrorClass, Failure, Policy};

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// The full (draw 0) delay of each retry until the policy buries the job.
fn schedule(policy: &Policy, class: &ErrorClass) -> (Vec<Duration>, BuryReason) {
    let mut delays = Vec::new();
    for attempt in 1.. {
        match policy.decide(&Failure::new(class, attempt), 0.0) {
            Decision::Retry { delay } => delays.push(delay),
            Decision::Bury { reason } => return (delays, reason),
        }
    }
    unreachable!("attempts are unbounded")
}

#[test]
fn transient_retries_at_5_10_20_40_80_seconds_then_dies() {
    let (delays, reason) = schedule(&Policy::default(), &ErrorClass::TRANSIENT);
    assert_eq!(delays, [s(5), s(10), s(20), s(40), s(80)]);
    assert_eq!(reason, BuryReason::RetriesExhausted { max_retries: 5 });
}

#[test]
fn not_found_doubles_from_30_seconds_to_a_10_minute_cap_for_12_retries() {
    let (delays, reason) = schedule(&Policy::default(), &ErrorClass::NOT_FOUND);
    let expected = [30, 60, 120, 240, 480, 600, 600, 600, 600, 600, 600, 600].map(s);
    assert_eq!(delays, expected);
    assert_eq!(reason, BuryReason::RetriesExhausted { max_retries: 12 });
}

#[test]
fn unavailable_caps_at_5_minutes_for_999_retries() {
    let (delays, reason) = schedule(&Policy::default(), &ErrorClass::UNAVAILABLE);
    assert_eq!(delays.len(), 999);
    assert_eq!(delays[..5], [s(30), s(60), s(120), s(240), s(300)]);
    assert!(delays[4..].iter().all(|d| *d == s(300)));
    assert_eq!(reason, BuryReason::RetriesExhausted { max_retries: 999 });
}

#[test]
fn permanent_is_buried_at_once() {
    let (delays, reason) = schedule(&Policy::default(), &ErrorClass::PERMANENT);
    assert!(delays.is_empty());
    assert_eq!(reason, BuryReason::NotRetryable);
}

#[test]
fn breaker_counting_follows_the_table() {
    let policy = Policy::default();
    assert!(policy.counts_toward_breaker(&ErrorClass::TRANSIENT));
    assert!(!policy.counts_toward_breaker(&ErrorClass::NOT_FOUND));
    assert!(policy.counts_toward_breaker(&ErrorClass::UNAVAILABLE));
    assert!(!policy.counts_toward_breaker(&ErrorClass::PERMANENT));
    let breaker = policy.breaker();
    assert_eq!(breaker.failure_threshold, 5);
    assert_eq!(breaker.recovery_timeout, s(60));
    assert_eq!(breaker.half_open_probes, 1);
    assert_eq!(breaker.successes_to_close, 1);
    assert_eq!(breaker.ramp, None);
}

#[test]
fn jitter_spans_from_the_full_delay_down_to_half() {
    let policy = Policy::default();
    let class = ErrorClass::TRANSIENT;
    let failure = Failure::new(&class, 2);
    assert_eq!(
        policy.decide(&failure, 0.0),
        Decision::Retry { delay: s(10) }
    );
    let Decision::Retry { delay } = policy.decide(&failure, 1.0 - f64::EPSILON) else {
        panic!("attempt 2 is retried");
    };
    assert!(
        delay >= s(5) && delay < s(5) + Duration::from_micros(1),
        "{delay:?}"
    );
    for i in 0..1000 {
        let draw = f64::from(i) / 1000.0;
        let Decision::Retry { delay } = policy.decide(&failure, draw) else {
            panic!("attempt 2 is retried");
        };
        assert!(delay > s(5) && delay <= s(10), "draw {draw}: {delay:?}");
    }
}

#[test]
fn huge_attempts_neither_overflow_nor_panic() {
    let policy = Policy::builder()
        .class(
            ErrorClass::TRANSIENT,
            tenax_policies::ClassPolicy {
                max_retries: 100_000,
                cap: s(7 * 86_400),
                ..tenax_policies::defaults::TRANSIENT
            },
        )
        .build()
        .expect("within bounds");
    for attempt in [63, 64, 65, 999, 100_000] {
        let decision = policy.decide(&Failure::new(&ErrorClass::TRANSIENT, attempt), 0.0);
        assert_eq!(
            decision,
            Decision::Retry {
                delay: s(7 * 86_400)
            },
            "attempt {attempt}"
        );
    }
}

#[test]
fn undeclared_classes_use_the_fallback() {
    let policy = Policy::default();
    for name in ["crashed", "panicked", "rate_limited"] {
        let class = ErrorClass::new(name).expect("valid name");
        let (delays, _) = schedule(&policy, &class);
        assert_eq!(delays, [s(5), s(10), s(20), s(40), s(80)], "{name}");
    }
}
