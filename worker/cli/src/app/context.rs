//! [`HandlerContext`]: what an application's handler factory is given, once per queue.

use std::sync::Arc;

use tenax_core::JobStore;
use tenax_policies::LivePolicy;

/// What a handler (or health probe) factory gets for the queue it serves: the
/// application's configuration section, the queue, its live policy and the store.
///
/// The factory is called once per served queue (each queue has its own worker loop,
/// breaker and policy), when the daemon starts.
pub struct HandlerContext<S> {
    pub(crate) section: Arc<S>,
    pub(crate) queue: String,
    pub(crate) policy: LivePolicy,
    pub(crate) store: Arc<dyn JobStore>,
}

impl<S> HandlerContext<S> {
    /// The application's section of the configuration file, parsed and with its
    /// [`Secret`](crate::Secret)s read. `()` for an application without a section.
    pub fn section(&self) -> &S {
        &self.section
    }

    /// The section, shared, for a handler that keeps it.
    pub fn shared_section(&self) -> Arc<S> {
        Arc::clone(&self.section)
    }

    /// The queue this handler serves.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// The queue's live policy (hot-reloaded). A handler that classifies failures
    /// itself should prefer each attempt's own snapshot,
    /// [`JobRun::policy`](tenax_worker::JobRun::policy).
    pub fn policy(&self) -> &LivePolicy {
        &self.policy
    }

    /// The store, so that a handler may enqueue jobs (a reconciliation job that finds
    /// work and enqueues one job per item, say).
    pub fn store(&self) -> Arc<dyn JobStore> {
        Arc::clone(&self.store)
    }
}
