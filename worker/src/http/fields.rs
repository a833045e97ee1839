//! The checks of a request's fields that need no configuration: method, headers and
//! timeout. Kept apart from the payload's shape so each rule sits next to its reason.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::RequestError;

/// Methods a job may use. CONNECT opens a tunnel and TRACE echoes the request back
/// (credentials included); neither calls an API.
const METHODS: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

/// Headers the client owns: framing, routing and hop-by-hop headers. Letting a payload
/// set them would allow request smuggling or misrouting.
pub(super) const FORBIDDEN_HEADERS: [&str; 12] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

/// The headers as a map the client can send, each name and value checked.
pub(super) fn header_map(headers: &BTreeMap<String, String>) -> Result<HeaderMap, RequestError> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let refuse = |reason: String| RequestError::Header {
            name: name.clone(),
            reason,
        };
        let parsed = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| refuse("not a valid header name".into()))?;
        if FORBIDDEN_HEADERS.contains(&parsed.as_str()) {
            return Err(refuse(
                "set by the HTTP client; a job may not set it".into(),
            ));
        }
        let value = HeaderValue::from_str(value).map_err(|_| {
            refuse("the value may hold only visible ASCII characters, spaces and tabs".into())
        })?;
        if map.insert(parsed, value).is_some() {
            return Err(refuse("given twice (header names ignore case)".into()));
        }
    }
    Ok(map)
}

/// A method from the payload, case-insensitive; only [`METHODS`] pass.
pub(super) fn parse_method(method: &str) -> Result<Method, RequestError> {
    let upper = method.to_ascii_uppercase();
    if let Some(known) = METHODS.iter().find(|m| m.as_str() == upper) {
        return Ok(known.clone());
    }
    let reason = match upper.as_str() {
        "CONNECT" | "TRACE" => "CONNECT and TRACE are not allowed",
        _ => "expected GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS",
    };
    Err(RequestError::Method {
        method: method.to_owned(),
        reason,
    })
}

/// A timeout from the payload: a humantime string or integer milliseconds. Zero is
/// refused later, by [`HttpRequest::check`](super::HttpRequest::check), which also sees
/// timeouts set in Rust.
pub(super) fn parse_timeout(value: &Value) -> Result<Duration, RequestError> {
    let parsed = match value {
        Value::Number(n) => n.as_u64().map(Duration::from_millis),
        Value::String(s) => humantime::parse_duration(s).ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        RequestError::Timeout(format!(
            "`{value}` is not a duration; give a string such as \"30s\" or an integer \
             number of milliseconds"
        ))
    })
}
