//! A store clock driven by tokio time, for tests that run on paused time.
//!
//! The worker sleeps with tokio timers but reads "now" from the store's clock (the one
//! its stored timestamps use). In production both follow the system clock. In a test
//! with `#[tokio::test(start_paused = true)]`, tokio time jumps ahead whenever the runtime
//! is idle; giving the store a [`TokioClock`] makes its timestamps jump with it, so a
//! test of a ten-minute retry schedule runs in milliseconds.

use std::fmt;

use tenax_core::{Clock, Timestamp};
use tokio::runtime::Handle;
use tokio::time::Instant;

/// Wall-clock time as `start` plus the tokio time elapsed since creation.
pub struct TokioClock {
    runtime: Handle,
    origin: Instant,
    start: Timestamp,
}

impl TokioClock {
    /// A clock reading `start` now. Must be called inside a tokio runtime; the clock
    /// follows that runtime's time even when read from other threads (the store's
    /// maintenance thread).
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn new(start: Timestamp) -> Self {
        TokioClock {
            runtime: Handle::current(),
            origin: Instant::now(),
            start,
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        // Entering the runtime makes `Instant::now` read its (possibly paused) clock.
        let _inside = self.runtime.enter();
        self.start.saturating_add(self.origin.elapsed())
    }
}

impl fmt::Debug for TokioClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioClock")
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_paused_time_from_any_thread() {
        let clock = std::sync::Arc::new(TokioClock::new(Timestamp::from_millis(1_000)));
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(clock.now(), Timestamp::from_millis(61_000));
        let other = std::sync::Arc::clone(&clock);
        let seen = std::thread::spawn(move || other.now())
            .join()
            .expect("thread");
        assert_eq!(seen, Timestamp::from_millis(61_000));
    }
}
