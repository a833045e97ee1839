//! The conformance suite every storage backend must pass.
//!
//! A backend crate implements [`Backend`] and calls [`run_all`] from one of its tests
//! (tenax-core's own fjall store does so in `tests/conformance_fjall.rs`). Each case gets a
//! fresh, empty backend and a [`ManualClock`] it controls, so no case sleeps. Cases panic
//! with a message naming what broke, like any test.

mod concurrent;
mod operator;
mod sharing;

use std::collections::HashSet;

use event_listener::Listener;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::{
    Attempt, DeadFilter, DeadSelector, DedupMode, Enqueued, Error, JobError, JobState, JobStore,
    ManualClock, NewJob, Result, StateUpdate, Timestamp,
};

/// A backend under test.
pub trait Backend {
    /// The store type the backend produces.
    type Store: JobStore;

    /// Opens the backend's store with `clock`: empty on the first call; later calls reopen
    /// the same data after the previous handle was dropped with no shutdown work, as a
    /// crashed process would leave it.
    fn open(&mut self, clock: ManualClock) -> Self::Store;
}

/// One conformance case.
pub type Case<B> = fn(&mut B) -> Result<()>;

/// Every case, by name.
pub fn cases<B: Backend>() -> Vec<(&'static str, Case<B>)> {
    vec![
        ("enqueue_claim_complete", enqueue_claim_complete::<B>),
        ("not_due_is_never_claimed", not_due_is_never_claimed::<B>),
        (
            "waiting_retry_does_not_block_due_jobs",
            waiting_retry_does_not_block::<B>,
        ),
        ("claim_order_is_run_at_then_id", claim_order::<B>),
        (
            "claims_are_exclusive_across_threads",
            claims_are_exclusive::<B>,
        ),
        (
            "retry_counts_records_and_keeps_dedup_key",
            retry_counts_and_records::<B>,
        ),
        (
            "bury_keeps_the_record_and_final_error",
            bury_keeps_record::<B>,
        ),
        (
            "release_does_not_count_an_attempt",
            release_does_not_count::<B>,
        ),
        (
            "outcomes_need_the_current_lease",
            outcomes_need_current_lease::<B>,
        ),
        (
            "complete_batch_answers_each_lease",
            complete_batch_answers_each_lease::<B>,
        ),
        (
            "stale_lease_is_rejected_after_rescue",
            stale_lease_after_rescue::<B>,
        ),
        ("crash_limit_buries_poison_jobs", crash_limit_buries::<B>),
        ("dedup_keys_hold_while_live", dedup_keys::<B>),
        ("batch_enqueue_is_all_or_nothing", batch_all_or_nothing::<B>),
        ("dead_letters_filter_page_requeue_purge", dead_letters::<B>),
        ("worker_state_rides_with_outcomes", worker_state::<B>),
        (
            "enqueue_with_state_stores_both_or_neither",
            enqueue_with_state::<B>,
        ),
        ("listen_fires_on_enqueue", listen_fires::<B>),
        ("async_enqueue_matches_blocking_enqueue", async_enqueue::<B>),
        (
            "async_and_blocking_enqueues_mix",
            async_and_blocking_mix::<B>,
        ),
        (
            "history_records_every_attempt",
            operator::history_records_every_attempt::<B>,
        ),
        (
            "cancel_buries_a_pending_job",
            operator::cancel_buries_a_pending_job::<B>,
        ),
        (
            "cancel_marks_a_running_job",
            operator::cancel_marks_a_running_job::<B>,
        ),
        (
            "delete_dead_removes_one_dead_letter",
            operator::delete_dead_removes_one_dead_letter::<B>,
        ),
        (
            "listing_pages_through_each_state",
            operator::listing_pages_through_each_state::<B>,
        ),
        (
            "leases_renew_and_expire",
            sharing::leases_renew_and_expire::<B>,
        ),
        (
            "worker_values_compare_and_set",
            sharing::worker_values_compare_and_set::<B>,
        ),
        (
            "a_conflicting_value_refuses_the_outcome",
            sharing::a_conflicting_value_refuses_the_outcome::<B>,
        ),
        (
            "enqueue_with_a_stale_value_stores_nothing",
            sharing::enqueue_with_a_stale_value_stores_nothing::<B>,
        ),
        (
            "listen_state_fires_on_writes",
            sharing::listen_state_fires_on_writes::<B>,
        ),
        (
            "token_buckets_hold_their_rate",
            sharing::token_buckets_hold_their_rate::<B>,
        ),
        (
            "concurrent_operations_keep_every_invariant",
            concurrent::concurrent_model::<B>,
        ),
    ]
}

/// Runs every case, each on a fresh backend from `fresh`.
pub fn run_all<B: Backend>(mut fresh: impl FnMut() -> B) {
    for (name, case) in cases::<B>() {
        let mut backend = fresh();
        if let Err(e) = case(&mut backend) {
            panic!("conformance case {name} failed: {e}");
        }
    }
}

const T0: u64 = 1_700_000_000_000;

fn clock() -> ManualClock {
    ManualClock::new(Timestamp::from_millis(T0))
}

fn job(kind: &str) -> NewJob {
    NewJob::new(kind, br#"{"n":1}"#.to_vec())
}

fn err(class: &str, at: Timestamp) -> Attempt {
    Attempt::from(JobError {
        class: class.into(),
        message: format!("{class} failure"),
        at,
    })
}

fn enqueue_claim_complete<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    let id = s.enqueue_batch(vec![job("a")])?[0].id();
    let (stored, state) = s.job(id)?.expect("enqueued job is stored");
    assert_eq!((stored.kind.as_str(), state), ("a", JobState::Pending));
    let c = s.claim("default", 10)?;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].job.payload, br#"{"n":1}"#);
    assert_eq!(s.job(id)?.map(|j| j.1), Some(JobState::Running));
    assert!(
        s.claim("default", 10)?.is_empty(),
        "a running job is not claimed twice"
    );
    s.complete(&c[0].lease, None)?;
    assert!(s.job(id)?.is_none(), "a completed job leaves the store");
    let counts = s.stats()?.total;
    assert_eq!(
        (counts.completed, counts.live(), counts.enqueued),
        (1, 0, 1)
    );
    Ok(())
}

fn not_due_is_never_claimed<B: Backend>(b: &mut B) -> Result<()> {
    let clock = clock();
    let s = b.open(clock.clone());
    let id = s.enqueue_batch(vec![job("a").with_delay(Duration::from_secs(10))])?[0].id();
    assert!(s.claim("default", 10)?.is_empty());
    assert_eq!(
        s.next_due("default")?,
        Some(s.now().saturating_add(Duration::from_secs(10)))
    );
    clock.advance(Duration::from_millis(9_999));
    assert!(s.claim("default", 10)?.is_empty(), "not due 1 ms early");
    clock.advance(Duration::from_millis(1));
    assert_eq!(s.claim("default", 10)?[0].job.id, id);
    Ok(())
}

fn waiting_retry_does_not_block<B: Backend>(b: &mut B) -> Result<()> {
    let clock = clock();
    let s = b.open(clock.clone());
    s.enqueue_batch(vec![job("first")])?;
    let c = s.claim("default", 1)?;
    let later = s.now().saturating_add(Duration::from_secs(600));
    s.retry(&c[0].lease, later, err("not_found", s.now()), None)?;
    let fresh: Vec<_> = (0..5).map(|_| job("fresh")).collect();
    s.enqueue_batch(fresh)?;
    let got = s.claim("default", 10)?;
    assert_eq!(
        got.len(),
        5,
        "due jobs behind a waiting retry are claimable"
    );
    assert!(got.iter().all(|c| c.job.kind == "fresh"));
    Ok(())
}

fn claim_order<B: Backend>(b: &mut B) -> Result<()> {
    let clock = clock();
    let s = b.open(clock.clone());
    let late = s.enqueue_batch(vec![job("late").with_delay(Duration::from_secs(2))])?[0].id();
    let early = s.enqueue_batch(vec![job("early").with_delay(Duration::from_secs(1))])?[0].id();
    let now1 = s.enqueue_batch(vec![job("now")])?[0].id();
    let now2 = s.enqueue_batch(vec![job("now")])?[0].id();
    clock.advance(Duration::from_secs(5));
    let order: Vec<_> = s.claim("default", 10)?.iter().map(|c| c.job.id).collect();
    assert_eq!(order, vec![now1, now2, early, late]);
    Ok(())
}

fn claims_are_exclusive<B: Backend>(b: &mut B) -> Result<()> {
    const JOBS: usize = 10_000;
    let s = Arc::new(b.open(clock()));
    for chunk in 0..JOBS / 1_000 {
        let jobs = (0..1_000)
            .map(|i| job(&format!("k{}", chunk * 1_000 + i)))
            .collect();
        s.enqueue_batch(jobs)?;
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (s, seen) = (s.clone(), seen.clone());
            std::thread::spawn(move || -> Result<()> {
                loop {
                    let got = s.claim("default", 7)?;
                    if got.is_empty() {
                        return Ok(());
                    }
                    for c in got {
                        seen.lock().expect("lock").push(c.job.id);
                        s.complete(&c.lease, None)?;
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("claimer thread")?;
    }
    let seen = seen.lock().expect("lock");
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(seen.len(), JOBS, "every job claimed");
    assert_eq!(unique.len(), JOBS, "no job claimed twice");
    assert_eq!(s.stats()?.total.completed, JOBS as u64);
    Ok(())
}

fn retry_counts_and_records<B: Backend>(b: &mut B) -> Result<()> {
    let clock = clock();
    let s = b.open(clock.clone());
    let req = job("a").with_dedup_key("item-1", DedupMode::KeepExisting);
    let id = s.enqueue_batch(vec![req.clone()])?[0].id();
    let c = s.claim("default", 1)?;
    let run_at = s.now().saturating_add(Duration::from_secs(5));
    s.retry(&c[0].lease, run_at, err("transient", s.now()), None)?;
    let (j, state) = s.job(id)?.expect("retried job is stored");
    assert_eq!((j.attempt, j.run_at, state), (1, run_at, JobState::Pending));
    assert_eq!(j.last_error.map(|e| e.class), Some("transient".to_owned()));
    assert_eq!(
        j.dedup_key.as_deref(),
        Some("item-1"),
        "a retry keeps its dedup key"
    );
    assert_eq!(s.enqueue_batch(vec![req])?[0], Enqueued::Existing(id));
    let counts = s.stats()?.total;
    assert_eq!(
        (counts.retrying, counts.waiting, counts.enqueued),
        (1, 0, 1)
    );
    clock.advance(Duration::from_secs(5));
    let c = s.claim("default", 1)?;
    assert_eq!((c[0].job.id, c[0].job.attempt), (id, 1));
    Ok(())
}

fn bury_keeps_record<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    let id = s.enqueue_batch(vec![job("a")])?[0].id();
    let c = s.claim("default", 1)?;
    s.bury(&c[0].lease, err("permanent", s.now()), None)?;
    let (j, state) = s.job(id)?.expect("dead job kept");
    assert_eq!(state, JobState::Dead);
    assert_eq!((j.attempt, j.dead_at), (1, Some(s.now())));
    assert_eq!(j.payload, br#"{"n":1}"#);
    assert_eq!(s.dead_job(id)?.map(|j| j.id), Some(id));
    assert!(
        s.claim("default", 1)?.is_empty(),
        "dead jobs are not claimed"
    );
    assert_eq!(s.stats()?.total.dead, 1);
    Ok(())
}

fn release_does_not_count<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    let id = s.enqueue_batch(vec![job("a")])?[0].id();
    let c = s.claim("default", 1)?;
    s.release(&c[0].lease)?;
    let c = s.claim("default", 1)?;
    assert_eq!((c[0].job.id, c[0].job.attempt), (id, 0));
    Ok(())
}

fn outcomes_need_current_lease<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    s.enqueue_batch(vec![job("a")])?;
    let c = s.claim("default", 1)?;
    let lease = c[0].lease.clone();
    s.release(&lease)?;
    let again = s.claim("default", 1)?;
    let stale = |r: Result<()>| matches!(r, Err(Error::StaleLease { .. }));
    assert!(stale(s.complete(&lease, None)), "old lease cannot complete");
    assert!(stale(s.retry(
        &lease,
        s.now(),
        err("transient", s.now()),
        None
    )));
    assert!(stale(s.bury(&lease, err("permanent", s.now()), None)));
    assert!(stale(s.release(&lease)));
    s.complete(&again[0].lease, None)?;
    assert!(
        stale(s.complete(&again[0].lease, None)),
        "no double completion"
    );
    Ok(())
}

fn complete_batch_answers_each_lease<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    s.enqueue_batch(vec![
        job("a"),
        job("b"),
        job("c"),
        job("d").with_queue("other"),
    ])?;
    let mut leases: Vec<_> = s
        .claim("default", 3)?
        .into_iter()
        .map(|c| c.lease)
        .collect();
    leases.extend(s.claim("other", 1)?.into_iter().map(|c| c.lease));
    s.complete(&leases[0], None)?;
    let answers = s.complete_batch(&leases);
    assert_eq!(answers.len(), 4, "one answer per lease");
    assert!(
        matches!(answers[0], Err(Error::StaleLease { .. })),
        "a completed lease is stale: {:?}",
        answers[0]
    );
    assert!(answers[1..].iter().all(Result::is_ok), "{answers:?}");
    assert!(s.complete_batch(&[]).is_empty());
    let t = s.stats()?;
    assert_eq!((t.total.completed, t.total.live()), (4, 0));
    assert_eq!(t.queues["other"].counts.completed, 1);
    assert!(s.check_consistency()?.is_consistent());
    Ok(())
}

fn stale_lease_after_rescue<B: Backend>(b: &mut B) -> Result<()> {
    let clock = clock();
    let s = b.open(clock.clone());
    let id = s.enqueue_batch(vec![job("a")])?[0].id();
    let old = s.claim("default", 1)?.remove(0).lease;
    drop(s); // the process dies with the job running
    let s = b.open(clock.clone());
    let (j, state) = s.job(id)?.expect("rescued job kept");
    assert_eq!((state, j.attempt, j.crashes), (JobState::Pending, 1, 1));
    assert_eq!(
        j.last_error.map(|e| e.class),
        Some(crate::CRASHED_CLASS.to_owned())
    );
    let new = s.claim("default", 1)?.remove(0).lease;
    assert!(matches!(
        s.complete(&old, None),
        Err(Error::StaleLease { .. })
    ));
    s.complete(&new, None)?;
    let t = s.stats()?.total;
    assert_eq!((t.completed, t.live()), (1, 0));
    Ok(())
}

fn crash_limit_buries<B: Backend>(b: &mut B) -> Result<()> {
    let clock = clock();
    let mut s = b.open(clock.clone());
    let id = s.enqueue_batch(vec![job("poison")])?[0].id();
    let mut reopens = 0;
    while s.job(id)?.map(|j| j.1) != Some(JobState::Dead) {
        assert!(
            reopens < 10,
            "a crash-looping job must end in the dead letter queue"
        );
        let c = s.claim("default", 1)?;
        assert_eq!(c.len(), 1);
        drop(s);
        s = b.open(clock.clone());
        reopens += 1;
    }
    let dead = s.dead_job(id)?.expect("buried");
    assert_eq!(
        dead.last_error.map(|e| e.class),
        Some(crate::CRASHED_CLASS.to_owned())
    );
    assert!(reopens >= 1 && dead.crashes == reopens);
    Ok(())
}

fn dedup_keys<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    let keep = |p: &str| {
        NewJob::new("a", p.as_bytes().to_vec()).with_dedup_key("k", DedupMode::KeepExisting)
    };
    let replace = |p: &str| {
        NewJob::new("a", p.as_bytes().to_vec()).with_dedup_key("k", DedupMode::ReplacePayload)
    };
    let id = s.enqueue_batch(vec![keep("v1")])?[0].id();
    assert_eq!(
        s.enqueue_batch(vec![keep("v2")])?[0],
        Enqueued::Existing(id)
    );
    assert_eq!(
        s.enqueue_batch(vec![replace("v3")])?[0],
        Enqueued::Replaced(id)
    );
    assert_eq!(s.job(id)?.expect("kept").0.payload, b"v3");
    let other_queue = keep("q").with_queue("other");
    assert!(matches!(
        s.enqueue_batch(vec![other_queue])?[0],
        Enqueued::Created(_)
    ));
    let running = s.claim("default", 1)?.remove(0);
    let newer = s.enqueue_batch(vec![replace("v4")])?[0];
    let Enqueued::Created(new_id) = newer else {
        panic!("replacing a running job must enqueue a new one, got {newer:?}");
    };
    s.complete(&running.lease, None)?;
    assert_eq!(
        s.enqueue_batch(vec![keep("v5")])?[0],
        Enqueued::Existing(new_id)
    );
    let c = s.claim("default", 1)?.remove(0);
    assert_eq!(c.job.payload, b"v4");
    s.complete(&c.lease, None)?;
    assert!(matches!(
        s.enqueue_batch(vec![keep("v6")])?[0],
        Enqueued::Created(_)
    ));
    Ok(())
}

fn batch_all_or_nothing<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    let bad = NewJob::new("", b"x".to_vec());
    let r = s.enqueue_batch(vec![job("a"), bad, job("b")]);
    assert!(matches!(r, Err(Error::InvalidJob(_))), "got {r:?}");
    assert_eq!(s.stats()?.total.enqueued, 0);
    assert!(s.claim("default", 10)?.is_empty());
    let ids = s.enqueue_batch((0..3).map(|_| job("a")).collect())?;
    assert_eq!(ids.len(), 3);
    assert!(
        ids.windows(2).all(|w| w[0].id() < w[1].id()),
        "ids increase"
    );
    Ok(())
}

fn dead_letters<B: Backend>(b: &mut B) -> Result<()> {
    let clock = clock();
    let s = b.open(clock.clone());
    let kinds = ["a", "b", "a", "a", "b"];
    for (i, kind) in kinds.iter().enumerate() {
        s.enqueue_batch(vec![job(kind)])?;
        let c = s.claim("default", 1)?.remove(0);
        let class = if i % 2 == 0 { "permanent" } else { "transient" };
        s.bury(&c.lease, err(class, s.now()), None)?;
        clock.advance(Duration::from_secs(60));
    }
    let all = s.dead_jobs(&DeadFilter::default(), None, 100)?;
    assert_eq!(all.jobs.len(), 5);
    assert!(all.next.is_none());
    let a = s.dead_jobs(&DeadFilter::default().kind("a"), None, 100)?;
    assert_eq!(a.jobs.len(), 3);
    let perm = DeadFilter::default().class("permanent");
    assert_eq!(s.dead_jobs(&perm, None, 100)?.jobs.len(), 3);
    let since = Timestamp::from_millis(T0 + 120_000);
    assert_eq!(
        s.dead_jobs(&DeadFilter::default().since(since), None, 100)?
            .jobs
            .len(),
        3
    );
    let p1 = s.dead_jobs(&DeadFilter::default(), None, 2)?;
    let p2 = s.dead_jobs(&DeadFilter::default(), p1.next, 2)?;
    let p3 = s.dead_jobs(&DeadFilter::default(), p2.next, 2)?;
    let paged: Vec<_> = [p1.jobs, p2.jobs, p3.jobs]
        .concat()
        .iter()
        .map(|j| j.id)
        .collect();
    let listed: Vec<_> = all.jobs.iter().map(|j| j.id).collect();
    assert_eq!(paged, listed, "paging visits every dead job once, in order");
    assert!(p3.next.is_none());

    let first = listed[0];
    assert_eq!(s.requeue(&DeadSelector::Ids(vec![first]))?, 1);
    let (j, state) = s.job(first)?.expect("requeued");
    assert_eq!((state, j.attempt, j.dead_at), (JobState::Pending, 0, None));
    let missing = s.requeue(&DeadSelector::Ids(vec![first]));
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "got {missing:?}"
    );
    assert_eq!(
        s.requeue(&DeadSelector::Filter(DeadFilter::default().kind("b")))?,
        2
    );
    assert_eq!(s.stats()?.total.dead, 2);
    // Two dead jobs remain, buried 120 s and 180 s after T0; the clock is at T0 + 300 s.
    assert_eq!(s.purge_dead(Duration::from_secs(150))?, 1);
    assert_eq!(s.stats()?.total.dead, 1);
    assert_eq!(s.requeue(&DeadSelector::All)?, 1);
    let t = s.stats()?.total;
    assert_eq!((t.dead, t.waiting), (0, 4));
    Ok(())
}

fn worker_state<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    assert_eq!(s.state("breaker")?, None);
    s.put_state("breaker", b"closed")?;
    s.enqueue_batch(vec![job("a")])?;
    let c = s.claim("default", 1)?.remove(0);
    let update = StateUpdate::new("breaker", b"open");
    s.retry(&c.lease, s.now(), err("unavailable", s.now()), Some(update))?;
    assert_eq!(s.state("breaker")?.as_deref(), Some(&b"open"[..]));
    Ok(())
}

/// A scheduler's tick: its job and its last-fired mark land together or not at all,
/// across a reopen, and a deduplicated tick still moves the mark.
fn enqueue_with_state<B: Backend>(b: &mut B) -> Result<()> {
    let tick = |n: u8| {
        (
            job("a").with_dedup_key(format!("tick-{n}"), DedupMode::KeepExisting),
            [n],
        )
    };
    {
        let s = b.open(clock());
        let (first, mark) = tick(1);
        let bad = NewJob::new("", b"x".to_vec());
        let update = StateUpdate::new("schedule", &mark);
        let r = s.enqueue_with_state(vec![first, bad], update);
        assert!(matches!(r, Err(Error::InvalidJob(_))), "got {r:?}");
        assert_eq!(
            s.state("schedule")?,
            None,
            "a refused enqueue stores no state"
        );
        assert_eq!(s.stats()?.total.enqueued, 0, "nor any job");

        let (first, mark) = tick(1);
        let update = StateUpdate::new("schedule", &mark);
        let out = s.enqueue_with_state(vec![first], update)?;
        assert!(matches!(out[..], [Enqueued::Created(_)]), "got {out:?}");
    }
    // Reopened as after a crash: the acknowledged write holds both.
    let s = b.open(clock());
    assert_eq!(s.state("schedule")?.as_deref(), Some(&[1u8][..]));
    assert_eq!(s.stats()?.total.waiting, 1);
    let (again, _) = tick(1);
    let out = s.enqueue_with_state(vec![again], StateUpdate::new("schedule", &[2]))?;
    assert!(matches!(out[..], [Enqueued::Existing(_)]), "got {out:?}");
    assert_eq!(s.state("schedule")?.as_deref(), Some(&[2u8][..]));
    assert_eq!(
        s.stats()?.total.waiting,
        1,
        "the tick's key held: no second job"
    );
    Ok(())
}

fn listen_fires<B: Backend>(b: &mut B) -> Result<()> {
    let s = Arc::new(b.open(clock()));
    let listener = s.listen();
    let producer = {
        let s = s.clone();
        std::thread::spawn(move || s.enqueue_batch(vec![job("a")]))
    };
    let woke = listener.wait_timeout(Duration::from_secs(10));
    producer.join().expect("producer")?;
    assert!(woke.is_some(), "an enqueue wakes a listener");
    Ok(())
}

/// Runs a future to completion on this thread: the suite needs no async runtime.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => std::thread::park(),
        }
    }
}

fn async_enqueue<B: Backend>(b: &mut B) -> Result<()> {
    let s = b.open(clock());
    let ids = block_on(s.enqueue_batch_async((0..3).map(|_| job("a")).collect()))?;
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|e| matches!(e, Enqueued::Created(_))));
    let bad = NewJob::new("", b"x".to_vec());
    let r = block_on(s.enqueue_batch_async(vec![job("a"), bad]));
    assert!(matches!(r, Err(Error::InvalidJob(_))), "got {r:?}");
    let keyed = || NewJob::new("a", b"v".to_vec()).with_dedup_key("k", DedupMode::KeepExisting);
    let holder = s.enqueue_batch(vec![keyed()])?[0].id();
    assert_eq!(
        block_on(s.enqueue_batch_async(vec![keyed()]))?[0],
        Enqueued::Existing(holder),
        "an async enqueue honours a dedup key held by a blocking one"
    );
    assert_eq!(s.stats()?.total.enqueued, 4);
    drop(s);
    let s = b.open(clock());
    let claimed: Vec<_> = s.claim("default", 10)?.iter().map(|c| c.job.id).collect();
    let mut expected: Vec<_> = ids.iter().map(|e| e.id()).collect();
    expected.push(holder);
    assert_eq!(
        claimed, expected,
        "acknowledged async enqueues survive a reopen"
    );
    Ok(())
}

fn async_and_blocking_mix<B: Backend>(b: &mut B) -> Result<()> {
    let s = Arc::new(b.open(clock()));
    let producers: Vec<_> = (0..8)
        .map(|p| {
            let s = s.clone();
            std::thread::spawn(move || -> Result<Vec<crate::JobId>> {
                let mut ids = Vec::new();
                for _ in 0..50 {
                    let out = if p % 2 == 0 {
                        block_on(s.enqueue_batch_async(vec![job("a")]))?
                    } else {
                        s.enqueue_batch(vec![job("a")])?
                    };
                    ids.push(out[0].id());
                }
                Ok(ids)
            })
        })
        .collect();
    let mut acknowledged = HashSet::new();
    for p in producers {
        for id in p.join().expect("producer")? {
            assert!(acknowledged.insert(id), "id {id} handed out twice");
        }
    }
    let claimed: HashSet<_> = s
        .claim("default", 1_000)?
        .iter()
        .map(|c| c.job.id)
        .collect();
    assert_eq!(
        claimed, acknowledged,
        "every acknowledged job is stored once"
    );
    assert_eq!(s.stats()?.total.enqueued, 400);
    Ok(())
}
