//! Which [`NetworkFailure`] a request error was, read from its chain of causes.
//!
//! reqwest says little on its own (`is_timeout`, `is_connect`, `is_dns`), and
//! `is_connect` covers both "nothing listens" (`unavailable`: the downstream is down)
//! and, on some systems, failures that are really ours. The chain below it holds the
//! operating system's answer, which is what the class should follow.

use std::error::Error as StdError;
use std::io;

use tenax_policies::NetworkFailure;

/// The kind of failure behind a reqwest error, as the policy's classification table
/// takes it; for handlers that send their own requests and classify them the way the
/// HTTP handler does.
pub fn network_failure(err: &reqwest::Error) -> NetworkFailure {
    // NOTE: timeouts first: a connect timeout is also `is_connect`, and its class
    // (transient) differs from a refused connection's (unavailable).
    if err.is_timeout() {
        return NetworkFailure::Timeout;
    }
    if err.is_dns() {
        return NetworkFailure::Dns;
    }
    from_chain(err)
}

/// Walks `err` and its sources; the first cause that says something decides.
fn from_chain(err: &(dyn StdError + 'static)) -> NetworkFailure {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(kind) = from_one(err) {
            return kind;
        }
        next = err.source();
    }
    NetworkFailure::Other
}

fn from_one(err: &(dyn StdError + 'static)) -> Option<NetworkFailure> {
    if err.is::<rustls::Error>() {
        return Some(NetworkFailure::Tls);
    }
    if let Some(hyper) = err.downcast_ref::<hyper::Error>() {
        if hyper.is_incomplete_message() || hyper.is_canceled() {
            return Some(NetworkFailure::ConnectionReset);
        }
        if hyper.is_timeout() {
            return Some(NetworkFailure::Timeout);
        }
    }
    let io = err.downcast_ref::<io::Error>()?;
    let kind = match io.kind() {
        io::ErrorKind::ConnectionRefused => NetworkFailure::ConnectRefused,
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            NetworkFailure::Unreachable
        }
        io::ErrorKind::TimedOut => NetworkFailure::Timeout,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => NetworkFailure::ConnectionReset,
        // NOTE: `io::Error::source` skips the error it wraps, and rustls reports through
        // an `io::Error` that wraps a `rustls::Error`: look inside.
        _ => return io.get_ref().map(|inner| from_chain(inner)),
    };
    Some(kind)
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::*;

    /// A wrapper like reqwest's and hyper's, to build chains of causes.
    #[derive(Debug)]
    struct Wrap(Box<dyn StdError + Send + Sync + 'static>);

    impl fmt::Display for Wrap {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("wrapped")
        }
    }

    impl StdError for Wrap {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&*self.0)
        }
    }

    fn wrapped(kind: io::ErrorKind) -> Wrap {
        Wrap(Box::new(Wrap(Box::new(io::Error::from(kind)))))
    }

    #[test]
    fn io_kinds_map_to_failures() {
        let table = [
            (
                io::ErrorKind::ConnectionRefused,
                NetworkFailure::ConnectRefused,
            ),
            (io::ErrorKind::HostUnreachable, NetworkFailure::Unreachable),
            (
                io::ErrorKind::NetworkUnreachable,
                NetworkFailure::Unreachable,
            ),
            (io::ErrorKind::TimedOut, NetworkFailure::Timeout),
            (
                io::ErrorKind::ConnectionReset,
                NetworkFailure::ConnectionReset,
            ),
            (
                io::ErrorKind::ConnectionAborted,
                NetworkFailure::ConnectionReset,
            ),
            (io::ErrorKind::BrokenPipe, NetworkFailure::ConnectionReset),
            (
                io::ErrorKind::UnexpectedEof,
                NetworkFailure::ConnectionReset,
            ),
            (io::ErrorKind::PermissionDenied, NetworkFailure::Other),
            (io::ErrorKind::Other, NetworkFailure::Other),
        ];
        for (kind, expected) in table {
            assert_eq!(from_chain(&wrapped(kind)), expected, "{kind:?}");
        }
    }

    #[test]
    fn rustls_errors_are_tls_even_inside_io_errors() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let inside_io = io::Error::new(io::ErrorKind::InvalidData, tls.clone());
        assert_eq!(from_chain(&Wrap(Box::new(inside_io))), NetworkFailure::Tls);
        assert_eq!(from_chain(&Wrap(Box::new(tls))), NetworkFailure::Tls);
    }

    #[test]
    fn the_first_telling_cause_wins() {
        let outer = io::Error::other(wrapped(io::ErrorKind::BrokenPipe));
        assert_eq!(from_chain(&outer), NetworkFailure::ConnectionReset);
        let refused = Wrap(Box::new(io::Error::from(io::ErrorKind::ConnectionRefused)));
        assert_eq!(
            from_chain(&Wrap(Box::new(refused))),
            NetworkFailure::ConnectRefused
        );
    }

    #[test]
    fn an_error_without_causes_is_other() {
        let plain = io::Error::other("something else");
        assert_eq!(from_chain(&plain), NetworkFailure::Other);
    }
}
