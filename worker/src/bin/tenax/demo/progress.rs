//! Live progress on stderr: one status line, plus a line for each milestone.
//!
//! On a terminal the status line is rewritten in place (`\r`) ten times a second, and a
//! milestone clears it, prints itself and lets the status line redraw below. Anywhere
//! else (a pipe, a CI log) carriage returns would pile up into one enormous line, so a
//! plain status line is printed once a second instead.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use tenax_core::Store;
use tenax_worker::{BreakerState, BreakerView};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, MissedTickBehavior};

/// Clears the current terminal line.
const CLEAR_LINE: &str = "\r\x1b[2K";

/// What the status line is drawn from.
pub(crate) struct Progress {
    /// The store whose counts are shown.
    pub(crate) store: Arc<Store>,
    /// The worker's breaker.
    pub(crate) breaker: watch::Receiver<BreakerView>,
    /// Milestones to print as they come.
    pub(crate) notes: mpsc::UnboundedReceiver<String>,
    /// Jobs enqueued, the denominator of "delivered".
    pub(crate) total: u64,
    /// When the demo started; times are shown relative to it.
    pub(crate) started: Instant,
}

impl Progress {
    /// Draws until `done` fires (or its sender is dropped), then prints the remaining
    /// milestones and a last status line.
    pub(crate) async fn run(mut self, mut done: oneshot::Receiver<()>) {
        let tty = std::io::stderr().is_terminal();
        let period = if tty {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(1)
        };
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut done => break,
                Some(note) = self.notes.recv() => self.note(tty, &note),
                _ = tick.tick() => self.status(tty),
            }
        }
        while let Ok(note) = self.notes.try_recv() {
            self.note(tty, &note);
        }
        self.status(tty);
        if tty {
            eprintln!();
        }
    }

    /// Prints a milestone on its own line, above the status line.
    fn note(&self, tty: bool, note: &str) {
        let prefix = if tty { CLEAR_LINE } else { "" };
        eprintln!(
            "{prefix}{:>6.1}s  {note}",
            self.started.elapsed().as_secs_f64()
        );
        if tty {
            self.status(tty);
        }
    }

    /// Draws the status line.
    fn status(&self, tty: bool) {
        let line = self.line();
        let mut err = std::io::stderr().lock();
        let _ = if tty {
            write!(err, "{CLEAR_LINE}{line}")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }

    fn line(&self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let Ok(stats) = self.store.stats() else {
            return format!("{elapsed:>6.1}s  (store unreadable)");
        };
        let c = stats.total;
        let now_ms = stats.at.as_millis();
        let breaker = breaker_text(&self.breaker.borrow(), now_ms);
        format!(
            "{elapsed:>6.1}s  delivered {}/{}  waiting {}  retrying {}  running {}  dead {}  breaker {breaker}",
            c.completed, self.total, c.waiting, c.retrying, c.running, c.dead
        )
    }
}

/// `closed`, `open (probe in 1.2 s)` or `half-open (probing)`.
fn breaker_text(view: &BreakerView, now_ms: u64) -> String {
    match view.state {
        BreakerState::Closed => "closed".to_owned(),
        BreakerState::HalfOpen => "half-open (probing)".to_owned(),
        BreakerState::Open => match view.probe_at_ms {
            Some(at) => format!(
                "OPEN (probe in {:.1} s)",
                Duration::from_millis(at.saturating_sub(now_ms)).as_secs_f64()
            ),
            None => "OPEN".to_owned(),
        },
    }
}
