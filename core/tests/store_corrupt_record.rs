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
