//! Whether a request comes from this server's own pages, by its `Origin` header.
//!
//! Browsers send `Origin` with every cross-site request and with every same-site one
//! that is not a `GET` or `HEAD`; another site's script cannot forge it. Programs
//! (curl, the CLI) send none, and are not what this protects against. The origin is
//! compared with the `Host` the browser addressed, so it holds on loopback, on a LAN
//! address and behind a proxy that keeps the `Host` header.

use axum::http::{HeaderMap, header};

/// Whether `headers` carry no `Origin`, or one whose host and port are the `Host` of the
/// request. `Origin: null` (a sandboxed frame, a `file:` page) is never this server.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    origin
        .to_str()
        .ok()
        .and_then(authority)
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host.trim()))
}

/// The `host[:port]` of an origin such as `http://127.0.0.1:7450`.
fn authority(origin: &str) -> Option<&str> {
    let (scheme, rest) = origin.split_once("://")?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains('/') {
        return None;
    }
    Some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&'static str>, host: Option<&'static str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_static(o));
        }
        if let Some(v) = host {
            h.insert(header::HOST, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_the_servers_own_origin_passes() {
        assert!(same_origin(&headers(None, Some("127.0.0.1:7450"))));
        assert!(same_origin(&headers(None, None)));
        let own = Some("http://127.0.0.1:7450");
        assert!(same_origin(&headers(own, Some("127.0.0.1:7450"))));
        assert!(same_origin(&headers(
            Some("https://Tenax.example"),
            Some("tenax.example")
        )));
        assert!(!same_origin(&headers(own, Some("127.0.0.1:7451"))));
        assert!(!same_origin(&headers(
            Some("http://evil.example"),
            Some("127.0.0.1:7450")
        )));
        assert!(!same_origin(&headers(Some("null"), Some("127.0.0.1:7450"))));
        assert!(!same_origin(&headers(own, None)));
        assert!(!same_origin(&headers(
            Some("http://127.0.0.1:7450/x"),
            Some("127.0.0.1:7450")
        )));
    }
}
