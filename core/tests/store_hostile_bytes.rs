//! Arbitrary bytes and strings from producers: each job is refused with `InvalidJob` or
//! stored and read back exactly; the store never panics and stays usable.

use proptest::prelude::*;
use tenax_core::{
    DedupMode, Enqueued, Error, JobState, MAX_NAME_BYTES, NewJob, Store, StoreOptions,
};

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,12}",
        any::<String>(),
        "\\PC{0,300}",
        Just(String::new()),
        Just("\0".to_owned()),
        Just("x".repeat(MAX_NAME_BYTES)),
        Just("x".repeat(MAX_NAME_BYTES + 1)),
    ]
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        Just(vec![0u8; 4096]),
        Just(vec![0xffu8; 64]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_jobs_round_trip_or_are_refused(
        jobs in proptest::collection::vec((name(), name(), payload(), proptest::option::of(name())), 1..8)
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), StoreOptions::default()).expect("open");
        for (queue, kind, payload, dedup) in jobs {
            let mut job = NewJob::new(kind.clone(), payload.clone()).with_queue(queue.clone());
            if let Some(key) = &dedup {
                job = job.with_dedup_key(key.clone(), DedupMode::KeepExisting);
            }
            match store.enqueue(job) {
                Ok(enqueued) => {
                    let (stored, state) = store.job(enqueued.id()).expect("read").expect("stored");
                    prop_assert_eq!(state, JobState::Pending);
                    prop_assert_eq!(&stored.queue, &queue);
                    // A clash on the dedup key keeps the earlier job; a new one is exact.
                    if let Enqueued::Created(_) = enqueued {
                        prop_assert_eq!(&stored.kind, &kind);
                        prop_assert_eq!(&stored.payload, &payload);
                        prop_assert_eq!(&stored.dedup_key, &dedup);
                    }
                }
                Err(Error::InvalidJob(reason)) => prop_assert!(!reason.is_empty()),
                Err(other) => prop_assert!(false, "unexpected error: {other}"),
            }
        }
        // Still usable: stats read, and a plain job goes in and out.
        store.stats().expect("stats");
        let id = store.enqueue(NewJob::new("plain", b"{}".to_vec())).expect("enqueue").id();
        let claimed = store.claim("default", 1_000).expect("claim");
        prop_assert!(claimed.iter().any(|c| c.job.id == id));
    }
}
