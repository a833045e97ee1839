//! Why an attempt failed: a call to a server, classified at the end with the attempt's
//! policy, or a decision of this application that already carries its class.

use tenax_policies::CompiledPolicy;
use tenax_worker::HandlerError;

use crate::classify::CallError;

/// A failed step of a job.
#[derive(Debug)]
pub enum Failure {
    /// A call to Stash or Plex failed; its class comes from the status or network
    /// failure (and the policy script).
    Call(CallError),
    /// This application decided; the class is set.
    Decided(HandlerError),
}

impl Failure {
    /// Retrying cannot help: a bad payload, a configuration Plex contradicts.
    pub fn permanent(message: impl Into<String>) -> Self {
        Failure::Decided(HandlerError::permanent(message))
    }

    /// Plex has no such item yet (the file is not scanned): retried on the slow
    /// `not_found` schedule, which does not count toward the breaker.
    pub fn not_found(message: impl Into<String>) -> Self {
        Failure::Decided(HandlerError::not_found(message))
    }

    /// The handler error the worker gets, classified with the attempt's `policy`.
    pub fn into_handler_error(self, policy: Option<&CompiledPolicy>) -> HandlerError {
        match self {
            Failure::Call(call) => call.to_handler_error(policy),
            Failure::Decided(error) => error,
        }
    }
}

impl From<CallError> for Failure {
    fn from(call: CallError) -> Self {
        Failure::Call(call)
    }
}
