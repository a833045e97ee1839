//! The scheduler task: fires due ticks, then sleeps until the earliest next tick.

use std::sync::Arc;
use std::time::Duration;

use tenax_core::{Enqueued, JobStore, StateUpdate, Timestamp};
use tokio::sync::watch;

use super::{CatchUp, Mark, Schedule};

/// How long to wait before trying a failed tick again (the store refused the write:
/// full disk, I/O error). The tick stays due, so nothing is lost meanwhile.
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(5);

/// Fires the configured schedules on the store's clock.
pub(crate) struct Scheduler {
    store: Arc<dyn JobStore>,
    schedules: Vec<Schedule>,
    /// Each schedule's mark, as stored; `None` while the store cannot be read.
    marks: Vec<Option<Mark>>,
}

impl Scheduler {
    /// Reads (or, for a new schedule, stores) each schedule's mark, before the daemon
    /// says it is running: from then on `GET /v1/schedules` shows where each stands.
    pub(crate) fn load(store: Arc<dyn JobStore>, schedules: Vec<Schedule>) -> Self {
        let mut scheduler = Scheduler {
            store,
            schedules,
            marks: Vec::new(),
        };
        scheduler.marks = scheduler
            .schedules
            .iter()
            .map(|s| scheduler.load_mark(s))
            .collect();
        scheduler
    }

    /// Runs until `stop` turns true (or its sender goes). Each round fires what is due
    /// by the store's clock and sleeps (tokio time) until the earliest next tick.
    pub(crate) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        if self.schedules.is_empty() {
            return;
        }
        let mut marks = std::mem::take(&mut self.marks);
        loop {
            if *stop.borrow() {
                return;
            }
            let mut wake: Option<Timestamp> = None;
            let mut failed = false;
            for (s, mark) in self.schedules.iter().zip(marks.iter_mut()) {
                match self.fire(s, *mark).await {
                    Ok(new) => *mark = Some(new),
                    Err(err) => {
                        tracing::error!(schedule = %s.name, %err, "could not enqueue a scheduled job; trying again shortly");
                        failed = true;
                    }
                }
                if let Some(next) = mark.and_then(|m| s.timing.next_after(m.covered())) {
                    wake = Some(wake.map_or(next, |w| w.min(next)));
                }
            }
            let now = self.store.now();
            let mut sleep = match wake {
                Some(at) => at.since(now),
                // No schedule fires again: wait for the stop.
                None => Duration::MAX,
            };
            if failed {
                sleep = sleep.min(RETRY_AFTER_ERROR);
            }
            let sleep = tokio::time::sleep(sleep.min(Duration::from_secs(86_400 * 365)));
            tokio::select! {
                () = sleep => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// The stored mark; a schedule seen for the first time starts "covered until now"
    /// (nothing from the past fires), stored at once so that a stop before its first
    /// tick still catches that tick up.
    fn load_mark(&self, s: &Schedule) -> Option<Mark> {
        let key = s.state_key();
        match self.store.state(&key) {
            Ok(Some(bytes)) => {
                if let Some(mark) = Mark::decode(&bytes) {
                    return Some(mark);
                }
                tracing::warn!(schedule = %s.name, "the stored mark is unreadable; starting from now");
            }
            Ok(None) => {}
            Err(err) => {
                tracing::error!(schedule = %s.name, %err, "cannot read the schedule's mark");
                return None;
            }
        }
        let fresh = Mark {
            covered: self.store.now().as_millis(),
            last_fired: None,
        };
        match self.store.put_state(&key, &fresh.encode()) {
            Ok(()) => Some(fresh),
            Err(err) => {
                tracing::error!(schedule = %s.name, %err, "cannot store the schedule's mark");
                None
            }
        }
    }

    /// Enqueues the due ticks of `s` with its new mark in one write; the mark as it is
    /// afterwards. Without a mark (the store could not be read) it tries to load one.
    async fn fire(&self, s: &Schedule, mark: Option<Mark>) -> tenax_core::Result<Mark> {
        let Some(mark) = mark.or_else(|| self.load_mark(s)) else {
            return Err(tenax_core::Error::Storage(
                "the schedule's mark is unavailable".into(),
            ));
        };
        let now = self.store.now();
        let due = s.timing.due(mark.covered(), now, s.catch_up);
        let Some(&latest) = due.last() else {
            return Ok(mark);
        };
        if s.catch_up == CatchUp::One && s.timing.next_after(mark.covered()) != Some(latest) {
            tracing::info!(schedule = %s.name, tick = %latest, "missed ticks: firing the latest only (catch_up = \"one\")");
        }
        let new = Mark {
            covered: latest.as_millis(),
            last_fired: Some(latest.as_millis()),
        };
        let jobs = due.iter().map(|&t| s.job(t)).collect();
        let (store, key, value) = (self.store.clone(), s.state_key(), new.encode());
        let written = tokio::task::spawn_blocking(move || {
            store.enqueue_with_state(
                jobs,
                StateUpdate {
                    key: &key,
                    value: &value,
                },
            )
        })
        .await
        .map_err(|e| tenax_core::Error::Storage(format!("the enqueue task failed: {e}")))??;
        let created = written
            .iter()
            .filter(|e| matches!(e, Enqueued::Created(_)))
            .count();
        tenax_worker::metrics::jobs_enqueued(&s.queue, created as u64);
        tracing::info!(schedule = %s.name, ticks = due.len(), tick = %latest, "scheduled job enqueued");
        Ok(new)
    }
}
