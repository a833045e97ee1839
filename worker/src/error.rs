//! The worker's errors. Each variant says what the caller should do about it.

/// Everything that can go wrong setting up or running a worker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed. The worker stops on a store error it cannot attribute to one
    /// job; restart it once the cause (disk, permissions) is fixed. Nothing is lost:
    /// running jobs are rescued at the next open.
    #[error(transparent)]
    Store(#[from] tenax_core::Error),

    /// A setting is out of range or missing (the message names it). Fix the setting.
    #[error("invalid worker configuration: {0}")]
    Config(String),

    /// The stored circuit-breaker state could not be read. The worker starts with a
    /// closed breaker and logs this; it is returned only by explicit state reads.
    #[error("stored breaker state of queue `{queue}` is unreadable: {reason}")]
    BreakerState {
        /// The queue whose breaker it is.
        queue: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A queue's stored pause and rate-limit record could not be read. The worker does
    /// not start on a guess (a paused queue might run); restore or delete the record.
    #[error("stored settings of queue `{queue}` are unreadable: {reason}")]
    QueueState {
        /// The queue whose record it is.
        queue: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A job's payload was refused before it was enqueued (bad request, URL outside the
    /// allowed bases). Fix the payload; nothing was stored.
    #[error("job of kind `{kind}` refused: {reason}")]
    Refused {
        /// The job's kind.
        kind: String,
        /// Why it cannot run.
        reason: String,
    },

    /// No handler is registered for the job's kind. Register one, or fix the kind.
    #[error("no handler for job kind `{0}`")]
    UnknownKind(String),

    /// The HTTP client could not be built (TLS set-up). Usually a broken system; report it.
    #[error("HTTP client set-up failed: {0}")]
    HttpClient(String),
}

/// Shorthand for results with the worker's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
