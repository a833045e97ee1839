//! Handlers and probes whose failure messages pass through the configuration's
//! [`Redactor`] before the worker stores, shows or logs them: a downstream that echoes
//! a credential into its error body, or a handler that quotes its request, leaks it
//! no further than the attempt.

use std::sync::Arc;

use tenax_worker::{Handler, HandlerError, HandlerFuture, HealthProbe, JobRun};

use crate::config::Redactor;

/// `inner`, with its errors redacted (as is, when there is no secret to redact).
pub(crate) fn handler(inner: Arc<dyn Handler>, redactor: &Redactor) -> Arc<dyn Handler> {
    if redactor.is_empty() {
        return inner;
    }
    Arc::new(Redacted {
        inner,
        redactor: redactor.clone(),
    })
}

/// `inner`, with its errors redacted (as is, when there is no secret to redact).
pub(crate) fn probe(inner: Arc<dyn HealthProbe>, redactor: &Redactor) -> Arc<dyn HealthProbe> {
    if redactor.is_empty() {
        return inner;
    }
    Arc::new(Redacted {
        inner,
        redactor: redactor.clone(),
    })
}

struct Redacted<T: ?Sized> {
    inner: Arc<T>,
    redactor: Redactor,
}

fn redact(redactor: &Redactor, mut error: HandlerError) -> HandlerError {
    if let std::borrow::Cow::Owned(clean) = redactor.redact(&error.message) {
        error.message = clean;
    }
    error
}

impl Handler for Redacted<dyn Handler> {
    fn handle(&self, job: JobRun) -> HandlerFuture {
        let attempt = self.inner.handle(job);
        let redactor = self.redactor.clone();
        Box::pin(async move { attempt.await.map_err(|e| redact(&redactor, e)) })
    }

    fn validate(&self, payload: &[u8]) -> Result<(), HandlerError> {
        self.inner
            .validate(payload)
            .map_err(|e| redact(&self.redactor, e))
    }
}

impl HealthProbe for Redacted<dyn HealthProbe> {
    fn check(&self) -> HandlerFuture {
        let check = self.inner.check();
        let redactor = self.redactor.clone();
        Box::pin(async move { check.await.map_err(|e| redact(&redactor, e)) })
    }
}
