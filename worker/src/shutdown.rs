//! Stopping a worker: gracefully (finish or release running jobs) or at once.

use tokio::sync::watch;

/// How the worker has been asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stop {
    /// Keep running.
    Running,
    /// Stop claiming; running jobs get the grace period, then are released.
    Graceful,
    /// Release running jobs now.
    Immediate,
}

/// Asks a running worker to stop; cheap to clone, usable from any task or thread.
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    tx: watch::Sender<Stop>,
}

impl ShutdownHandle {
    pub(crate) fn new() -> (Self, watch::Receiver<Stop>) {
        let (tx, rx) = watch::channel(Stop::Running);
        (ShutdownHandle { tx }, rx)
    }

    /// Stops claiming; running jobs have the shutdown grace period to finish, and those
    /// still running then are released back to the queue without an attempt counted.
    pub fn shutdown(&self) {
        self.escalate(Stop::Graceful);
    }

    /// Releases every running job now (their handlers are cancelled) and stops.
    pub fn shutdown_now(&self) {
        self.escalate(Stop::Immediate);
    }

    fn escalate(&self, to: Stop) {
        self.tx.send_if_modified(|stop| {
            let raise = to > *stop;
            if raise {
                *stop = to;
            }
            raise
        });
    }
}

/// Waits for SIGINT or SIGTERM (Ctrl-C elsewhere than Unix).
///
/// # Errors
/// When the signal handlers cannot be installed.
pub async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
