//! The connection thread: how a synchronous trait runs on an async client.
//!
//! Why a thread of its own: [`JobStore`](tenax_core::JobStore) is synchronous, and the
//! worker calls it from tasks on a multi-threaded tokio runtime. The blocking `postgres`
//! crate runs its own runtime inside each call, which panics when the caller is already
//! on one; `tokio::task::block_in_place` would hand the caller's core to another thread
//! on every call (and panics on a current-thread runtime). So every connection lives on
//! one small current-thread runtime, driven by this thread, and a call sends its future
//! there and parks on a plain channel until the answer comes back. That works from any
//! thread, async or not, and costs a thread wake-up each way: microseconds beside the
//! round trip to the server. The async enqueue returns a future that awaits the same
//! answer without blocking anything.
//!
//! NOTE: nothing that runs on this thread may call back into the store's blocking
//! methods: it would wait for itself.

use std::future::Future;
use std::sync::mpsc;
use std::thread::{JoinHandle, ThreadId};

use tenax_core::{Error, Result};
use tokio::sync::oneshot;

/// The runtime thread and a handle to spawn on it. Dropping it stops the thread, which
/// closes every connection.
pub(crate) struct Io {
    handle: tokio::runtime::Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    thread_id: ThreadId,
}

impl Io {
    pub(crate) fn start() -> std::io::Result<Io> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("tenax-postgres".into())
            .spawn(move || {
                // Returns when the store is dropped; dropping the runtime here (outside
                // any async context) then ends every task and closes the sockets.
                let _ = runtime.block_on(stopped);
            })?;
        let thread_id = thread.thread().id();
        Ok(Io {
            handle,
            stop: Some(stop),
            thread: Some(thread),
            thread_id,
        })
    }

    /// Runs `work` on the connection thread and waits for its answer on this one.
    pub(crate) fn block<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        debug_assert_ne!(
            std::thread::current().id(),
            self.thread_id,
            "a blocking store call on the connection thread would wait for itself"
        );
        let (tx, rx) = mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv().unwrap_or_else(|_| Err(stopped()))
    }

    /// Starts `work` on the connection thread now; the future resolves with its answer
    /// on any executor.
    pub(crate) fn submit<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T>> + Send + 'static,
    ) -> impl Future<Output = Result<T>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        self.handle.spawn(async move {
            let _ = tx.send(work.await);
        });
        async move { rx.await.unwrap_or_else(|_| Err(stopped())) }
    }

    /// Runs `task` on the connection thread until the store is dropped.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.handle.spawn(task);
    }
}

fn stopped() -> Error {
    Error::Unavailable("the store's connection thread has stopped".into())
}

impl Drop for Io {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Wait for the connections to close, so that a store reopened right after sees
        // this one gone; unless this is the connection thread itself (a task held the
        // last handle), which must not wait for itself.
        if std::thread::current().id() != self.thread_id
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
    }
}
