//! The job payload of the HTTP handler: one request, as JSON.
//!
//! ```json
//! { "method": "POST", "url": "https://hooks.example.com/v1/orders",
//!   "headers": { "X-Tenant": "acme" }, "json": { "order": 42 }, "timeout": "5s" }
//! ```
//!
//! Unknown fields are errors, not ignored: a misspelt `timout` silently falling back to
//! the default is exactly the kind of mistake that surfaces at 3 a.m.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use reqwest::Url;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::{RequestError, fields, redact};

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpBody {
    /// Sent as JSON, with `Content-Type: application/json` unless a header says otherwise.
    Json(Value),
    /// Sent as is, with no `Content-Type` unless a header sets one.
    Text(String),
}

/// One HTTP request, as a job describes it.
///
/// Build one in Rust with [`HttpRequest::get`] or [`HttpRequest::post_json`] and the
/// chained setters, then enqueue [`HttpRequest::to_payload`]. The setters do not check
/// their arguments (so they can chain); [`HttpRequest::check`] and the handler's
/// `validate`, which runs at enqueue, do.
///
/// Its `Debug` output shows secret headers and query parameters as `***`, so logging a
/// request never logs its credentials.
#[derive(Clone, PartialEq)]
pub struct HttpRequest {
    method: Method,
    url: String,
    headers: BTreeMap<String, String>,
    body: Option<HttpBody>,
    timeout: Option<Duration>,
}

impl HttpRequest {
    /// A request with `method` to `url`, no headers, no body and the default timeout.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        HttpRequest {
            method,
            url: url.into(),
            headers: BTreeMap::new(),
            body: None,
            timeout: None,
        }
    }

    /// A `GET` of `url`.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::GET, url)
    }

    /// A `POST` of `value` as JSON to `url`.
    pub fn post_json(url: impl Into<String>, value: Value) -> Self {
        Self::new(Method::POST, url).json(value)
    }

    /// With a header (replacing one of the same name as given).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// With a JSON body (replacing any body).
    #[must_use]
    pub fn json(mut self, value: Value) -> Self {
        self.body = Some(HttpBody::Json(value));
        self
    }

    /// With a text body (replacing any body).
    #[must_use]
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.body = Some(HttpBody::Text(text.into()));
        self
    }

    /// With a timeout for the whole request, response body included. It must not exceed
    /// the handler's `max_timeout`.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL, as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The headers, as given.
    pub fn headers(&self) -> &BTreeMap<String, String> {
        &self.headers
    }

    /// The body, if any.
    pub fn body(&self) -> Option<&HttpBody> {
        self.body.as_ref()
    }

    /// The request's own timeout; `None` means the handler's default.
    pub fn request_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Parses a job payload.
    ///
    /// `method` is optional: it defaults to `POST` when there is a body and `GET`
    /// otherwise, and is case-insensitive. `timeout` is a string such as `"30s"` or
    /// `"1m 30s"`, or an integer number of milliseconds. Does not check the URL against
    /// any allow-list: that is the handler's job, as only it knows the list.
    pub fn from_payload(payload: &[u8]) -> Result<Self, RequestError> {
        let raw: RawRequest =
            super::json_error::from_json_slice(payload).map_err(RequestError::Json)?;
        let body = match (raw.json, raw.text) {
            (Some(_), Some(_)) => return Err(RequestError::TwoBodies),
            (Some(json), None) => Some(HttpBody::Json(json)),
            (None, Some(text)) => Some(HttpBody::Text(text)),
            (None, None) => None,
        };
        let method = match raw.method {
            Some(method) => fields::parse_method(&method)?,
            None if body.is_some() => Method::POST,
            None => Method::GET,
        };
        let request = HttpRequest {
            method,
            url: raw.url,
            headers: raw.headers,
            body,
            timeout: raw
                .timeout
                .as_ref()
                .map(fields::parse_timeout)
                .transpose()?,
        };
        request.check()?;
        Ok(request)
    }

    /// The payload to enqueue: JSON that [`HttpRequest::from_payload`] reads back as an
    /// equal request. The timeout is written as a humantime string, which is exact.
    pub fn to_payload(&self) -> Vec<u8> {
        let mut out = Map::new();
        out.insert("method".into(), Value::from(self.method.as_str()));
        out.insert("url".into(), Value::from(self.url.as_str()));
        if !self.headers.is_empty() {
            let headers = self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())));
            out.insert("headers".into(), Value::Object(headers.collect()));
        }
        match &self.body {
            Some(HttpBody::Json(json)) => _ = out.insert("json".into(), json.clone()),
            Some(HttpBody::Text(text)) => _ = out.insert("text".into(), Value::from(text.as_str())),
            None => {}
        }
        if let Some(timeout) = self.timeout {
            let text = humantime::format_duration(timeout).to_string();
            out.insert("timeout".into(), Value::from(text));
        }
        Value::Object(out).to_string().into_bytes()
    }

    /// Checks what can be checked without the handler's configuration: the method, the
    /// URL's syntax (http or https, a host, no credentials), the headers and a non-zero
    /// timeout.
    pub fn check(&self) -> Result<(), RequestError> {
        fields::parse_method(self.method.as_str())?;
        self.parsed_url()?;
        self.header_map()?;
        if self.timeout == Some(Duration::ZERO) {
            return Err(RequestError::Timeout("must be more than zero".into()));
        }
        Ok(())
    }

    /// The URL, parsed and normalised.
    pub(crate) fn parsed_url(&self) -> Result<Url, RequestError> {
        let refuse = |reason: String| RequestError::Url {
            url: super::redact::redact_url(&self.url),
            reason,
        };
        let url = Url::parse(&self.url).map_err(|e| refuse(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refuse(format!(
                "scheme `{}` is not http or https",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse(
                "credentials in the URL are not allowed; use a header".into(),
            ));
        }
        Ok(url)
    }

    /// The headers, validated.
    pub(crate) fn header_map(&self) -> Result<HeaderMap, RequestError> {
        fields::header_map(&self.headers)
    }
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: BTreeMap<&str, &str> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let shown = if redact::is_secret_name(name) {
                    redact::REDACTED
                } else {
                    value.as_str()
                };
                (name.as_str(), shown)
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &redact::redact_url(&self.url))
            .field("headers", &headers)
            .field("body", &self.body)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The payload's shape; [`HttpRequest::from_payload`] checks the values.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    #[serde(default)]
    method: Option<String>,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "present")]
    json: Option<Value>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    timeout: Option<Value>,
}

/// `"json": null` is a body (the JSON `null`), not an absent one.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}
