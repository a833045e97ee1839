//! A harness for testing your own handlers and policies: one job, one attempt, no store
//! and no clock.
//!
//! The attempt runs exactly as in the worker (its own task, the kind's timeout, a panic
//! caught as `panicked`), the handler sees the harness's policy as its run's
//! [`JobRun::policy`], and the failure is decided by the function the worker uses
//! (`attempt::decide`), with a fixed random draw (0 by default: the full, un-jittered
//! delay). A test runs one table of handler errors through both and compares.
//!
//! ```
//! use std::time::Duration;
//! use tenax_policies::CompiledPolicy;
//! use tenax_worker::testing::{Harness, TestOutcome};
//! use tenax_worker::{handler_fn, HandlerError, JobRun};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let flaky = handler_fn(|_| async { Err(HandlerError::transient("HTTP 503").with_status(503)) });
//! let harness = Harness::new(CompiledPolicy::default());
//!
//! // The third failure under the default transient policy: 5 s doubled twice.
//! let outcome = harness.run(flaky, JobRun::new("http", Vec::new()).with_attempt(2)).await;
//! assert!(matches!(outcome, TestOutcome::Retry { delay, .. } if delay == Duration::from_secs(20)));
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use tenax_policies::{BuryReason, CompiledPolicy, Decision, LivePolicy, LoadedPolicy};

use crate::attempt::{self, Ended};
use crate::{DEFAULT_TIMEOUT, Handler, HandlerError, JobRun};

/// What the worker would do after one attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum TestOutcome {
    /// The job completed.
    Completed,
    /// It failed and would run again after `delay`.
    Retry {
        /// The wait before the next attempt.
        delay: Duration,
        /// The failure.
        error: HandlerError,
    },
    /// It failed and would move to the dead letter queue.
    Buried {
        /// Why it is not retried.
        reason: BuryReason,
        /// The failure.
        error: HandlerError,
    },
}

/// Runs single attempts against a policy.
#[derive(Clone)]
pub struct Harness {
    /// Loaded once, as the worker loads one snapshot per attempt.
    policy: Arc<LoadedPolicy>,
    timeout: Duration,
    draw: f64,
}

impl Harness {
    /// A harness deciding with `policy`, with the worker's default attempt timeout.
    pub fn new(policy: CompiledPolicy) -> Self {
        Harness {
            policy: LivePolicy::new(policy).load(),
            timeout: DEFAULT_TIMEOUT,
            draw: 0.0,
        }
    }

    /// The attempt timeout (as `handler_with_timeout` would set it).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The jitter draw in [0, 1): 0 keeps the full delay, 0.5 takes away half of the
    /// class's jitter share.
    #[must_use]
    pub fn draw(mut self, draw: f64) -> Self {
        self.draw = draw;
        self
    }

    /// Runs one attempt of `job` with `handler` and decides its outcome. `job.attempt`
    /// is the number of failed attempts before this one.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub async fn run(&self, handler: impl Handler, job: JobRun) -> TestOutcome {
        let failed_before = job.attempt;
        let job = job.decided_with(Arc::clone(&self.policy));
        let task = tokio::spawn(attempt::attempt(Arc::new(handler), job, self.timeout, None));
        let error = match attempt::ended(task.await) {
            Ended::Returned(Ok(())) => return TestOutcome::Completed,
            Ended::Returned(Err(error)) => error,
            // No lease here, so nothing abandons an attempt.
            Ended::Cancelled | Ended::Abandoned => {
                HandlerError::transient("the attempt was cancelled")
            }
        };
        self.decide(error, failed_before)
    }

    /// What the policy decides for `error` after `failed_before` earlier failures.
    pub fn decide(&self, error: HandlerError, failed_before: u32) -> TestOutcome {
        let decided = attempt::decide(self.policy.compiled(), &error, failed_before, self.draw);
        match decided.decision {
            Decision::Retry { delay } => TestOutcome::Retry { delay, error },
            Decision::Bury { reason } => TestOutcome::Buried { reason, error },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tenax_policies::{BuryReason, CompiledPolicy, ErrorClass};

    use super::{Harness, TestOutcome};
    use crate::{HandlerError, JobRun, handler_fn};

    fn job() -> JobRun {
        JobRun::new("t", Vec::new())
    }

    #[tokio::test(start_paused = true)]
    async fn reports_what_the_worker_would_do() {
        let harness = Harness::new(CompiledPolicy::default());
        let ok = handler_fn(|_| async { Ok(()) });
        assert_eq!(harness.run(ok, job()).await, TestOutcome::Completed);

        let bad = handler_fn(|_| async { Err(HandlerError::permanent("HTTP 400")) });
        let TestOutcome::Buried { reason, error } = harness.run(bad, job()).await else {
            panic!("a permanent failure is buried");
        };
        assert_eq!(reason, BuryReason::NotRetryable);
        assert_eq!(error.message, "HTTP 400");

        let busy = || handler_fn(|_| async { Err(HandlerError::transient("HTTP 503")) });
        let last = harness.run(busy(), job().with_attempt(5)).await;
        assert!(matches!(
            last,
            TestOutcome::Buried {
                reason: BuryReason::RetriesExhausted { max_retries: 5 },
                ..
            }
        ));
        let jittered = harness.clone().draw(0.999).run(busy(), job()).await;
        assert!(
            matches!(jittered, TestOutcome::Retry { delay, .. } if delay > Duration::from_millis(2400) && delay < Duration::from_millis(2600))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn panics_and_hangs_fail_with_their_classes() {
        let harness = Harness::new(CompiledPolicy::default()).timeout(Duration::from_secs(3));
        let panics = handler_fn(|_| async { panic!("bug") });
        let TestOutcome::Retry { error, .. } = harness.run(panics, job()).await else {
            panic!("a panic is retried under the fallback class");
        };
        assert_eq!(error.class, ErrorClass::PANICKED);
        let hangs = handler_fn(|_| std::future::pending());
        let TestOutcome::Retry { error, .. } = harness.run(hangs, job()).await else {
            panic!("a timeout is transient");
        };
        assert_eq!(error.class, ErrorClass::TRANSIENT);
    }
}
