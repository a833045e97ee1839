//! Counting failures by class: a [`Handler`] that wraps the HTTP handler.
//!
//! The store keeps only a job's last error, so it cannot say how many times jobs were
//! retried as `not_found` on their way to success. The wrapper sees every attempt's
//! result as the worker does, and the worker never learns it is there.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use tenax_core::JobId;
use tenax_worker::{Handler, HandlerError, HandlerFuture, JobRun};

/// Failed attempts seen so far.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tally {
    /// Failed attempts per error class.
    pub(crate) failures: BTreeMap<String, u64>,
    /// Each job's latest failure: its class and HTTP status, to explain dead jobs.
    pub(crate) last: HashMap<JobId, (String, Option<u16>)>,
}

/// A handler that counts the failures of the handler it wraps.
pub(crate) struct Counting<H> {
    inner: H,
    tally: Arc<Mutex<Tally>>,
}

impl<H: Handler> Counting<H> {
    /// Wraps `inner`. Take [`Counting::tally`] before handing it to the worker.
    pub(crate) fn new(inner: H) -> Self {
        Counting {
            inner,
            tally: Arc::default(),
        }
    }

    /// The shared counts, readable while the worker runs.
    pub(crate) fn tally(&self) -> Arc<Mutex<Tally>> {
        Arc::clone(&self.tally)
    }
}

impl<H: Handler> Handler for Counting<H> {
    fn handle(&self, job: JobRun) -> HandlerFuture {
        let id = job.id;
        let attempt = self.inner.handle(job);
        let tally = Arc::clone(&self.tally);
        Box::pin(async move {
            let result = attempt.await;
            if let Err(err) = &result {
                record(&tally, id, err);
            }
            result
        })
    }

    fn validate(&self, payload: &[u8]) -> Result<(), HandlerError> {
        self.inner.validate(payload)
    }
}

fn record(tally: &Mutex<Tally>, id: JobId, err: &HandlerError) {
    let class = err.class.as_str().to_owned();
    let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
    *tally.failures.entry(class.clone()).or_default() += 1;
    tally.last.insert(id, (class, err.status));
}

#[cfg(test)]
mod tests {
    use tenax_worker::handler_fn;

    use super::*;

    #[tokio::test]
    async fn failures_are_counted_by_class_and_successes_pass_through() {
        let flaky = handler_fn(|job: JobRun| async move {
            match job.attempt {
                0 => Err(HandlerError::not_found("HTTP 404").with_status(404)),
                _ => Ok(()),
            }
        });
        let counting = Counting::new(flaky);
        let tally = counting.tally();
        assert!(counting.handle(JobRun::new("http", "")).await.is_err());
        assert!(
            counting
                .handle(JobRun::new("http", "").with_attempt(1))
                .await
                .is_ok()
        );
        let tally = tally.lock().unwrap();
        assert_eq!(tally.failures.get("not_found"), Some(&1));
        assert_eq!(
            tally.last.get(&JobId::new(1)),
            Some(&("not_found".to_owned(), Some(404)))
        );
    }
}
