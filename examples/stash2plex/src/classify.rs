//! A failed call to Stash or Plex, and the error class it earns.
//!
//! The status decides, as in tenax's own HTTP handler, with one difference that both
//! servers share: a 503 means "not serving yet" (Plex answers it for a while after it
//! starts, while it runs its start-up maintenance) and is `unavailable`, so it opens the
//! breaker like a refused connection instead of burning `transient` retries. The
//! policy script's `classify` function, when it has one, still has the first word.
//!
//! | cause | class |
//! |---|---|
//! | connection refused, DNS failure, unreachable, TLS failure, 503 | `unavailable` |
//! | timeout, connection reset, 408, 425, 429, other 5xx, an answer we cannot read | `transient` |
//! | 404 | `not_found` |
//! | 401, 403, other 4xx | `permanent` |
//!
//! An answer we cannot read (not JSON, or GraphQL `errors`) is `transient`, never
//! `permanent`: it is as likely a server mid-restart behind a proxy as a real
//! incompatibility, and a few retries cost nothing before the dead letters show it.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use tenax_policies::{ClassifyInput, CompiledPolicy, ErrorClass, NetworkFailure};
use tenax_worker::HandlerError;

/// Which server a call went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// The Stash GraphQL server.
    Stash,
    /// The Plex Media Server.
    Plex,
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Server::Stash => "stash",
            Server::Plex => "plex",
        })
    }
}

/// A call that did not give what was asked. `what` names the call (`GET
/// /library/metadata/12`) and never holds a credential: tokens travel in headers only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallError {
    /// The server called.
    pub server: Server,
    /// The method and path called.
    pub what: String,
    /// What went wrong.
    pub cause: Cause,
}

/// What went wrong with a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The server answered with a status outside 2xx.
    Status {
        /// The status.
        status: u16,
        /// The start of the answer's body, whitespace collapsed.
        snippet: String,
        /// The server's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// No answer.
    Network {
        /// The kind of failure.
        kind: NetworkFailure,
        /// reqwest's account of it.
        message: String,
    },
    /// An answer we could not use: not the JSON we expected, or GraphQL `errors`.
    Unreadable(String),
}

/// How much of an error body a message keeps.
const SNIPPET_CHARS: usize = 200;

impl CallError {
    /// A call answered with `status`.
    pub fn status(
        server: Server,
        what: impl Into<String>,
        status: StatusCode,
        body: &str,
        retry_after: Option<Duration>,
    ) -> Self {
        let mut snippet: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
        if snippet.chars().count() > SNIPPET_CHARS {
            snippet = snippet.chars().take(SNIPPET_CHARS).collect::<String>() + "…";
        }
        CallError {
            server,
            what: what.into(),
            cause: Cause::Status {
                status: status.as_u16(),
                snippet,
                retry_after,
            },
        }
    }

    /// A call that got no answer.
    pub fn network(server: Server, what: impl Into<String>, err: &reqwest::Error) -> Self {
        let kind = tenax_worker::http::network_failure(err);
        let mut message = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.ends_with(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        CallError {
            server,
            what: what.into(),
            cause: Cause::Network { kind, message },
        }
    }

    /// A call whose answer we could not use.
    pub fn unreadable(server: Server, what: impl Into<String>, message: impl Into<String>) -> Self {
        CallError {
            server,
            what: what.into(),
            cause: Cause::Unreadable(message.into()),
        }
    }

    /// The class of this failure: the policy script's `classify` first, then the table
    /// of the module doc.
    pub fn class(&self, policy: Option<&CompiledPolicy>) -> ErrorClass {
        let message = self.to_string();
        let input = match &self.cause {
            Cause::Status { status, .. } => ClassifyInput::status(*status, &message),
            Cause::Network { kind, .. } => ClassifyInput::network(*kind, &message),
            Cause::Unreadable(_) => return ErrorClass::TRANSIENT,
        };
        policy
            .and_then(|p| p.classify(&input))
            .unwrap_or_else(|| default_class(&self.cause))
    }

    /// The handler error for this failure, classified with `policy`.
    pub fn to_handler_error(&self, policy: Option<&CompiledPolicy>) -> HandlerError {
        let mut error = HandlerError::new(self.class(policy), self.to_string());
        if let Cause::Status {
            status,
            retry_after,
            ..
        } = &self.cause
        {
            error = error.with_status(*status);
            if let Some(hint) = retry_after {
                error = error.with_retry_after(*hint);
            }
        }
        error
    }
}

/// The built-in table (see the module doc).
fn default_class(cause: &Cause) -> ErrorClass {
    match cause {
        Cause::Status { status: 503, .. } => ErrorClass::UNAVAILABLE,
        Cause::Status { status, .. } => tenax_policies::Cause::Status(*status)
            .default_class()
            .unwrap_or(ErrorClass::TRANSIENT),
        Cause::Network { kind, .. } => tenax_policies::Cause::Network(*kind)
            .default_class()
            .unwrap_or(ErrorClass::TRANSIENT),
        Cause::Unreadable(_) => ErrorClass::TRANSIENT,
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.server, self.what)?;
        match &self.cause {
            Cause::Status {
                status, snippet, ..
            } => {
                let reason = StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                write!(f, "{status} {reason}")?;
                if !snippet.is_empty() {
                    write!(f, ": {snippet}")?;
                }
                Ok(())
            }
            Cause::Network { kind, message } => write!(f, "{} ({message})", kind.as_str()),
            Cause::Unreadable(message) => write!(f, "unreadable answer: {message}"),
        }
    }
}

impl std::error::Error for CallError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> CallError {
        CallError::status(
            Server::Plex,
            "GET /x",
            StatusCode::from_u16(code).expect("status"),
            "",
            None,
        )
    }

    #[test]
    fn every_status_class_follows_the_table() {
        let table = [
            (404, ErrorClass::NOT_FOUND),
            (401, ErrorClass::PERMANENT),
            (403, ErrorClass::PERMANENT),
            (400, ErrorClass::PERMANENT),
            (422, ErrorClass::PERMANENT),
            (503, ErrorClass::UNAVAILABLE),
            (500, ErrorClass::TRANSIENT),
            (502, ErrorClass::TRANSIENT),
            (504, ErrorClass::TRANSIENT),
            (429, ErrorClass::TRANSIENT),
            (408, ErrorClass::TRANSIENT),
        ];
        for (code, class) in table {
            assert_eq!(status(code).class(None), class, "status {code}");
        }
    }

    #[test]
    fn network_failures_and_unreadable_answers_are_never_permanent() {
        let refused = CallError {
            server: Server::Stash,
            what: "POST /graphql".into(),
            cause: Cause::Network {
                kind: NetworkFailure::ConnectRefused,
                message: "refused".into(),
            },
        };
        assert_eq!(refused.class(None), ErrorClass::UNAVAILABLE);
        let timeout = CallError {
            cause: Cause::Network {
                kind: NetworkFailure::Timeout,
                message: "slow".into(),
            },
            ..refused.clone()
        };
        assert_eq!(timeout.class(None), ErrorClass::TRANSIENT);
        let odd = CallError::unreadable(Server::Stash, "POST /graphql", "not JSON");
        assert_eq!(odd.class(None), ErrorClass::TRANSIENT);
    }

    #[test]
    fn a_policy_script_classifies_first() -> anyhow::Result<()> {
        let policy = CompiledPolicy::load_str(
            "fn classify(f) { if f.status == 503 { \"transient\" } else { () } }\n#{}",
            "test.rhai",
        )?;
        assert_eq!(status(503).class(Some(&policy)), ErrorClass::TRANSIENT);
        assert_eq!(status(401).class(Some(&policy)), ErrorClass::PERMANENT);
        Ok(())
    }

    #[test]
    fn the_error_keeps_status_hint_and_a_short_body() {
        let long = "x ".repeat(500);
        let e = CallError::status(
            Server::Plex,
            "PUT /library/sections/1/all",
            StatusCode::TOO_MANY_REQUESTS,
            &long,
            Some(Duration::from_secs(7)),
        )
        .to_handler_error(None);
        assert_eq!(e.status, Some(429));
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        assert!(
            e.message
                .starts_with("plex PUT /library/sections/1/all: 429 Too Many Requests: x x")
        );
        assert!(e.message.chars().count() < 300, "{}", e.message);
    }
}
