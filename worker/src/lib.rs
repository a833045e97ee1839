//! tenax-worker: delivers the jobs of a tenax store, with retries, a circuit breaker and
//! graceful shutdown.
//!
//! A [`Worker`] claims due jobs from a [`JobStore`](tenax_core::JobStore), runs each with
//! the [`Handler`] registered for its kind, and turns the outcome into a store
//! transition: complete, retry after the policy's delay, or bury in the dead letter
//! queue. Failures that count toward the breaker pause claiming while the downstream is
//! down. [`testing::Harness`] runs one attempt exactly as the worker does, without a
//! store or a clock. The HTTP handler, `http::HttpHandler`, is behind the feature `http`.
//!
//! ```
//! use std::sync::Arc;
//! use tenax_core::{NewJob, Store, StoreOptions};
//! use tenax_policies::{CompiledPolicy, LivePolicy};
//! use tenax_worker::{HandlerError, Worker, handler_fn};
//!
//! # #[tokio::main]
//! # async fn main() -> anyhow::Result<()> {
//! let dir = tempfile::tempdir()?;
//! let store = Arc::new(Store::open(dir.path(), StoreOptions::default())?);
//! let policy = LivePolicy::new(CompiledPolicy::default());
//!
//! // A handler classifies its own failures; the policy decides what each class means.
//! let (seen, mut calls) = tokio::sync::mpsc::unbounded_channel();
//! let greet = handler_fn(move |job| {
//!     let seen = seen.clone();
//!     async move {
//!         let _ = seen.send(());
//!         if job.payload.is_empty() {
//!             return Err(HandlerError::permanent("nobody to greet"));
//!         }
//!         Ok(())
//!     }
//! });
//! let worker = Worker::builder(store.clone(), policy)
//!     .handler("greet", greet)
//!     .build()?;
//! store.enqueue(NewJob::new("greet", b"world".to_vec()))?;
//! store.enqueue(NewJob::new("greet", Vec::new()))?;
//!
//! let stop = worker.shutdown_handle();
//! let running = tokio::spawn(worker.run());
//! for _ in 0..2 {
//!     calls.recv().await;
//! }
//! stop.shutdown(); // running jobs finish first
//! let report = running.await??;
//! // One delivered; one permanent failure, buried without a retry.
//! assert_eq!((report.completed, report.buried), (1, 1));
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

mod attempt;
pub mod breaker;
mod builder;
mod clock;
mod control;
mod error;
mod handler;
#[cfg(feature = "http")]
pub mod http;
mod jitter;
pub mod metrics;
mod observe;
mod probe;
mod rate;
mod runtime;
mod shutdown;
pub mod testing;

pub use breaker::BreakerState;
pub use builder::{
    DEFAULT_CONCURRENCY, DEFAULT_SHUTDOWN_GRACE, DEFAULT_TIMEOUT, InvalidSetting, MAX_CONCURRENCY,
    MAX_SHUTDOWN_GRACE, WorkerBuilder,
};
pub use clock::TokioClock;
pub use control::{Controls, Pause, QueueControl, RateOverride};
pub use error::{Error, Result};
pub use handler::{FnHandler, Handler, HandlerError, HandlerFuture, JobRun, handler_fn};
pub use jitter::Jitter;
pub use observe::{BreakerEvent, Observer, OutcomeEvent, OutcomeKind};
pub use probe::{FnProbe, HealthProbe, PROBE_TIMEOUT, probe_fn};
pub use rate::RateLimit;
pub use runtime::{BreakerView, JobValidator, RunReport, Worker};
pub use shutdown::{ShutdownHandle, shutdown_signal};

/// The README's library examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
