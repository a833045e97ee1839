//! The store's hot paths one call at a time: claim + complete of a due job, claim +
//! retry, a buffered enqueue, and reading a job back. (Key encoding is inside these;
//! it is private to the store, so it is measured through them.)
//!
//! Run: `cargo bench -p tenax-core --bench hot_paths`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tenax_core::{Durability, JobError, NewJob, Store, StoreOptions};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = StoreOptions::default()
        .durability(Durability::Buffered)
        .min_free_bytes(0);
    let store = Store::open(dir.path(), opts).expect("open");
    (dir, store)
}

fn payload() -> Vec<u8> {
    br#"{"method":"PUT","url":"http://127.0.0.1:32400/library/metadata/1/refresh","headers":{"X-Plex-Token":"0123456789abcdef"}}"#.to_vec()
}

/// Keeps about 10,000 jobs queued so each claim finds one.
fn refill(store: &Store) {
    let jobs = (0..10_000)
        .map(|_| NewJob::new("http", payload()))
        .collect();
    store.enqueue_batch(jobs).expect("refill");
}

fn hot_paths(c: &mut Criterion) {
    let mut group = c.benchmark_group("store");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));

    let (_dir, s) = store();
    refill(&s);
    let mut left = 10_000;
    group.bench_function("claim_complete", |b| {
        b.iter(|| {
            if left == 0 {
                refill(&s);
                left = 10_000;
            }
            left -= 1;
            let claimed = s.claim("default", 1).expect("claim");
            s.complete(black_box(&claimed[0].lease), None)
                .expect("complete");
        })
    });

    let (_dir2, s2) = store();
    s2.enqueue(NewJob::new("http", payload())).expect("enqueue");
    group.bench_function("claim_retry", |b| {
        b.iter(|| {
            let claimed = s2.claim("default", 1).expect("claim");
            let error = JobError {
                class: "transient".into(),
                message: "HTTP 503".into(),
                at: s2.now(),
            };
            // Due at once again, so the next claim finds it.
            s2.retry(&claimed[0].lease, s2.now(), error, None)
                .expect("retry");
        })
    });

    let (_dir3, s3) = store();
    group.bench_function("enqueue_buffered", |b| {
        b.iter(|| {
            s3.enqueue(NewJob::new("http", black_box(payload())))
                .expect("enqueue")
        })
    });

    let id = s3
        .enqueue(NewJob::new("http", payload()))
        .expect("enqueue")
        .id();
    group.bench_function("job_read", |b| {
        b.iter(|| s3.job(black_box(id)).expect("read"))
    });
    group.finish();
}

criterion_group!(benches, hot_paths);
criterion_main!(benches);
