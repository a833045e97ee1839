//! A job that kills its process is rescued at each restart until the crash limit, then
//! buried as `crashed`; the other jobs are delivered. Uses real child processes: the
//! test binary re-runs itself with `TENAX_POISON_DIR` set.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tenax_core::{CRASHED_CLASS, DEFAULT_QUEUE, NewJob, Store, StoreOptions};
use tenax_policies::LivePolicy;
use tenax_worker::{HandlerError, Worker, handler_fn};

const ENV: &str = "TENAX_POISON_DIR";
const CRASH_LIMIT: u32 = 3;

fn open(dir: &Path) -> Result<Store> {
    Ok(Store::open(
        dir,
        StoreOptions::default().crash_limit(CRASH_LIMIT),
    )?)
}

/// The child: runs a worker until the queue is empty. The poison job aborts the process.
#[test]
fn poison_child() -> Result<()> {
    let Some(dir) = std::env::var_os(ENV) else {
        return Ok(()); // only meaningful as a child of the test below
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = Arc::new(open(Path::new(&dir))?);
        let handler = handler_fn(|job| async move {
            if job.payload == b"poison" {
                std::process::abort();
            }
            Ok::<(), HandlerError>(())
        });
        let worker = Worker::builder(store.clone(), LivePolicy::new(Default::default()))
            .handler("t", handler)
            .concurrency(1)
            .build()?;
        let stop = worker.shutdown_handle();
        let running = tokio::spawn(worker.run());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let c = store.stats()?.queues[DEFAULT_QUEUE].counts;
            if c.waiting + c.retrying + c.running == 0 {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                bail!("the queue did not empty: {c:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.shutdown();
        running.await??;
        Ok(())
    })
}

#[test]
fn a_job_that_kills_the_process_ends_in_the_dlq_as_crashed() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let poison = {
        let store = open(dir.path())?;
        let mut jobs: Vec<NewJob> = (0..10).map(|i| NewJob::new("t", format!("{i}"))).collect();
        jobs.push(NewJob::new("t", b"poison".to_vec()));
        jobs.extend((10..20).map(|i| NewJob::new("t", format!("{i}"))));
        let ids = store.enqueue_batch(jobs)?;
        ids[10].id()
    };
    let exe = std::env::current_exe()?;
    let mut runs = 0;
    loop {
        runs += 1;
        let status = Command::new(&exe)
            .args(["--exact", "poison_child", "--nocapture", "--test-threads=1"])
            .env(ENV, dir.path())
            .status()
            .context("run the child")?;
        if status.success() {
            break;
        }
        assert!(
            runs <= CRASH_LIMIT as usize + 1,
            "still crashing after {runs} runs"
        );
    }
    assert_eq!(
        runs,
        CRASH_LIMIT as usize + 1,
        "three crashes, then a clean run"
    );

    let store = open(dir.path())?;
    let job = store
        .dead_job(poison)?
        .context("the poison job is in the DLQ")?;
    let error = job.last_error.context("error recorded")?;
    assert_eq!(error.class, CRASHED_CLASS);
    assert_eq!(job.crashes, CRASH_LIMIT);
    let c = store.stats()?.queues[DEFAULT_QUEUE].counts;
    assert_eq!((c.completed, c.dead, c.waiting, c.running), (20, 1, 0, 0));
    Ok(())
}
