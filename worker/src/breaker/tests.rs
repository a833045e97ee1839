use std::time::Duration;

use tenax_core::Timestamp;
use tenax_policies::BreakerSettings;

use super::*;

fn cfg() -> BreakerSettings {
    BreakerSettings {
        failure_threshold: 5,
        recovery_timeout: Duration::from_secs(60),
        half_open_probes: 1,
        successes_to_close: 1,
        ramp: None,
    }
}

/// The expiry of a permit that does not expire within a test.
const FAR: Timestamp = Timestamp::from_millis(u64::MAX);

fn at(s: u64) -> Timestamp {
    Timestamp::from_millis(s * 1000)
}

fn opened(now: Timestamp) -> Breaker {
    let mut b = Breaker::new(Snapshot::default());
    for _ in 0..5 {
        b.record(Evidence::CountedFailure, None, now, &cfg());
    }
    assert_eq!(b.state(), BreakerState::Open);
    b
}

#[test]
fn opens_after_threshold_consecutive_counted_failures() {
    let mut b = Breaker::new(Snapshot::default());
    for _ in 0..4 {
        assert_eq!(
            b.record(Evidence::CountedFailure, None, at(1), &cfg()),
            None
        );
    }
    let t = b.record(Evidence::CountedFailure, None, at(1), &cfg());
    assert_eq!(t.map(|t| t.to), Some(BreakerState::Open));
    assert_eq!(b.snapshot().openings, 1);
}

#[test]
fn a_success_resets_the_count_and_neutral_failures_do_not_count() {
    let mut b = Breaker::new(Snapshot::default());
    for _ in 0..4 {
        b.record(Evidence::CountedFailure, None, at(1), &cfg());
    }
    b.record(Evidence::Success, None, at(1), &cfg());
    for _ in 0..100 {
        b.record(Evidence::Neutral, None, at(1), &cfg());
    }
    for _ in 0..4 {
        b.record(Evidence::CountedFailure, None, at(1), &cfg());
    }
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn open_admits_nothing_until_the_timeout_then_exactly_one_probe() {
    let mut b = opened(at(10));
    assert_eq!(b.admit(at(69), &cfg()).0, Admission::Wait(Some(at(70))));
    let (admission, transition) = b.admit(at(70), &cfg());
    assert_eq!(admission, Admission::Probes(1));
    assert_eq!(transition.map(|t| t.to), Some(BreakerState::HalfOpen));
    b.grant_probes(&[1], FAR, at(0));
    assert_eq!(b.admit(at(71), &cfg()).0, Admission::Wait(None));
}

#[test]
fn a_successful_probe_closes_and_a_failed_one_reopens_with_a_fresh_timeout() {
    let mut b = opened(at(10));
    b.admit(at(70), &cfg());
    b.grant_probes(&[1], FAR, at(0));
    let t = b.record(Evidence::CountedFailure, Some(1), at(75), &cfg());
    assert_eq!(t.map(|t| t.to), Some(BreakerState::Open));
    assert_eq!(b.admit(at(100), &cfg()).0, Admission::Wait(Some(at(135))));

    b.admit(at(135), &cfg());
    b.grant_probes(&[1], FAR, at(0));
    let t = b.record(Evidence::Success, Some(1), at(136), &cfg());
    assert_eq!(t.map(|t| t.to), Some(BreakerState::Closed));
    assert_eq!(b.closed_at(), Some(at(136)));
    assert_eq!(b.admit(at(136), &cfg()).0, Admission::Open);
}

#[test]
fn a_neutral_probe_frees_its_slot_without_moving_the_breaker() {
    let mut b = opened(at(0));
    b.admit(at(60), &cfg());
    b.grant_probes(&[1], FAR, at(0));
    assert_eq!(b.record(Evidence::Neutral, Some(1), at(61), &cfg()), None);
    assert_eq!(b.state(), BreakerState::HalfOpen);
    assert_eq!(b.admit(at(61), &cfg()).0, Admission::Probes(1));
}

#[test]
fn late_results_of_jobs_claimed_before_opening_change_nothing() {
    let mut b = opened(at(0));
    assert_eq!(b.record(Evidence::Success, None, at(1), &cfg()), None);
    assert_eq!(
        b.record(Evidence::CountedFailure, None, at(1), &cfg()),
        None
    );
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(b.snapshot().openings, 1);
}

#[test]
fn thresholds_are_read_at_each_decision() {
    let mut b = opened(at(0));
    let longer = BreakerSettings {
        recovery_timeout: Duration::from_secs(600),
        ..cfg()
    };
    assert_eq!(b.admit(at(60), &longer).0, Admission::Wait(Some(at(600))));
}

#[test]
fn snapshots_round_trip_and_resume_the_outage() {
    let b = opened(at(10));
    let bytes = b.snapshot().encode();
    let mut resumed = Breaker::new(Snapshot::decode(&bytes).expect("decodes"));
    assert_eq!(resumed.state(), BreakerState::Open);
    assert_eq!(
        resumed.admit(at(30), &cfg()).0,
        Admission::Wait(Some(at(70)))
    );
}

#[test]
fn bad_snapshots_are_refused_with_a_reason() {
    assert!(Snapshot::decode(b"not json").is_err());
    let future = br#"{"format":9,"state":"open","failures":0,"opened_at":0,"probe_successes":0,"closed_at":null,"openings":0}"#;
    let err = Snapshot::decode(future).expect_err("newer format");
    assert!(err.contains("format 9"), "{err}");
}

#[test]
fn half_open_admits_probes_across_workers_only_up_to_the_permits() {
    let cfg = BreakerSettings {
        half_open_probes: 2,
        ..cfg()
    };
    let mut b = opened(at(0));
    assert_eq!(b.admit(at(60), &cfg).0, Admission::Probes(2));
    // One worker takes a permit; another, reading the same record, sees one left.
    b.grant_probes(&[7], at(90), at(60));
    let mut other = Breaker::new(b.snapshot().clone());
    assert_eq!(other.admit(at(61), &cfg).0, Admission::Probes(1));
    other.grant_probes(&[8], at(90), at(61));
    assert_eq!(other.admit(at(62), &cfg).0, Admission::Wait(Some(at(90))));
    assert_eq!(other.probes_in_flight(at(62)), 2);
    // A permit whose holder died lapses; its slot is free again.
    assert_eq!(other.admit(at(90), &cfg).0, Admission::Probes(2));
}

#[test]
fn a_probe_from_an_earlier_round_does_not_count_in_the_next() {
    let mut b = opened(at(0));
    b.admit(at(60), &cfg());
    b.grant_probes(&[1], FAR, at(60));
    // Its permit lapsed and another round began (a failed probe reopened, then the
    // timeout passed again): the old probe's late success changes nothing.
    b.record(Evidence::CountedFailure, Some(1), at(61), &cfg());
    b.admit(at(121), &cfg());
    b.grant_probes(&[2], FAR, at(121));
    assert_eq!(b.record(Evidence::Success, Some(1), at(122), &cfg()), None);
    assert_eq!(b.state(), BreakerState::HalfOpen);
    let t = b.record(Evidence::Success, Some(2), at(123), &cfg());
    assert_eq!(t.map(|t| t.to), Some(BreakerState::Closed));
}

#[test]
fn format_one_snapshots_read_with_no_permits() {
    let v1 = br#"{"format":1,"state":"half_open","failures":0,"opened_at":5000,"probe_successes":0,"closed_at":null,"openings":2}"#;
    let snap = Snapshot::decode(v1).expect("format 1 reads");
    assert_eq!(snap.state, BreakerState::HalfOpen);
    assert!(snap.permits.is_empty());
    let again = Snapshot::decode(&snap.encode()).expect("round trip");
    assert_eq!(again, snap);
}

#[test]
fn a_failed_health_probe_reopens_a_half_open_breaker_and_nothing_else() {
    let cfg = cfg();
    let mut b = Breaker::new(Snapshot::default());
    assert_eq!(b.health_failed(Timestamp::from_millis(1), "down"), None);
    for i in 0..5 {
        b.record(
            Evidence::CountedFailure,
            None,
            Timestamp::from_millis(i),
            &cfg,
        );
    }
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(b.health_failed(Timestamp::from_millis(10), "down"), None);
    let later = b.open_until(&cfg);
    let (admission, _) = b.admit(later, &cfg);
    assert_eq!(admission, Admission::Probes(1));
    let t = b
        .health_failed(later, "health probe: 503")
        .expect("reopened");
    assert_eq!((t.from, t.to), (BreakerState::HalfOpen, BreakerState::Open));
    assert_eq!(b.snapshot().opened_at, later, "a fresh recovery timeout");
    assert_eq!(b.probes_in_flight(later), 0);
}
