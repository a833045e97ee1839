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
                changed = stop.changed() => {
                    // The daemon dropped its end: stop too.
                    if changed.is_err() {
                        return;
                    }
                }
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
        // The mark as stored now, with its version: another daemon sharing the store
        // may have fired meanwhile, and the write below only lands if nobody did.
        let stored = self.store.versioned_state(&s.state_key())?;
        let mark = stored
            .value
            .as_deref()
            .and_then(Mark::decode)
            .unwrap_or(mark);
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
        let version = stored.version;
        let written = tokio::task::spawn_blocking(move || {
            store.enqueue_with_state(jobs, StateUpdate::new(&key, &value).expecting(version))
        })
        .await
        .map_err(|e| tenax_core::Error::Storage(format!("the enqueue task failed: {e}")))?;
        let written = match written {
            Ok(written) => written,
            Err(tenax_core::Error::StateConflict { .. }) => {
                // Another daemon fired these ticks first: take its mark.
                tracing::debug!(schedule = %s.name, "the tick was fired by another daemon");
                let stored = self.store.state(&s.state_key())?;
                return Ok(stored.as_deref().and_then(Mark::decode).unwrap_or(new));
            }
            Err(err) => return Err(err),
        };
        let created = written
            .iter()
            .filter(|e| matches!(e, Enqueued::Created(_)))
            .count();
        tenax_worker::metrics::jobs_enqueued(&s.queue, created as u64);
        tracing::info!(schedule = %s.name, ticks = due.len(), tick = %latest, "scheduled job enqueued");
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Timing;
    use tenax_core::{Store, StoreOptions};
    use tenax_worker::TokioClock;

    /// 2026-01-01T00:00:00.500Z: half a second before a whole-second tick.
    const T0: u64 = 1_767_225_600_500;

    fn every_second() -> Schedule {
        Schedule {
            name: "s".into(),
            timing: Timing::every(Duration::from_secs(1)).expect("valid"),
            timing_text: "every 1s".into(),
            catch_up: CatchUp::One,
            queue: tenax_core::DEFAULT_QUEUE.into(),
            kind: "k".into(),
            payload: b"{}".to_vec(),
        }
    }

    fn open(dir: &std::path::Path) -> Arc<dyn JobStore> {
        let clock = Arc::new(TokioClock::new(Timestamp::from_millis(T0)));
        Arc::new(Store::open(dir, StoreOptions::default().clock(clock)).expect("open"))
    }

    /// Every tick's dedup key, in the order the jobs were enqueued.
    fn tick_keys(store: &dyn JobStore) -> Vec<String> {
        let claimed = store
            .claim(tenax_core::DEFAULT_QUEUE, 1_000)
            .expect("claim");
        claimed
            .into_iter()
            .map(|c| c.job.dedup_key.expect("a tick's key"))
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn the_scheduler_fires_each_tick_once_on_the_store_clock_and_stops() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path());
        let scheduler = Scheduler::load(store.clone(), vec![every_second()]);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(scheduler.run(stopped));
        // Paused time: ten and a quarter seconds pass at once, waking it at each tick.
        tokio::time::sleep(Duration::from_millis(10_250)).await;
        stop.send(true).expect("the task listens");
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("stops at once")
            .expect("no panic");
        let keys = tick_keys(store.as_ref());
        let expected: Vec<String> = (1..=10)
            .map(|s| format!("schedule:s:{}", T0 - 500 + s * 1_000))
            .collect();
        assert_eq!(keys, expected, "one job per tick, none before its time");
        let mark = Mark::decode(&store.state("schedule:s").expect("read").expect("stored"));
        assert_eq!(mark.and_then(|m| m.last_fired), Some(T0 - 500 + 10_000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_schedule_fires_nothing_for_the_past_and_a_restart_nothing_twice() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path());
        // Loading stores "covered until now" at once.
        drop(Scheduler::load(store.clone(), vec![every_second()]));
        let mark = Mark::decode(&store.state("schedule:s").expect("read").expect("stored"))
            .expect("a mark");
        assert_eq!((mark.covered, mark.last_fired), (T0, None));
        // A second start a moment later (no tick in between) enqueues nothing.
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(Scheduler::load(store.clone(), vec![every_second()]).run(stopped));
        tokio::time::sleep(Duration::from_millis(400)).await;
        stop.send(true).expect("the task listens");
        task.await.expect("no panic");
        assert!(tick_keys(store.as_ref()).is_empty());
    }
}
