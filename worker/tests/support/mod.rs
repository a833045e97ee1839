//! Shared set-up for the worker's integration tests: a store on a temp directory whose
//! clock follows tokio's (paused) time, a recording handler, and a call-counting store.

#![allow(dead_code, unreachable_pub)]

pub mod counting;
pub mod expiring;
mod loopback;
pub mod recorder;
pub mod spans;

#[allow(unused_imports)]
pub use loopback::*;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tenax_core::{Durability, JobStore, NewJob, Store, StoreOptions, Timestamp};
use tenax_policies::{CompiledPolicy, LivePolicy};
use tenax_worker::TokioClock;

/// A fixed start so stored times are readable in failures: 2026-01-01T00:00:00Z.
pub const START: Timestamp = Timestamp::from_millis(1_767_225_600_000);

/// A store in `dir` on `clock`. Buffered: the tests are about the worker, and crash
/// durability has its own tests in core.
pub fn open_store(dir: &Path, clock: &Arc<TokioClock>) -> Arc<Store> {
    let opts = StoreOptions::default()
        .durability(Durability::Buffered)
        .clock(clock.clone());
    Arc::new(Store::open(dir, opts).expect("open store"))
}

/// A tokio-driven clock at [`START`] (call inside the runtime).
pub fn clock() -> Arc<TokioClock> {
    Arc::new(TokioClock::new(START))
}

/// A live policy from a script.
pub fn policy(script: &str) -> LivePolicy {
    LivePolicy::new(CompiledPolicy::load_str(script, "test.rhai").expect("valid test policy"))
}

/// Enqueues `n` jobs of `kind`, payloads "0", "1", ...
pub fn enqueue(store: &dyn JobStore, kind: &str, n: usize) {
    let jobs = (0..n)
        .map(|i| NewJob::new(kind, i.to_string().into_bytes()))
        .collect();
    store.enqueue_batch(jobs).expect("enqueue");
}

/// Waits (on tokio time) until `cond` holds, checking after every scheduler turn.
/// Panics after `limit` of tokio time: the tests never wait on real time.
pub async fn until(limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A worker running as a task.
pub struct Running {
    pub stop: tenax_worker::ShutdownHandle,
    task: tokio::task::JoinHandle<tenax_worker::Result<tenax_worker::RunReport>>,
}

/// Spawns `worker.run()`.
pub fn start(worker: tenax_worker::Worker) -> Running {
    Running {
        stop: worker.shutdown_handle(),
        task: tokio::spawn(worker.run()),
    }
}

impl Running {
    /// Graceful shutdown; the worker's report.
    pub async fn stop(self) -> anyhow::Result<tenax_worker::RunReport> {
        self.stop.shutdown();
        Ok(self.task.await??)
    }
}
