//! Sorting failures into error classes: the one built-in table, which a script's
//! `classify` function may override.
//!
//! The status code decides first and alone: the original tool sent 429s and 503s to the
//! dead letter queue because exception types, not statuses, chose the class.

use crate::ErrorClass;

/// A failure to get any response from the downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetworkFailure {
    /// Nothing listens on the port.
    ConnectRefused,
    /// The host name did not resolve.
    Dns,
    /// No route to the host or network.
    Unreachable,
    /// The request timed out (connecting or waiting for the response).
    Timeout,
    /// The connection was closed or reset mid-request.
    ConnectionReset,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// Anything else.
    Other,
}

impl NetworkFailure {
    /// Every kind, for tables and load-time samples.
    pub const ALL: [NetworkFailure; 7] = [
        NetworkFailure::ConnectRefused,
        NetworkFailure::Dns,
        NetworkFailure::Unreachable,
        NetworkFailure::Timeout,
        NetworkFailure::ConnectionReset,
        NetworkFailure::Tls,
        NetworkFailure::Other,
    ];

    /// The name scripts see: `connect_refused`, `dns`, `unreachable`, `timeout`,
    /// `connection_reset`, `tls`, `other`.
    pub const fn as_str(self) -> &'static str {
        match self {
            NetworkFailure::ConnectRefused => "connect_refused",
            NetworkFailure::Dns => "dns",
            NetworkFailure::Unreachable => "unreachable",
            NetworkFailure::Timeout => "timeout",
            NetworkFailure::ConnectionReset => "connection_reset",
            NetworkFailure::Tls => "tls",
            NetworkFailure::Other => "other",
        }
    }
}

/// What went wrong with a request: a response status, or no response at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The downstream answered with this HTTP status.
    Status(u16),
    /// The downstream could not be reached or did not answer.
    Network(NetworkFailure),
}

impl Cause {
    /// The built-in classification; `None` means success (2xx).
    ///
    /// | cause | class |
    /// |---|---|
    /// | connection refused, DNS failure, unreachable, TLS failure | `unavailable` |
    /// | timeout, connection reset, other network failure | `transient` |
    /// | 404 | `not_found` |
    /// | 408, 425, 429, 500-599 | `transient` |
    /// | 2xx | success (`None`) |
    /// | any other status (other 4xx, 1xx, 3xx, 600+) | `permanent` |
    ///
    /// TLS failures count as `unavailable` so that a broken certificate opens the breaker
    /// and pauses the queue instead of burying every job.
    pub fn default_class(self) -> Option<ErrorClass> {
        Some(match self {
            Cause::Network(kind) => match kind {
                NetworkFailure::ConnectRefused
                | NetworkFailure::Dns
                | NetworkFailure::Unreachable
                | NetworkFailure::Tls => ErrorClass::UNAVAILABLE,
                NetworkFailure::Timeout
                | NetworkFailure::ConnectionReset
                | NetworkFailure::Other => ErrorClass::TRANSIENT,
            },
            Cause::Status(200..=299) => return None,
            Cause::Status(404) => ErrorClass::NOT_FOUND,
            Cause::Status(408 | 425 | 429 | 500..=599) => ErrorClass::TRANSIENT,
            Cause::Status(_) => ErrorClass::PERMANENT,
        })
    }
}

/// What a `classify` function sees: the cause and a short message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassifyInput<'a> {
    /// The status or network failure.
    pub cause: Cause,
    /// A short description (an error message or the start of the response body).
    pub message: &'a str,
}

impl<'a> ClassifyInput<'a> {
    /// An input for an HTTP status.
    pub fn status(status: u16, message: &'a str) -> Self {
        ClassifyInput {
            cause: Cause::Status(status),
            message,
        }
    }

    /// An input for a network failure.
    pub fn network(kind: NetworkFailure, message: &'a str) -> Self {
        ClassifyInput {
            cause: Cause::Network(kind),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_one_class() {
        for status in 100..=999u16 {
            let class = Cause::Status(status).default_class();
            let expected = match status {
                200..=299 => None,
                404 => Some(ErrorClass::NOT_FOUND),
                408 | 425 | 429 | 500..=599 => Some(ErrorClass::TRANSIENT),
                _ => Some(ErrorClass::PERMANENT),
            };
            assert_eq!(class, expected, "status {status}");
        }
    }

    #[test]
    fn network_failures_are_unavailable_or_transient() {
        let table = [
            (NetworkFailure::ConnectRefused, ErrorClass::UNAVAILABLE),
            (NetworkFailure::Dns, ErrorClass::UNAVAILABLE),
            (NetworkFailure::Unreachable, ErrorClass::UNAVAILABLE),
            (NetworkFailure::Tls, ErrorClass::UNAVAILABLE),
            (NetworkFailure::Timeout, ErrorClass::TRANSIENT),
            (NetworkFailure::ConnectionReset, ErrorClass::TRANSIENT),
            (NetworkFailure::Other, ErrorClass::TRANSIENT),
        ];
        assert_eq!(table.len(), NetworkFailure::ALL.len());
        for (kind, class) in table {
            assert_eq!(
                Cause::Network(kind).default_class(),
                Some(class),
                "{kind:?}"
            );
        }
    }
}
