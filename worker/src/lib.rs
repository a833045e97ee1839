//! tenax-worker: delivers the jobs of a tenax store, with retries, a circuit breaker and
//! graceful shutdown.

#![forbid(unsafe_code)]

pub mod api;
mod attempt;
pub mod breaker;
mod builder;
mod clock;
mod error;
mod handler;
pub mod http;
mod jitter;
pub mod metrics;
mod runtime;
mod shutdown;
pub mod testing;

pub use breaker::BreakerState;
pub use builder::{
    DEFAULT_CONCURRENCY, DEFAULT_SHUTDOWN_GRACE, DEFAULT_TIMEOUT, MAX_CONCURRENCY, WorkerBuilder,
};
pub use clock::TokioClock;
pub use error::{Error, Result};
pub use handler::{FnHandler, Handler, HandlerError, HandlerFuture, JobRun, handler_fn};
pub use jitter::Jitter;
pub use runtime::{BreakerView, JobValidator, RunReport, Worker};
pub use shutdown::{ShutdownHandle, shutdown_signal};
