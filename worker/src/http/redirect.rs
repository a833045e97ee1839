//! Redirects are followed only within the allow-list.
//!
//! Without this, an allowed downstream (or anyone who can make it answer `302`) could
//! send the worker anywhere. A redirect the policy refuses is not an error: the `3xx`
//! response itself comes back and the built-in table classifies it as `permanent`.

use std::sync::Arc;

use reqwest::redirect::{Attempt, Policy};

use super::AllowedBases;
use super::target::Targets;

/// The most redirects followed for one request; the next `3xx` is returned as is.
pub(crate) const MAX_REDIRECTS: usize = 5;

/// A redirect policy that follows at most [`MAX_REDIRECTS`] redirects, each to an
/// allowed URL, and none out of the original URL's target: the client carries a
/// request's headers across a redirect, and a target's credentials must not leave it.
pub(crate) fn policy(allowed: Arc<AllowedBases>, targets: Arc<Targets>) -> Policy {
    Policy::custom(move |attempt: Attempt<'_>| {
        // `previous` starts with the original URL, which is not a redirect.
        let followed = attempt.previous().len().saturating_sub(1);
        let same_target = match attempt.previous().first().and_then(|u| targets.of(u)) {
            Some(from) => targets
                .of(attempt.url())
                .is_some_and(|to| std::ptr::eq(from, to)),
            None => true,
        };
        if followed < MAX_REDIRECTS && same_target && allowed.allows(attempt.url()) {
            attempt.follow()
        } else {
            tracing::debug!(to = %super::redact::redact_url(attempt.url().as_str()), followed, "redirect not followed");
            attempt.stop()
        }
    })
}
