//! One attempt of a job: the handler's future run as its own task, under its timeout.
//!
//! Running each attempt as a task is what keeps a bad handler from taking the worker
//! down: a panic ends only that task (and becomes a failure of class `panicked`), and a
//! handler that hangs is cancelled at its timeout (a `transient` failure).
//!
//! On a store whose leases expire, an attempt also stops on its own when its lease may
//! lapse: the worker moves the deadline forward after each renewal, and an attempt
//! whose deadline passes is abandoned (another process may rescue the job once the
//! lease has expired, and the two must not run it at once). The guard runs inside the
//! attempt's task, so it holds even while the worker's loop waits on a slow store.
//!
//! What becomes of a failed attempt is decided here too, by [`decide`], for both the
//! worker and the [`testing`](crate::testing) harness: one function reading one policy
//! snapshot, so the two cannot disagree and no reload can slip between the class's
//! breaker count and the retry decision.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use tenax_policies::{CompiledPolicy, Decision, ErrorClass};
use tokio::sync::watch;
use tokio::task::JoinError;
use tokio::time::Instant;

use crate::{Handler, HandlerError, JobRun};

/// What a handler returns.
pub(crate) type AttemptResult = Result<(), HandlerError>;

/// What an attempt task returns: the handler's result, or `None` when the attempt was
/// abandoned because its lease could not be renewed in time.
pub(crate) type TaskOutput = Option<AttemptResult>;

/// The attempt's future: calls the handler inside the task (so even a panic in `handle`
/// itself is caught) and applies the timeout, and the lease's deadline if there is one.
pub(crate) async fn attempt(
    handler: Arc<dyn Handler>,
    run: JobRun,
    timeout: Duration,
    lease: Option<watch::Receiver<Instant>>,
) -> TaskOutput {
    let run = async {
        match tokio::time::timeout(timeout, handler.handle(run)).await {
            Ok(result) => result,
            Err(_) => Err(HandlerError::transient(format!(
                "handler timed out after {}",
                tenax_policies::format_duration(timeout)
            ))),
        }
    };
    match lease {
        None => Some(run.await),
        Some(deadline) => tokio::select! {
            result = run => Some(result),
            () = lapses(deadline) => None,
        },
    }
}

/// Resolves once the deadline passes without having been moved later.
async fn lapses(mut deadline: watch::Receiver<Instant>) {
    loop {
        let at = *deadline.borrow_and_update();
        tokio::select! {
            () = tokio::time::sleep_until(at) => return,
            changed = deadline.changed() => {
                if changed.is_err() {
                    // The worker is gone: the last deadline stands.
                    tokio::time::sleep_until(at).await;
                    return;
                }
            }
        }
    }
}

/// How an attempt task ended.
pub(crate) enum Ended {
    /// The handler returned (or panicked, turned into a `panicked` failure).
    Returned(AttemptResult),
    /// The task was cancelled (shutdown): the job goes back without an attempt counted.
    Cancelled,
    /// The lease could not be renewed in time: the job is another process's to rescue.
    Abandoned,
}

/// How the attempt task with this join result ended.
pub(crate) fn ended(joined: Result<TaskOutput, JoinError>) -> Ended {
    match joined {
        Ok(Some(result)) => Ended::Returned(result),
        Ok(None) => Ended::Abandoned,
        Err(err) if err.is_panic() => {
            let message = panic_message(err.into_panic());
            Ended::Returned(Err(HandlerError::new(
                ErrorClass::PANICKED,
                format!("handler panicked: {message}"),
            )))
        }
        Err(_) => Ended::Cancelled,
    }
}

/// What the policy makes of one failed attempt.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Decided {
    /// Retry after a delay, or bury.
    pub(crate) decision: Decision,
    /// Whether the failure's class counts toward the breaker.
    pub(crate) counts_toward_breaker: bool,
}

/// Decides a failed attempt with `policy`, after `failed_before` earlier failures, with
/// the jitter `draw`. Takes one snapshot, never the live policy, so everything about
/// this failure comes from one version of the policy.
pub(crate) fn decide(
    policy: &CompiledPolicy,
    error: &HandlerError,
    failed_before: u32,
    draw: f64,
) -> Decided {
    let failure = error.to_failure(failed_before.saturating_add(1));
    Decided {
        decision: policy.decide(&failure, draw),
        counts_toward_breaker: policy.counts_toward_breaker(&error.class),
    }
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler_fn;

    async fn run_task(handler: impl Handler, timeout: Duration) -> Ended {
        let run = JobRun::new("test", Vec::new());
        let task = tokio::spawn(attempt(Arc::new(handler), run, timeout, None));
        ended(task.await)
    }

    #[tokio::test(start_paused = true)]
    async fn a_panic_is_a_panicked_failure() {
        let h = handler_fn(|_| async { panic!("boom") });
        let Ended::Returned(Err(e)) = run_task(h, Duration::from_secs(1)).await else {
            panic!("expected a failure");
        };
        assert_eq!(e.class, ErrorClass::PANICKED);
        assert!(e.message.contains("boom"), "{}", e.message);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hang_is_cut_at_the_timeout_as_transient() {
        let h = handler_fn(|_| std::future::pending());
        let Ended::Returned(Err(e)) = run_task(h, Duration::from_secs(5)).await else {
            panic!("expected a failure");
        };
        assert_eq!(e.class, ErrorClass::TRANSIENT);
        assert!(e.message.contains("timed out after 5s"), "{}", e.message);
    }

    #[test]
    fn the_decision_and_the_breaker_count_come_from_the_snapshot_given() {
        let policy = CompiledPolicy::default();
        let down = decide(&policy, &HandlerError::unavailable("refused"), 0, 0.0);
        assert!(down.counts_toward_breaker);
        let hinted = HandlerError::not_found("HTTP 404")
            .with_status(404)
            .with_retry_after(Duration::from_secs(90));
        let missing = decide(&policy, &hinted, 0, 0.0);
        assert!(!missing.counts_toward_breaker);
        assert_eq!(
            missing.decision,
            Decision::Retry {
                delay: Duration::from_secs(90)
            },
            "the hint reaches the policy"
        );
    }

    #[tokio::test]
    async fn an_aborted_task_is_cancelled() {
        let h = handler_fn(|_| std::future::pending());
        let run = JobRun::new("test", Vec::new());
        let task = tokio::spawn(attempt(Arc::new(h), run, Duration::from_secs(60), None));
        task.abort();
        assert!(matches!(ended(task.await), Ended::Cancelled));
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_is_abandoned_when_its_lease_deadline_passes_unmoved() {
        let h = handler_fn(|_| std::future::pending());
        let start = Instant::now();
        let (renewed, deadline) = watch::channel(start + Duration::from_secs(10));
        let run = JobRun::new("test", Vec::new());
        let task = tokio::spawn(attempt(
            Arc::new(h),
            run,
            Duration::from_secs(3600),
            Some(deadline),
        ));
        // Two renewals move the deadline; then none comes.
        tokio::time::sleep(Duration::from_secs(8)).await;
        renewed.send_replace(start + Duration::from_secs(18));
        tokio::time::sleep(Duration::from_secs(8)).await;
        renewed.send_replace(start + Duration::from_secs(26));
        assert!(matches!(ended(task.await), Ended::Abandoned));
        assert_eq!(start.elapsed(), Duration::from_secs(26));
    }
}
