//! Two stores on one schema, as two hosts see it: wake-ups cross over `NOTIFY`, claims
//! never overlap, and one host's outcome fences the other's stale lease.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use event_listener::Listener;
use tenax_core::{Error, JobStore, NewJob};
use tenax_postgres::PgStore;
use tenax_postgres::testing::TestServer;

#[test]
fn an_enqueue_on_one_host_wakes_an_idle_listener_on_another() -> anyhow::Result<()> {
    let Some(server) = TestServer::find_or_skip("cross-host wake-up") else {
        return Ok(());
    };
    let schema = server.schema();
    let a = PgStore::open(schema.options().node("a"))?;
    let b = PgStore::open(schema.options().node("b"))?;
    // Nothing woke b for its own setup: a listener made now waits.
    let listener = b.listen();
    a.enqueue_batch(vec![NewJob::new("k", Vec::new())])?;
    assert!(
        listener.wait_timeout(Duration::from_secs(10)).is_some(),
        "b hears a's enqueue"
    );
    assert_eq!(b.claim("default", 10)?.len(), 1);
    Ok(())
}

#[test]
fn two_hosts_claiming_at_once_never_share_a_job() -> anyhow::Result<()> {
    let Some(server) = TestServer::find_or_skip("two hosts claiming") else {
        return Ok(());
    };
    let schema = server.schema();
    let a = Arc::new(PgStore::open(schema.options().node("a"))?);
    let b = Arc::new(PgStore::open(schema.options().node("b"))?);
    let jobs = (0..2_000).map(|_| NewJob::new("k", Vec::new())).collect();
    a.enqueue_batch(jobs)?;
    let hosts: Vec<_> = [a.clone(), b.clone(), a, b]
        .into_iter()
        .map(|s| {
            std::thread::spawn(move || -> tenax_core::Result<Vec<u64>> {
                let mut got = Vec::new();
                loop {
                    let claimed = s.claim("default", 16)?;
                    if claimed.is_empty() {
                        return Ok(got);
                    }
                    for c in claimed {
                        got.push(c.job.id.get());
                        s.complete(&c.lease, None)?;
                    }
                }
            })
        })
        .collect();
    let mut seen = HashSet::new();
    let mut total = 0;
    for h in hosts {
        for id in h.join().expect("host thread")? {
            total += 1;
            assert!(seen.insert(id), "job {id} claimed twice");
        }
    }
    assert_eq!(total, 2_000);
    Ok(())
}

#[test]
fn a_lease_from_another_claim_is_stale_on_every_host() -> anyhow::Result<()> {
    let Some(server) = TestServer::find_or_skip("fence across hosts") else {
        return Ok(());
    };
    let schema = server.schema();
    let a = PgStore::open(schema.options().node("a"))?;
    let b = PgStore::open(schema.options().node("b"))?;
    a.enqueue_batch(vec![NewJob::new("k", Vec::new())])?;
    let first = a.claim("default", 1)?.remove(0);
    a.release(&first.lease)?;
    let second = b.claim("default", 1)?.remove(0);
    assert!(matches!(
        a.complete(&first.lease, None),
        Err(Error::StaleLease { .. })
    ));
    b.complete(&second.lease, None)?;
    assert_eq!(b.stats()?.total.completed, 1);
    Ok(())
}

#[test]
fn a_store_rescues_only_what_its_own_node_left_running() -> anyhow::Result<()> {
    let Some(server) = TestServer::find_or_skip("rescue by node") else {
        return Ok(());
    };
    let schema = server.schema();
    let a = PgStore::open(schema.options().node("a"))?;
    let id = a.enqueue_batch(vec![NewJob::new("k", Vec::new())])?[0].id();
    let held = a.claim("default", 1)?.remove(0);
    // Another host opening leaves a's job alone: a lives, its lease holds.
    let b = PgStore::open(schema.options().node("b"))?;
    assert_eq!(
        b.job(id)?.map(|(_, s)| s),
        Some(tenax_core::JobState::Running)
    );
    // a dies; b still does not take the job (that is the lease expiry's business);
    // a's next start under its name rescues it, its old lease fenced out.
    drop(a);
    assert_eq!(
        b.job(id)?.map(|(_, s)| s),
        Some(tenax_core::JobState::Running)
    );
    let a = PgStore::open(schema.options().node("a"))?;
    let (job, state) = a.job(id)?.expect("rescued, not lost");
    assert_eq!((state, job.crashes), (tenax_core::JobState::Pending, 1));
    assert!(matches!(
        b.complete(&held.lease, None),
        Err(Error::StaleLease { .. })
    ));
    assert!(b.check_consistency()?.is_consistent());
    Ok(())
}
