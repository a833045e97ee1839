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
            "{prefix}{:>4.1}s  {note}",
            self.started.elapsed().as_secs_f64()
        );
        if tty {
            self.status(tty);
        }
    }

    /// Draws the status line. On a terminal it is cut to the terminal's width: a line
    /// that wraps cannot be rewritten in place.
    fn status(&self, tty: bool) {
        let mut line = self.line();
        let mut err = std::io::stderr().lock();
        let _ = if tty {
            if let Some((cut, _)) = line.char_indices().nth(width().saturating_sub(1)) {
                line.truncate(cut);
            }
            write!(err, "{CLEAR_LINE}{line}")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }

    /// `  8.6s  delivered 98/300  retrying 23  running 2  dead 2  breaker closed`: the
    /// jobs waiting for their first attempt are left out to keep it within 80 columns.
    fn line(&self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let Ok(stats) = self.store.stats() else {
            return format!("{elapsed:>4.1}s  (store unreadable)");
        };
        let c = stats.total;
        let now_ms = stats.at.as_millis();
        let breaker = breaker_text(&self.breaker.borrow(), now_ms);
        format!(
            "{elapsed:>4.1}s  delivered {}/{}  retrying {}  running {}  dead {}  breaker {breaker}",
            c.completed, self.total, c.retrying, c.running, c.dead
        )
    }
}

/// The terminal's width from `COLUMNS` when the shell exports it, else 80.
fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&w: &usize| w >= 20)
        .unwrap_or(80)
}

/// `closed`, `OPEN, probe 2s` (whole seconds until the next probe) or `half-open`.
fn breaker_text(view: &BreakerView, now_ms: u64) -> String {
    match view.state {
        BreakerState::Closed => "closed".to_owned(),
        BreakerState::HalfOpen => "half-open".to_owned(),
        BreakerState::Open => match view.probe_at_ms {
            Some(at) => format!("OPEN, probe {}s", at.saturating_sub(now_ms).div_ceil(1000)),
            None => "OPEN".to_owned(),
        },
    }
}
