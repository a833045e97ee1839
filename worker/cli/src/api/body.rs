//! Reading request bodies and query strings into typed values, with errors that say what
//! is wrong (and where) instead of axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The body as JSON of type `T`: 413 when too large, 400 for malformed JSON, 422 for
/// JSON of the wrong shape (unknown or missing fields, wrong types).
pub(crate) fn json<T: DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let bytes = bytes(body)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("bad_json", format!("the body is not JSON: {e}")))?;
    shaped(value, "")
}

/// The body as a JSON object read into `T`: like [`json`], but an array is refused
/// (serde would read a struct from `[null]`, which no documented body allows).
pub(crate) fn object<T: DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let value: serde_json::Value = json(body)?;
    if !value.is_object() {
        return Err(ApiError::unprocessable(
            "invalid_request",
            "the body must be a JSON object",
        ));
    }
    shaped(value, "")
}

/// The raw body, or the right error when it could not be read.
pub(crate) fn bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                "too_large",
                "the body is larger than the API's body limit",
            )
        } else {
            ApiError::new(status, "bad_body", rejection.body_text())
        }
    })
}

/// A JSON value as `T`; `at` names where it came from (`jobs[3]`) in the message.
pub(crate) fn shaped<T: DeserializeOwned>(
    value: serde_json::Value,
    at: &str,
) -> Result<T, ApiError> {
    // The message never quotes a value: a wrong-typed field may hold a credential.
    tenax_worker::http::from_json_value(value).map_err(|e| {
        let place = if at.is_empty() {
            String::new()
        } else {
            format!("{at}: ")
        };
        ApiError::unprocessable("invalid_request", format!("{place}{e}"))
    })
}

/// Page size of a listing unless `limit` says otherwise.
pub(crate) const DEFAULT_PAGE: usize = 50;
/// Largest page of a listing.
pub(crate) const MAX_PAGE: usize = 1_000;

/// A listing's `limit` query parameter: [`DEFAULT_PAGE`] when absent, 1 to [`MAX_PAGE`].
pub(crate) fn page_limit(text: Option<&str>) -> Result<usize, ApiError> {
    let Some(text) = text else {
        return Ok(DEFAULT_PAGE);
    };
    text.parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_PAGE).contains(n))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                format!("`limit` must be 1 to {MAX_PAGE}, got {text:?}"),
            )
        })
}

/// A listing's `cursor` query parameter (the `next` of the previous page), if given.
pub(crate) fn page_cursor<C>(text: Option<String>) -> Result<Option<C>, ApiError>
where
    C: std::str::FromStr,
    C::Err: std::fmt::Display,
{
    text.map(|c| c.parse::<C>())
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_query", format!("`cursor`: {e}")))
}

/// A query string as `T` (unknown parameters are refused by `T`'s serde attributes).
pub(crate) fn query<T: DeserializeOwned>(raw: Option<&str>) -> Result<T, ApiError> {
    let raw = raw.unwrap_or("");
    let pairs: serde_json::Map<String, serde_json::Value> = form_pairs(raw)?
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    tenax_worker::http::from_json_value(serde_json::Value::Object(pairs))
        .map_err(|e| ApiError::bad_request("invalid_query", format!("query string: {e}")))
}

/// Splits `a=1&b=x%20y` into decoded pairs; a repeated key is an error.
fn form_pairs(raw: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for part in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let (k, v) = (decode(k)?, decode(v)?);
        if pairs.iter().any(|(seen, _)| *seen == k) {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("query parameter `{k}` is given twice"),
            ));
        }
        pairs.push((k, v));
    }
    Ok(pairs)
}

fn decode(s: &str) -> Result<String, ApiError> {
    let bad = || ApiError::bad_request("invalid_query", format!("bad percent-encoding in `{s}`"));
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = [bytes.next().ok_or_else(bad)?, bytes.next().ok_or_else(bad)?];
                let hex = std::str::from_utf8(&hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            }
            b => out.push(b),
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Q {
        kind: Option<String>,
    }

    #[test]
    fn query_strings_decode_and_refuse_unknown_or_repeated_keys() {
        let q: Q = query(Some("kind=a%20b+c")).expect("valid");
        assert_eq!(q.kind.as_deref(), Some("a b c"));
        assert!(query::<Q>(Some("kindd=x")).is_err());
        assert!(query::<Q>(Some("kind=a&kind=b")).is_err());
        assert!(query::<Q>(Some("kind=%zz")).is_err());
        let empty: Q = query(None).expect("no query");
        assert!(empty.kind.is_none());
    }
}
