//! A record that fails to decode gives an error naming the job; other jobs keep working.
//!
//! White-box: the test damages one record through the storage engine directly, using
//! the key layout of `core/src/keys.rs` (keyspace `jobs`, key = id as big-endian u64).

use fjall::{Database, KeyspaceCreateOptions};
use tenax_core::{
    CORRUPT_CLASS, DeadFilter, DeadSelector, Error, JobId, NewJob, Store, StoreOptions,
};

fn damage(dir: &std::path::Path, id: JobId) {
    let db = Database::builder(dir.join("db"))
        .open()
        .expect("open engine");
    let jobs = db
        .keyspace("jobs", KeyspaceCreateOptions::default)
        .expect("jobs keyspace");
    jobs.insert(id.get().to_be_bytes(), [1u8, 0xff, 0xff])
        .expect("overwrite record");
    db.persist(fjall::PersistMode::SyncAll).expect("sync");
}

#[test]
fn a_damaged_record_is_set_aside_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let ids: Vec<JobId> = (0..3)
        .map(|i| store.enqueue(NewJob::new("k", vec![i])).unwrap().id())
        .collect();
    drop(store);
    damage(dir.path(), ids[1]);

    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let e = store.job(ids[1]).unwrap_err();
    assert!(
        matches!(e, Error::Corrupt { id: Some(id), .. } if id == ids[1]),
        "{e:?}"
    );
    assert!(e.to_string().contains(&format!("job {}", ids[1])), "{e}");

    let claimed: Vec<JobId> = store
        .claim("default", 10)
        .unwrap()
        .into_iter()
        .map(|c| {
            store.complete(&c.lease, None).unwrap();
            c.job.id
        })
        .collect();
    assert_eq!(claimed, vec![ids[0], ids[2]], "the other jobs keep working");

    let dead = store.dead_jobs(&DeadFilter::default(), None, 10).unwrap();
    assert_eq!(dead.jobs.len(), 1);
    let stand_in = &dead.jobs[0];
    assert_eq!(stand_in.id, ids[1]);
    assert_eq!(stand_in.last_error.as_ref().unwrap().class, CORRUPT_CLASS);
    let t = store.stats().unwrap().total;
    assert_eq!((t.completed, t.dead, t.live()), (2, 1, 0));

    // Requeueing it by id names the damage; requeueing all leaves it where it is.
    let e = store.requeue(&DeadSelector::Ids(vec![ids[1]])).unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e:?}");
    assert_eq!(store.requeue(&DeadSelector::All).unwrap(), 0);
    assert_eq!(store.purge_dead(std::time::Duration::ZERO).unwrap(), 1);
    assert_eq!(store.stats().unwrap().total.dead, 0);
}

#[test]
fn a_running_job_whose_record_is_damaged_is_counted_dead_in_its_own_queue() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let running = store
        .enqueue(NewJob::new("k", vec![1]).with_queue("mail"))
        .unwrap()
        .id();
    assert_eq!(store.claim("mail", 1).unwrap()[0].job.id, running);
    let waiting = store
        .enqueue(NewJob::new("k", vec![2]).with_queue("mail"))
        .unwrap()
        .id();
    // The process dies with the job running; its record is damaged meanwhile.
    drop(store);
    damage(dir.path(), running);

    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let mail = store.stats().unwrap().queues["mail"].counts;
    assert_eq!((mail.running, mail.dead, mail.waiting), (0, 1, 1));
    let dead = store.dead_jobs(&DeadFilter::default(), None, 10).unwrap();
    assert_eq!(dead.jobs.len(), 1);
    assert_eq!(
        (dead.jobs[0].id, dead.jobs[0].queue.as_str()),
        (running, "mail")
    );

    assert_eq!(store.purge_dead(std::time::Duration::ZERO).unwrap(), 1);
    let claimed = store.claim("mail", 10).unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].job.id, waiting);
    store.complete(&claimed[0].lease, None).unwrap();
    let report = store.check_consistency().unwrap();
    assert!(report.is_consistent(), "{report}");
    assert!(
        !store.stats().unwrap().queues.contains_key(""),
        "no queue \"\""
    );
}
