//! One attempt of a job: the handler's future run as its own task, under its timeout.
//!
//! Running each attempt as a task is what keeps a bad handler from taking the worker
//! down: a panic ends only that task (and becomes a failure of class `panicked`), and a
//! handler that hangs is cancelled at its timeout (a `transient` failure).

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use tenax_policies::ErrorClass;
use tokio::task::JoinError;

use crate::{Handler, HandlerError, JobRun};

/// What a finished attempt task returns.
pub(crate) type AttemptResult = Result<(), HandlerError>;

/// The attempt's future: calls the handler inside the task (so even a panic in `handle`
/// itself is caught) and applies the timeout.
pub(crate) async fn attempt(
    handler: Arc<dyn Handler>,
    run: JobRun,
    timeout: Duration,
) -> AttemptResult {
    match tokio::time::timeout(timeout, handler.handle(run)).await {
        Ok(result) => result,
        Err(_) => Err(HandlerError::transient(format!(
            "handler timed out after {}",
            tenax_policies::format_duration(timeout)
        ))),
    }
}

/// How an attempt task ended.
pub(crate) enum Settled {
    /// The handler returned (or panicked, turned into a `panicked` failure).
    Done(AttemptResult),
    /// The task was cancelled (shutdown): the job goes back without an attempt counted.
    Cancelled,
}

/// Turns a task's join result into the attempt's result.
pub(crate) fn settle(joined: Result<AttemptResult, JoinError>) -> Settled {
    match joined {
        Ok(result) => Settled::Done(result),
        Err(err) if err.is_panic() => {
            let message = panic_message(err.into_panic());
            Settled::Done(Err(HandlerError::new(
                ErrorClass::PANICKED,
                format!("handler panicked: {message}"),
            )))
        }
        Err(_) => Settled::Cancelled,
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

    async fn run_task(handler: impl Handler, timeout: Duration) -> Settled {
        let run = JobRun::new("test", Vec::new());
        let task = tokio::spawn(attempt(Arc::new(handler), run, timeout));
        settle(task.await)
    }

    #[tokio::test(start_paused = true)]
    async fn a_panic_is_a_panicked_failure() {
        let h = handler_fn(|_| async { panic!("boom") });
        let Settled::Done(Err(e)) = run_task(h, Duration::from_secs(1)).await else {
            panic!("expected a failure");
        };
        assert_eq!(e.class, ErrorClass::PANICKED);
        assert!(e.message.contains("boom"), "{}", e.message);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hang_is_cut_at_the_timeout_as_transient() {
        let h = handler_fn(|_| std::future::pending());
        let Settled::Done(Err(e)) = run_task(h, Duration::from_secs(5)).await else {
            panic!("expected a failure");
        };
        assert_eq!(e.class, ErrorClass::TRANSIENT);
        assert!(e.message.contains("timed out after 5s"), "{}", e.message);
    }

    #[tokio::test]
    async fn an_aborted_task_is_cancelled() {
        let h = handler_fn(|_| std::future::pending());
        let run = JobRun::new("test", Vec::new());
        let task = tokio::spawn(attempt(Arc::new(h), run, Duration::from_secs(60)));
        task.abort();
        assert!(matches!(settle(task.await), Settled::Cancelled));
    }
}
