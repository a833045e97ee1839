//! What the Stash and Plex clients share: one connection pool, and reading answers.

use std::time::Duration;

use reqwest::{Client, Response, Url};
use serde::de::DeserializeOwned;

use crate::classify::{CallError, Server};

/// How much of a failed answer's body is read for its error message.
const ERROR_BODY_BYTES: usize = 4096;

/// A client with `connect_timeout` (each request sets its own overall timeout).
///
/// # Errors
/// The TLS backend could not be set up.
pub(crate) fn client(connect_timeout: Duration) -> Result<Client, String> {
    // Another part of the process (the daemon's HTTP handler) may have installed a
    // provider first; either way one is installed afterwards, which is all reqwest needs.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .user_agent(concat!("stash2plex/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// `base` parsed, with a trailing `/` so that relative paths join below it.
///
/// # Errors
/// Not an `http` or `https` URL.
pub(crate) fn base_url(base: &str) -> Result<Url, String> {
    let mut url = Url::parse(base).map_err(|e| format!("`{base}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{base}` must be an http:// or https:// URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{base}` must not have a query or fragment"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// `response` if it is a success, else a [`CallError`] with its status and body start.
pub(crate) async fn success(
    server: Server,
    what: &str,
    response: Response,
) -> Result<Response, CallError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let hint = tenax_worker::http::retry_after_hint(response.headers());
    let body = read_prefix(response, ERROR_BODY_BYTES).await;
    Err(CallError::status(server, what, status, &body, hint))
}

/// The body of a successful `response` as `T`.
pub(crate) async fn json<T: DeserializeOwned>(
    server: Server,
    what: &str,
    response: Response,
) -> Result<T, CallError> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| CallError::network(server, what, &e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        let start = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned();
        CallError::unreadable(server, what, format!("{e} (the answer began {start:?})"))
    })
}

/// At most `limit` bytes of the body, as text.
async fn read_prefix(mut response: Response, limit: usize) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(limit);
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_gets_its_trailing_slash_and_only_http_is_taken() {
        let base = base_url("http://plex.local:32400").expect("valid");
        assert_eq!(
            base.join("identity").expect("join").as_str(),
            "http://plex.local:32400/identity"
        );
        let proxied = base_url("https://home.example/plex").expect("valid");
        assert_eq!(
            proxied.join("library/sections").expect("join").as_str(),
            "https://home.example/plex/library/sections"
        );
        assert!(base_url("ftp://x").is_err());
        assert!(base_url("plex.local:32400").is_err());
        assert!(base_url("http://x/?X-Plex-Token=1").is_err());
    }
}
