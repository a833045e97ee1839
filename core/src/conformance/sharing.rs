//! Cases for what several processes on one store rely on: leases that expire and are
//! renewed, versioned worker values, their change event, and token buckets.
//!
//! A backend that one process owns passes the lease case by never expiring a lease; a
//! shared one by expiring it after its lease duration on the store's clock.

use std::time::Duration;

use event_listener::Listener;

use super::{Backend, clock, err, job};
use crate::{
    CRASHED_CLASS, DedupMode, Enqueued, Error, JobState, JobStore, Result, StateUpdate, TokenRate,
};

fn stale(r: Result<()>) -> bool {
    matches!(r, Err(Error::StaleLease { .. }))
}

/// Renewal keeps a lease; a lease left to expire is rescued as a crash, with the crash
/// limit, and its holder's late outcome is refused. Without expiry, nothing expires.
pub(super) fn leases_renew_and_expire<B: Backend>(b: &mut B) -> Result<()> {
    let clock = clock();
    let s = b.open(clock.clone());
    let id = s.enqueue_batch(vec![job("a")])?[0].id();
    let held = s.claim("default", 1)?.remove(0).lease;
    assert_eq!(s.renew(std::slice::from_ref(&held))?, vec![true]);

    let Some(lease) = s.lease_duration() else {
        // Leases never expire: an hour later the holder still holds its job.
        clock.advance(Duration::from_secs(3600));
        assert_eq!(s.rescue_expired("default")?, 0);
        assert_eq!(s.renew(std::slice::from_ref(&held))?, vec![true]);
        s.complete(&held, None)?;
        assert_eq!(s.renew(std::slice::from_ref(&held))?, vec![false]);
        return Ok(());
    };
    assert!(lease >= Duration::from_millis(10), "lease of {lease:?}");

    // Renewed just before each expiry, the lease outlives three lease durations.
    for _ in 0..3 {
        clock.advance(lease - Duration::from_millis(5));
        assert_eq!(s.renew(std::slice::from_ref(&held))?, vec![true]);
        assert_eq!(s.rescue_expired("default")?, 0, "a renewed lease holds");
    }
    assert_eq!(s.rescue_expired("other")?, 0);

    // Left alone, it expires and is rescued as a crash.
    clock.advance(lease + Duration::from_millis(5));
    assert_eq!(s.rescue_expired("default")?, 1);
    assert_eq!(s.rescue_expired("default")?, 0, "rescued once");
    let (j, state) = s.job(id)?.expect("rescued job kept");
    assert_eq!((state, j.attempt, j.crashes), (JobState::Pending, 1, 1));
    assert_eq!(
        j.last_error.map(|e| e.class),
        Some(CRASHED_CLASS.to_owned())
    );
    assert_eq!(s.renew(std::slice::from_ref(&held))?, vec![false]);
    let next = s.claim("default", 1)?.remove(0).lease;
    assert!(
        stale(s.complete(&held, None)),
        "the late outcome is refused"
    );
    assert!(stale(s.retry(
        &held,
        s.now(),
        err("transient", s.now()),
        None
    )));
    assert!(stale(s.release(&held)));
    assert_eq!(s.renew(&[held, next.clone()])?, vec![false, true]);

    // Crashing again and again, the job ends dead as `crashed` (the crash limit).
    let mut current = Some(next);
    let mut expiries = 1;
    while let Some(lease_now) = current.take() {
        assert!(
            expiries < 10,
            "a job whose holders keep dying must be buried"
        );
        clock.advance(lease + Duration::from_millis(5));
        assert_eq!(s.rescue_expired("default")?, 1);
        expiries += 1;
        assert!(stale(s.complete(&lease_now, None)));
        current = s.claim("default", 1)?.pop().map(|c| c.lease);
    }
    let dead = s.dead_job(id)?.expect("buried as crashed");
    assert_eq!(dead.crashes, expiries);
    assert_eq!(
        dead.last_error.map(|e| e.class),
        Some(CRASHED_CLASS.to_owned())
    );
    let t = s.stats()?.total;
    assert_eq!((t.running, t.dead, t.live()), (0, 1, 0));
    Ok(())
}

/// Compare-and-set of worker values: a write expecting the current version succeeds
/// and moves the version by one; a stale expectation is refused and writes nothing.
pub(super) fn worker_values_compare_and_set<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    let start = s.versioned_state("breaker/q")?;
    assert_eq!(start.value, None);
    s.put_state_if("breaker/q", b"one", start.version)?;
    let one = s.versioned_state("breaker/q")?;
    assert_eq!(
        (one.version, one.value.as_deref()),
        (start.version + 1, Some(&b"one"[..]))
    );
    let r = s.put_state_if("breaker/q", b"two", start.version);
    assert!(
        matches!(&r, Err(Error::StateConflict { key }) if key == "breaker/q"),
        "{r:?}"
    );
    assert_eq!(s.state("breaker/q")?.as_deref(), Some(&b"one"[..]));
    // An unconditional write moves the version too, so a reader of `one` is refused.
    s.put_state("breaker/q", b"three")?;
    assert!(s.put_state_if("breaker/q", b"four", one.version).is_err());
    let three = s.versioned_state("breaker/q")?;
    assert_ne!(three.version, one.version);
    s.put_state_if("breaker/q", b"four", three.version)?;
    assert_eq!(s.state("breaker/q")?.as_deref(), Some(&b"four"[..]));
    // Keys are independent.
    let other = s.versioned_state("queue/q")?;
    s.put_state_if("queue/q", b"x", other.version)?;
    Ok(())
}

/// An outcome whose worker value expects an old version is refused whole: the job is
/// still running under the same lease and the value unchanged; with the right version
/// both are written.
pub(super) fn a_conflicting_value_refuses_the_outcome<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    s.enqueue_batch(vec![job("a"), job("b")])?;
    let claimed = s.claim("default", 2)?;
    let v = s.versioned_state("breaker/default")?;
    s.put_state("breaker/default", b"moved")?;
    let update = StateUpdate::new("breaker/default", b"mine").expecting(v.version);
    let r = s.complete(&claimed[0].lease, Some(update));
    assert!(matches!(r, Err(Error::StateConflict { .. })), "{r:?}");
    let r = s.retry(
        &claimed[1].lease,
        s.now(),
        err("unavailable", s.now()),
        Some(update),
    );
    assert!(matches!(r, Err(Error::StateConflict { .. })), "{r:?}");
    let r = s.bury(&claimed[1].lease, err("permanent", s.now()), Some(update));
    assert!(matches!(r, Err(Error::StateConflict { .. })), "{r:?}");
    assert_eq!(s.stats()?.total.running, 2, "nothing was written");
    assert_eq!(s.state("breaker/default")?.as_deref(), Some(&b"moved"[..]));

    let now = s.versioned_state("breaker/default")?;
    let update = StateUpdate::new("breaker/default", b"mine").expecting(now.version);
    s.complete(&claimed[0].lease, Some(update))?;
    assert_eq!(s.state("breaker/default")?.as_deref(), Some(&b"mine"[..]));
    let after = s.versioned_state("breaker/default")?;
    assert_eq!(after.version, now.version + 1);
    let update = StateUpdate::new("breaker/default", b"again").expecting(after.version);
    s.retry(
        &claimed[1].lease,
        s.now(),
        err("unavailable", s.now()),
        Some(update),
    )?;
    let t = s.stats()?.total;
    assert_eq!((t.completed, t.running, t.live()), (1, 0, 1));
    Ok(())
}

/// An enqueue with a worker value expecting an old version stores neither (a second
/// scheduler firing the same tick); with the right version it stores both.
pub(super) fn enqueue_with_a_stale_value_stores_nothing<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    let mark = s.versioned_state("schedule/x")?;
    let tick = || job("a").with_dedup_key("tick-1", DedupMode::KeepExisting);
    let first = StateUpdate::new("schedule/x", b"1").expecting(mark.version);
    let out = s.enqueue_with_state(vec![tick()], first)?;
    assert!(matches!(out[..], [Enqueued::Created(_)]), "{out:?}");
    let late = StateUpdate::new("schedule/x", b"1").expecting(mark.version);
    let r = s.enqueue_with_state(vec![job("b")], late);
    assert!(matches!(r, Err(Error::StateConflict { .. })), "{r:?}");
    let t = s.stats()?.total;
    assert_eq!(t.enqueued, 1, "the refused enqueue stored no job");
    assert_eq!(s.versioned_state("schedule/x")?.version, mark.version + 1);
    Ok(())
}

/// The state event fires for a value written on its own and with an outcome.
pub(super) fn listen_state_fires_on_writes<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    let fired = |listener: crate::EventListener| listener.wait_timeout(Duration::from_secs(5));
    let l = s.listen_state();
    s.put_state("queue/q", b"paused")?;
    assert!(fired(l).is_some(), "put_state fires the state event");
    let l = s.listen_state();
    let v = s.versioned_state("queue/q")?;
    s.put_state_if("queue/q", b"resumed", v.version)?;
    assert!(fired(l).is_some(), "put_state_if fires it");
    s.enqueue_batch(vec![job("a")])?;
    let c = s.claim("default", 1)?.remove(0);
    let l = s.listen_state();
    s.complete(&c.lease, Some(StateUpdate::new("breaker/default", b"x")))?;
    assert!(fired(l).is_some(), "an outcome with a value fires it");
    Ok(())
}

/// A token bucket starts full, refills at its rate on the store's clock, caps at its
/// capacity, takes back unused tokens, and starts full again under a new tag.
pub(super) fn token_buckets_hold_their_rate<B: Backend>(b: &mut B) -> Result<()> {
    let clock = clock();
    let s = b.open(clock.clone());
    let rate = TokenRate {
        per_second: 4.0,
        capacity: 2.0,
        tag: 7,
    };
    assert_eq!(s.take_tokens("rate/q", rate, 5)?.granted, 2, "starts full");
    let none = s.take_tokens("rate/q", rate, 5)?;
    assert_eq!(none.granted, 0);
    assert_eq!(none.wait, Duration::from_millis(250));
    assert_eq!(
        s.take_tokens("rate/other", rate, 1)?.granted,
        1,
        "buckets are independent"
    );
    clock.advance(Duration::from_millis(250));
    assert_eq!(s.take_tokens("rate/q", rate, 5)?.granted, 1);
    clock.advance(Duration::from_secs(60));
    assert_eq!(s.take_tokens("rate/q", rate, 5)?.granted, 2, "capped");
    s.return_tokens("rate/q", 1)?;
    assert_eq!(s.take_tokens("rate/q", rate, 5)?.granted, 1, "given back");
    let faster = TokenRate {
        per_second: 10.0,
        capacity: 3.0,
        tag: 8,
    };
    assert_eq!(
        s.take_tokens("rate/q", faster, 5)?.granted,
        3,
        "new tag: full"
    );
    Ok(())
}
