//! A handler that records when each attempt ran, on which worker, until it returned or
//! was cancelled: to check that no job runs in two places at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenax_core::{JobId, JobStore, Timestamp};
use tenax_worker::{Handler, HandlerError, HandlerFuture, JobRun};

/// One attempt: from its start to its return or its cancellation.
#[derive(Clone, Debug)]
pub struct Span {
    pub worker: &'static str,
    pub id: JobId,
    pub start: Timestamp,
    /// `None` while it runs.
    pub end: Option<Timestamp>,
    /// Whether it returned (rather than being cancelled).
    pub returned: bool,
}

/// The spans of every worker, shared.
#[derive(Clone, Default)]
pub struct Spans(Arc<Mutex<Vec<Span>>>);

impl Spans {
    pub fn all(&self) -> Vec<Span> {
        self.0.lock().expect("spans").clone()
    }

    pub fn of(&self, id: JobId) -> Vec<Span> {
        self.all().into_iter().filter(|s| s.id == id).collect()
    }

    /// Pairs of attempts of one job on different workers that overlapped in time.
    pub fn overlaps(&self) -> Vec<(Span, Span)> {
        let all = self.all();
        let mut found = Vec::new();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                let a_end = a.end.unwrap_or(Timestamp::from_millis(u64::MAX));
                let b_end = b.end.unwrap_or(Timestamp::from_millis(u64::MAX));
                if a.id == b.id && a.start < b_end && b.start < a_end {
                    found.push((a.clone(), b.clone()));
                }
            }
        }
        found
    }

    /// A handler for `worker` whose attempts take `hold` and then succeed.
    pub fn handler(&self, worker: &'static str, store: Arc<dyn JobStore>, hold: Duration) -> Timed {
        Timed {
            spans: self.clone(),
            worker,
            store,
            hold,
        }
    }
}

/// See [`Spans::handler`].
#[derive(Clone)]
pub struct Timed {
    spans: Spans,
    worker: &'static str,
    store: Arc<dyn JobStore>,
    hold: Duration,
}

/// Marks its span ended when dropped: on return and on cancellation alike.
struct Ends {
    spans: Spans,
    index: usize,
    store: Arc<dyn JobStore>,
    returned: bool,
}

impl Drop for Ends {
    fn drop(&mut self) {
        let mut all = self.spans.0.lock().expect("spans");
        all[self.index].end = Some(self.store.now());
        all[self.index].returned = self.returned;
    }
}

impl Handler for Timed {
    fn handle(&self, job: JobRun) -> HandlerFuture {
        let index = {
            let mut all = self.spans.0.lock().expect("spans");
            all.push(Span {
                worker: self.worker,
                id: job.id,
                start: self.store.now(),
                end: None,
                returned: false,
            });
            all.len() - 1
        };
        let mut ends = Ends {
            spans: self.spans.clone(),
            index,
            store: self.store.clone(),
            returned: false,
        };
        let hold = self.hold;
        Box::pin(async move {
            tokio::time::sleep(hold).await;
            ends.returned = true;
            drop(ends);
            Ok::<(), HandlerError>(())
        })
    }
}
