//! tenax-worker: delivers the jobs of a tenax store, with retries, a circuit breaker and
//! graceful shutdown.

#![forbid(unsafe_code)]

mod error;
mod handler;
pub mod http;

pub use error::{Error, Result};
pub use handler::{FnHandler, Handler, HandlerError, HandlerFuture, JobRun, handler_fn};
