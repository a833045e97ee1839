//! Concurrent enqueues merged into one statement by the committer: each caller gets
//! the ids of its own jobs, and a worker value rides with its own request.

use std::sync::Arc;

use tenax_core::{JobStore, NewJob, StateUpdate};
use tenax_postgres::PgStore;
use tenax_postgres::testing::TestServer;

#[test]
fn concurrent_callers_each_get_their_own_ids() -> anyhow::Result<()> {
    let Some(server) = TestServer::find_or_skip("merged enqueues") else {
        return Ok(());
    };
    let schema = server.schema();
    let store = Arc::new(PgStore::open(schema.options())?);
    let producers: Vec<_> = (0..8)
        .map(|p| {
            let store = store.clone();
            std::thread::spawn(move || -> tenax_core::Result<Vec<(String, u64)>> {
                let mut mine = Vec::new();
                for i in 0..40 {
                    let kinds: Vec<String> =
                        (0..1 + i % 3).map(|j| format!("p{p}-{i}-{j}")).collect();
                    let jobs = kinds
                        .iter()
                        .map(|k| NewJob::new(k.clone(), Vec::new()))
                        .collect();
                    let out = if i % 10 == 0 {
                        let (key, value) = (format!("producer-{p}"), format!("{p}-{i}"));
                        let state = StateUpdate::new(&key, value.as_bytes());
                        store.enqueue_with_state(jobs, state)?
                    } else {
                        store.enqueue_batch(jobs)?
                    };
                    assert_eq!(out.len(), kinds.len());
                    mine.extend(kinds.into_iter().zip(out.iter().map(|e| e.id().get())));
                }
                Ok(mine)
            })
        })
        .collect();
    let mut total = 0;
    for p in producers {
        for (kind, id) in p.join().expect("producer")? {
            let (job, _) = store.job(tenax_core::JobId::new(id))?.expect("stored");
            assert_eq!(job.kind, kind, "job {id} is the one its caller enqueued");
            total += 1;
        }
    }
    assert_eq!(store.stats()?.total.enqueued, total);
    for p in 0..8 {
        let value = store.state(&format!("producer-{p}"))?.expect("stored");
        assert_eq!(
            value,
            format!("{p}-30").into_bytes(),
            "the last value of {p}"
        );
    }
    assert!(store.check_consistency()?.is_consistent());
    Ok(())
}
