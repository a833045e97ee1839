//! What runs a job: the [`Handler`] trait, one per job kind, and the error it returns.
//!
//! A handler reports a failure as a [`HandlerError`] that already carries its error
//! class. The worker never guesses a class from an error type: the original tool turned
//! permanent errors into temporary ones by re-wrapping exceptions, and tripped its
//! breaker with them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tenax_core::{Job, JobId, Timestamp};
use tenax_policies::{CompiledPolicy, ErrorClass, Failure, LoadedPolicy};

/// The future a handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send + 'static>>;

/// Runs jobs of one kind.
///
/// `handle` returns a `'static` future so the worker can run it as its own task: a panic
/// in it becomes a failure of class `panicked`, and a run past the kind's timeout is
/// cancelled and counts as `transient`. Either way the worker carries on.
pub trait Handler: Send + Sync + 'static {
    /// Runs one attempt of `job`.
    fn handle(&self, job: JobRun) -> HandlerFuture;

    /// Checks a payload before it is enqueued, so a job that can never run is refused
    /// at the door instead of dying in the dead letter queue. Default: accept anything.
    fn validate(&self, payload: &[u8]) -> Result<(), HandlerError> {
        let _ = payload;
        Ok(())
    }
}

impl<H: Handler + ?Sized> Handler for Arc<H> {
    fn handle(&self, job: JobRun) -> HandlerFuture {
        (**self).handle(job)
    }
    fn validate(&self, payload: &[u8]) -> Result<(), HandlerError> {
        (**self).validate(payload)
    }
}

/// A handler made from an async closure; see [`handler_fn`].
pub struct FnHandler<F>(F);

/// Turns `|job| async move { ... }` into a [`Handler`].
///
/// ```
/// use tenax_worker::{handler_fn, HandlerError};
///
/// let greeter = handler_fn(|job| async move {
///     let name = std::str::from_utf8(&job.payload)
///         .map_err(|e| HandlerError::permanent(format!("payload is not UTF-8: {e}")))?;
///     println!("hello, {name}");
///     Ok(())
/// });
/// # let _ = greeter;
/// ```
pub fn handler_fn<F, Fut>(f: F) -> FnHandler<F>
where
    F: Fn(JobRun) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    FnHandler(f)
}

impl<F, Fut> Handler for FnHandler<F>
where
    F: Fn(JobRun) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    fn handle(&self, job: JobRun) -> HandlerFuture {
        Box::pin((self.0)(job))
    }
}

/// One attempt of a job, as a handler sees it.
#[derive(Clone, Debug)]
pub struct JobRun {
    /// The job's id, stable across attempts (use it for idempotency keys downstream).
    pub id: JobId,
    /// The queue it came from.
    pub queue: String,
    /// Its kind (which picked this handler).
    pub kind: String,
    /// The producer's payload.
    pub payload: Vec<u8>,
    /// Failed attempts before this one: 0 on the first run.
    pub attempt: u32,
    /// When the job was first accepted.
    pub enqueued_at: Timestamp,
    /// The policy this attempt is decided with (see [`JobRun::policy`]).
    policy: Option<Arc<LoadedPolicy>>,
}

/// Equal when the job fields are equal and both runs carry the same policy snapshot
/// (the same load, not merely an equal script).
impl PartialEq for JobRun {
    fn eq(&self, other: &Self) -> bool {
        let same_policy = match (&self.policy, &other.policy) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        self.id == other.id
            && self.queue == other.queue
            && self.kind == other.kind
            && self.payload == other.payload
            && self.attempt == other.attempt
            && self.enqueued_at == other.enqueued_at
            && same_policy
    }
}

impl Eq for JobRun {}

impl JobRun {
    /// A first attempt of a job of `kind`, for tests and the [`testing`](crate::testing)
    /// harness: id 1, the default queue, enqueued at the epoch.
    pub fn new(kind: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        JobRun {
            id: JobId::new(1),
            queue: tenax_core::DEFAULT_QUEUE.to_owned(),
            kind: kind.into(),
            payload: payload.into(),
            attempt: 0,
            enqueued_at: Timestamp::ZERO,
            policy: None,
        }
    }

    /// The policy snapshot the worker (or the [`testing`](crate::testing) harness) will
    /// decide this attempt's failure with; `None` for a run made outside them.
    ///
    /// A handler that classifies its own failures (as the HTTP handler does) classifies
    /// with this one, so the class and the decision come from one load of the live
    /// policy: a reload while the attempt runs applies from the next attempt on, and
    /// never mixes two policies in one decision.
    pub fn policy(&self) -> Option<&CompiledPolicy> {
        self.policy.as_deref().map(LoadedPolicy::compiled)
    }

    /// The same run, decided with `policy`.
    pub(crate) fn decided_with(mut self, policy: Arc<LoadedPolicy>) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The same job with `failed` attempts behind it.
    #[must_use]
    pub fn with_attempt(mut self, failed: u32) -> Self {
        self.attempt = failed;
        self
    }
}

impl From<Job> for JobRun {
    fn from(job: Job) -> Self {
        JobRun {
            id: job.id,
            queue: job.queue,
            kind: job.kind,
            payload: job.payload,
            attempt: job.attempt,
            enqueued_at: job.enqueued_at,
            policy: None,
        }
    }
}

/// A failed attempt: its class, what happened, and what the downstream hinted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerError {
    /// Decides the retry schedule and whether the breaker hears of it.
    pub class: ErrorClass,
    /// What happened, for the job's last error (truncated when stored).
    pub message: String,
    /// The HTTP status, when the failure was a response.
    pub status: Option<u16>,
    /// The downstream's `Retry-After`: the next try waits at least this long.
    pub retry_after: Option<Duration>,
}

impl HandlerError {
    /// A failure of `class`.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        HandlerError {
            class,
            message: message.into(),
            status: None,
            retry_after: None,
        }
    }

    /// Worth retrying soon (`transient`).
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::TRANSIENT, message)
    }

    /// The downstream does not have the item yet (`not_found`).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::NOT_FOUND, message)
    }

    /// The downstream cannot be reached (`unavailable`); opens the breaker by default.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::UNAVAILABLE, message)
    }

    /// Retrying cannot help (`permanent`): straight to the dead letter queue.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::PERMANENT, message)
    }

    /// With the HTTP status that caused it.
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// With the downstream's `Retry-After` hint.
    #[must_use]
    pub fn with_retry_after(mut self, hint: Duration) -> Self {
        self.retry_after = Some(hint);
        self
    }

    /// The failure as the policy sees it, `attempt` being the 1-based number of the
    /// attempt that failed. The only place a handler's error becomes a [`Failure`], so
    /// the worker and the harness cannot drift apart on what the policy is told.
    pub(crate) fn to_failure(&self, attempt: u32) -> Failure<'_> {
        let mut failure = Failure::new(&self.class, attempt).message(&self.message);
        if let Some(status) = self.status {
            failure = failure.status(status);
        }
        if let Some(hint) = self.retry_after {
            failure = failure.retry_after(hint);
        }
        failure
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class, self.message)
    }
}

impl std::error::Error for HandlerError {}
