//! The health probe: what a half-open breaker asks before it lets a job through.
//!
//! Why ask first? A half-open breaker's probe is a real job, and a downstream that is
//! still starting (a media server answering 503 while it loads its libraries) makes
//! that job fail and burn an attempt, once per recovery timeout, for as long as the
//! outage lasts. A [`HealthProbe`] is a cheap question instead (an identity or status
//! endpoint): while it fails the breaker reopens and no job is touched; once it passes
//! the probe job goes through as before, and its outcome closes or reopens the breaker.
//! The probe runs only when a job is due, so an idle queue sends nothing.

use std::future::Future;
use std::time::Duration;

use crate::{HandlerError, HandlerFuture};

/// How long one health probe may run before it counts as failed: 10 s.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Asks the downstream of a queue whether it is healthy again. Registered with
/// [`WorkerBuilder::health_probe`](crate::WorkerBuilder::health_probe).
pub trait HealthProbe: Send + Sync + 'static {
    /// `Ok` when the downstream looks ready for a job; an error (of any class) keeps the
    /// breaker open for another recovery timeout. Cut at [`PROBE_TIMEOUT`].
    fn check(&self) -> HandlerFuture;
}

impl<P: HealthProbe + ?Sized> HealthProbe for std::sync::Arc<P> {
    fn check(&self) -> HandlerFuture {
        (**self).check()
    }
}

/// A probe made from an async closure; see [`probe_fn`].
pub struct FnProbe<F>(F);

/// Turns `|| async { ... }` into a [`HealthProbe`].
///
/// ```
/// use tenax_worker::{probe_fn, HandlerError};
///
/// let probe = probe_fn(|| async {
///     // e.g. GET the downstream's identity endpoint and map its answer
///     Err::<(), _>(HandlerError::unavailable("still starting"))
/// });
/// # let _ = probe;
/// ```
pub fn probe_fn<F, Fut>(f: F) -> FnProbe<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    FnProbe(f)
}

impl<F, Fut> HealthProbe for FnProbe<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    fn check(&self) -> HandlerFuture {
        Box::pin((self.0)())
    }
}

/// Runs `probe` under [`PROBE_TIMEOUT`]; a timeout is an `unavailable` failure.
pub(crate) async fn run(probe: std::sync::Arc<dyn HealthProbe>) -> Result<(), HandlerError> {
    match tokio::time::timeout(PROBE_TIMEOUT, probe.check()).await {
        Ok(result) => result,
        Err(_) => Err(HandlerError::unavailable(format!(
            "health probe timed out after {}",
            tenax_policies::format_duration(PROBE_TIMEOUT)
        ))),
    }
}
