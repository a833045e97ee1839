//! What the workers did lately, kept in memory for the dashboard: per queue, a
//! per-minute count of outcomes over the last hour and the breaker outages of the last
//! day. Fed by the workers' [`Observer`] events; nothing is written to the store, and a
//! restart starts an empty hour (outages resume from the stored breaker).

mod minutes;
mod outages;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tenax_worker::{BreakerEvent, BreakerView, Observer, OutcomeEvent, OutcomeKind};

pub(crate) use minutes::{MINUTES, Minute};
pub(crate) use outages::Outage;

use minutes::{Count, Ring};
use outages::Outages;

/// The recent activity of every queue. Cheap to clone (a handle); give a clone to each
/// worker's builder as its observer, and one to the API.
#[derive(Clone, Default)]
pub struct Activity {
    queues: Arc<Mutex<HashMap<String, Queue>>>,
}

#[derive(Default)]
struct Queue {
    minutes: Ring,
    outages: Outages,
}

impl Activity {
    /// Nothing recorded yet.
    pub fn new() -> Self {
        Activity::default()
    }

    /// Starts a queue's outage log from its stored breaker: an outage that opened in the
    /// last day, and whether it has closed since.
    pub fn resume(&self, view: &BreakerView, now_ms: u64) {
        let Some(opened) = view.opened_at_ms else {
            return;
        };
        let closed = view.closed_at_ms.filter(|&c| c >= opened);
        if closed.is_some_and(|c| c + outages::KEEP_MS < now_ms) {
            return;
        }
        self.with(&view.queue, |q| q.outages.resumed(opened, closed, now_ms));
    }

    /// The last `n` minutes of `queue`, oldest first.
    pub(crate) fn minutes(&self, queue: &str, n: usize, now_ms: u64) -> Vec<Minute> {
        self.with(queue, |q| q.minutes.last(n, now_ms))
    }

    /// The outages of `queue` in the last day, oldest first.
    pub(crate) fn outages(&self, queue: &str, now_ms: u64) -> Vec<Outage> {
        self.with(queue, |q| q.outages.recent(now_ms))
    }

    fn with<T>(&self, queue: &str, f: impl FnOnce(&mut Queue) -> T) -> T {
        // Plain counters stay consistent even if a holder panicked.
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        if !queues.contains_key(queue) {
            queues.insert(queue.to_owned(), Queue::default());
        }
        f(queues.get_mut(queue).expect("inserted above"))
    }
}

impl Observer for Activity {
    fn outcome(&self, event: &OutcomeEvent<'_>) {
        let what = match event.outcome {
            OutcomeKind::Completed => Count::Completed,
            OutcomeKind::Retried { class } => Count::Retried(class),
            OutcomeKind::Buried { .. } => Count::Buried,
            OutcomeKind::Released => Count::Released,
            _ => return,
        };
        let at = event.at.as_millis();
        self.with(event.queue, |q| q.minutes.count(at, what));
    }

    fn breaker(&self, event: &BreakerEvent<'_>) {
        let at = event.at.as_millis();
        self.with(event.queue, |q| {
            q.outages
                .transition(event.from, event.to, at, event.reason, event.class);
        });
    }
}
