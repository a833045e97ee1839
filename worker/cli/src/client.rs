//! Talking to a running daemon's API, for the CLI commands.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Why an API call failed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// Nothing answered at the address (the daemon is not running there).
    Unreachable(String),
    /// The API answered with an error.
    Api { status: StatusCode, message: String },
    /// Anything else (timeouts, bad answers).
    Other(anyhow::Error),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Unreachable(addr) => write!(f, "no tenax daemon answers at {addr}"),
            CallError::Api { status, message } => write!(f, "{message} (HTTP {status})"),
            CallError::Other(err) => write!(f, "{err:#}"),
        }
    }
}

impl std::error::Error for CallError {}

/// A client for one daemon.
pub(crate) struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// `addr` is `host:port` or a full `http://` URL.
    pub(crate) fn new(addr: &str, token: Option<String>) -> Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = if addr.starts_with("http://") || addr.starts_with("https://") {
            addr.trim_end_matches('/').to_owned()
        } else {
            format!("http://{addr}")
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .context("build the HTTP client")?;
        Ok(Client { base, token, http })
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Value, CallError> {
        self.call(Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Result<Value, CallError> {
        self.call(Method::POST, path, Some(body)).await
    }

    pub(crate) async fn delete(&self, path: &str) -> Result<Value, CallError> {
        self.call(Method::DELETE, path, None).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, CallError> {
        let response = self.send(method, path, body).await?;
        response
            .json()
            .await
            .map_err(|e| CallError::Other(anyhow::anyhow!("the daemon's answer is not JSON: {e}")))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<reqwest::Response, CallError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_connect() {
                CallError::Unreachable(self.base.clone())
            } else {
                CallError::Other(e.into())
            }
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or(text);
        Err(CallError::Api { status, message })
    }
}
