//! A handler that records every attempt and answers from a script of outcomes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenax_core::{JobId, JobStore, Timestamp};
use tenax_worker::{Handler, HandlerError, HandlerFuture, JobRun};

/// One attempt as the handler saw it.
#[derive(Clone, Debug)]
pub struct Call {
    pub id: JobId,
    pub attempt: u32,
    pub payload: String,
    pub at: Timestamp,
}

type Answer = dyn Fn(&JobRun) -> Result<(), HandlerError> + Send + Sync;

/// Records calls; `answer` decides each attempt's result.
#[derive(Clone)]
pub struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
    answer: Arc<Answer>,
    store: Arc<dyn JobStore>,
    hold: Option<Duration>,
}

impl Recorder {
    pub fn new(
        store: Arc<dyn JobStore>,
        answer: impl Fn(&JobRun) -> Result<(), HandlerError> + Send + Sync + 'static,
    ) -> Self {
        Recorder {
            calls: Arc::default(),
            answer: Arc::new(answer),
            store,
            hold: None,
        }
    }

    /// Each attempt takes `d` (tokio time) before answering.
    pub fn holding(mut self, d: Duration) -> Self {
        self.hold = Some(d);
        self
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls lock").clone()
    }

    pub fn count(&self) -> usize {
        self.calls.lock().expect("calls lock").len()
    }

    /// The calls for one payload, in order.
    pub fn calls_for(&self, payload: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.payload == payload)
            .collect()
    }
}

impl Handler for Recorder {
    fn handle(&self, job: JobRun) -> HandlerFuture {
        let call = Call {
            id: job.id,
            attempt: job.attempt,
            payload: String::from_utf8_lossy(&job.payload).into_owned(),
            at: self.store.now(),
        };
        self.calls.lock().expect("calls lock").push(call);
        let result = (self.answer)(&job);
        let hold = self.hold;
        Box::pin(async move {
            if let Some(d) = hold {
                tokio::time::sleep(d).await;
            }
            result
        })
    }
}
