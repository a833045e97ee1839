//! What two hosts share through one schema besides the jobs: a worker value written on
//! one is announced to the other; of two compare-and-sets racing on one value exactly
//! one wins; a rate bucket holds in total; an expired lease of one host is rescued by
//! the other, whose late outcome is refused.

use std::sync::Arc;
use std::time::Duration;

use event_listener::Listener;
use tenax_core::{Error, JobState, JobStore, ManualClock, NewJob, Timestamp, TokenRate};
use tenax_postgres::PgStore;
use tenax_postgres::testing::TestServer;

#[test]
fn a_value_written_on_one_host_wakes_the_other() -> anyhow::Result<()> {
    let Some(server) = TestServer::find_or_skip("cross-host value notification") else {
        return Ok(());
    };
    let schema = server.schema();
    let a = PgStore::open(schema.options().node("a"))?;
    let b = PgStore::open(schema.options().node("b"))?;
    let listener = b.listen_state();
    let v = a.versioned_state("queue/q")?;
    a.put_state_if("queue/q", b"paused", v.version)?;
    assert!(
        listener.wait_timeout(Duration::from_secs(10)).is_some(),
        "b hears a's write"
    );
    assert_eq!(b.state("queue/q")?.as_deref(), Some(&b"paused"[..]));
    // A job's wake-up is not a value's: an enqueue leaves b's value listener asleep.
    let listener = b.listen_state();
    a.enqueue_batch(vec![NewJob::new("k", Vec::new())])?;
    assert!(listener.wait_timeout(Duration::from_millis(500)).is_none());
    Ok(())
}

#[test]
fn of_two_hosts_racing_a_compare_and_set_exactly_one_wins() -> anyhow::Result<()> {
    let Some(server) = TestServer::find_or_skip("compare-and-set race") else {
        return Ok(());
    };
    let schema = server.schema();
    let a = Arc::new(PgStore::open(schema.options().node("a"))?);
    let b = Arc::new(PgStore::open(schema.options().node("b"))?);
    for round in 0..20u32 {
        let seen = a.versioned_state("breaker/q")?;
        assert_eq!(seen, b.versioned_state("breaker/q")?);
        let racers: Vec<_> = [(a.clone(), "a"), (b.clone(), "b")]
            .into_iter()
            .map(|(s, name)| {
                let version = seen.version;
                std::thread::spawn(move || {
                    let value = format!("{name}{round}");
                    s.put_state_if("breaker/q", value.as_bytes(), version)
                })
            })
            .collect();
        let results: Vec<_> = racers
            .into_iter()
            .map(|r| r.join().expect("racer"))
            .collect();
        let won = results.iter().filter(|r| r.is_ok()).count();
        let lost = results
            .iter()
            .filter(|r| matches!(r, Err(Error::StateConflict { .. })))
            .count();
        assert_eq!((won, lost), (1, 1), "round {round}: {results:?}");
        assert_eq!(a.versioned_state("breaker/q")?.version, seen.version + 1);
    }
    Ok(())
}

#[test]
fn a_rate_bucket_holds_in_total_across_hosts() -> anyhow::Result<()> {
    let Some(server) = TestServer::find_or_skip("shared rate bucket") else {
        return Ok(());
    };
    let schema = server.schema();
    let clock = ManualClock::new(Timestamp::from_millis(1_700_000_000_000));
    let open =
        |node: &str| PgStore::open(schema.options().node(node).clock(Arc::new(clock.clone())));
    let (a, b) = (open("a")?, open("b")?);
    let rate = TokenRate {
        per_second: 10.0,
        capacity: 5.0,
        tag: 1,
    };
    let mut taken = 0;
    // Ten seconds, each host asking for everything ten times a second: 5 + 10 * 10.
    for _ in 0..100 {
        for host in [&a, &b] {
            taken += host.take_tokens("rate/q", rate, 100)?.granted;
        }
        clock.advance(Duration::from_millis(100));
    }
    taken += a.take_tokens("rate/q", rate, 100)?.granted;
    assert_eq!(taken, 105, "the burst and the rate, in total");
    Ok(())
}

#[test]
fn an_expired_lease_of_one_host_is_rescued_by_the_other() -> anyhow::Result<()> {
    let Some(server) = TestServer::find_or_skip("cross-host rescue") else {
        return Ok(());
    };
    let schema = server.schema();
    let clock = ManualClock::new(Timestamp::from_millis(1_700_000_000_000));
    let lease = Duration::from_secs(5);
    let open = |node: &str| {
        let opts = schema.options().node(node).lease_ttl(lease);
        PgStore::open(opts.clock(Arc::new(clock.clone())))
    };
    let (a, b) = (open("a")?, open("b")?);
    let id = a.enqueue_batch(vec![NewJob::new("k", Vec::new())])?[0].id();
    let held = a.claim("default", 1)?.remove(0).lease;
    clock.advance(lease - Duration::from_secs(1));
    assert_eq!(b.rescue_expired("default")?, 0, "a's lease still holds");
    assert_eq!(a.renew(std::slice::from_ref(&held))?, vec![true]);
    clock.advance(lease - Duration::from_secs(1));
    assert_eq!(b.rescue_expired("default")?, 0, "renewed");
    clock.advance(Duration::from_secs(2));
    assert_eq!(b.rescue_expired("default")?, 1, "expired: b rescues it");
    let (job, state) = b.job(id)?.expect("kept");
    assert_eq!((state, job.attempt, job.crashes), (JobState::Pending, 1, 1));
    let taken = b.claim("default", 1)?.remove(0).lease;
    assert!(matches!(
        a.complete(&held, None),
        Err(Error::StaleLease { .. })
    ));
    assert_eq!(a.renew(std::slice::from_ref(&held))?, vec![false]);
    b.complete(&taken, None)?;
    assert_eq!(a.stats()?.total.completed, 1);
    Ok(())
}
