//! The HTTP handler's settings, each with a documented default.

use std::time::Duration;

use crate::{Error, InvalidSetting, Result};

/// Settings of an [`HttpHandler`](super::HttpHandler). Every field has a default; only
/// `allowed_bases` must be set for the handler to send anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// The base URLs jobs may call (see [`AllowedBase`](super::AllowedBase)).
    /// Default: none, which refuses every job: calling out is opt-in.
    pub allowed_bases: Vec<String>,
    /// The timeout of a request that sets none, for the whole exchange (connecting,
    /// sending, reading the response). Default: 30 s.
    pub default_timeout: Duration,
    /// The largest timeout a job may ask for. Enqueueing a job with a larger one is
    /// refused; a stored job whose timeout exceeds a since-lowered maximum runs with the
    /// maximum. Default: 5 min.
    pub max_timeout: Duration,
    /// How long connecting (TCP and TLS) may take, within the request's timeout.
    /// Default: 10 s.
    pub connect_timeout: Duration,
    /// How many bytes of a failed response's body go into the error message, after
    /// whitespace is collapsed. Default: 256.
    pub snippet_bytes: usize,
    /// The most bytes of any response body the handler reads: to find the snippet of a
    /// failure, or to drain a success so the connection can be reused. The rest is
    /// dropped unread (closing the connection). Default: 16 KiB.
    pub max_response_bytes: usize,
    /// The `User-Agent` header. Default: `tenax/<crate version>`.
    pub user_agent: String,
    /// Downstreams whose headers (credentials) the handler adds to every request under
    /// their base; each base is an allowed base too. Default: none.
    pub targets: Vec<super::HttpTarget>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            allowed_bases: Vec::new(),
            default_timeout: Duration::from_secs(30),
            max_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            snippet_bytes: 256,
            max_response_bytes: 16 * 1024,
            user_agent: concat!("tenax/", env!("CARGO_PKG_VERSION")).to_owned(),
            targets: Vec::new(),
        }
    }
}

impl HttpConfig {
    /// Checks the settings against each other; the error names the setting.
    ///
    /// # Errors
    /// [`Error::Config`] with the first setting out of range, as [`check`](Self::check)
    /// finds it.
    pub fn validate(&self) -> Result<()> {
        self.check()
            .map_err(|e| Error::Config(format!("http: {e}")))
    }

    /// What [`validate`](Self::validate) checks, with the setting named by its field, for
    /// callers (a configuration file) that map it to where the value was written.
    ///
    /// # Errors
    /// The first setting out of range.
    pub fn check(&self) -> std::result::Result<(), InvalidSetting> {
        let fail = |setting, message: String| Err(InvalidSetting::new(setting, message));
        if self.default_timeout.is_zero() {
            return fail("default_timeout", "must be more than zero".into());
        }
        if self.connect_timeout.is_zero() {
            return fail("connect_timeout", "must be more than zero".into());
        }
        if self.default_timeout > self.max_timeout {
            return fail(
                "max_timeout",
                format!(
                    "({:?}) is below default_timeout ({:?})",
                    self.max_timeout, self.default_timeout
                ),
            );
        }
        if self.snippet_bytes > self.max_response_bytes {
            return fail(
                "snippet_bytes",
                format!(
                    "({}) exceeds max_response_bytes ({})",
                    self.snippet_bytes, self.max_response_bytes
                ),
            );
        }
        if reqwest::header::HeaderValue::from_str(&self.user_agent).is_err() {
            return fail(
                "user_agent",
                "may hold only visible ASCII characters and spaces".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_contradictions_are_named() {
        assert!(HttpConfig::default().validate().is_ok());
        let cases = [
            (
                HttpConfig {
                    default_timeout: Duration::ZERO,
                    ..Default::default()
                },
                "default_timeout",
            ),
            (
                HttpConfig {
                    connect_timeout: Duration::ZERO,
                    ..Default::default()
                },
                "connect_timeout",
            ),
            (
                HttpConfig {
                    max_timeout: Duration::from_secs(1),
                    ..Default::default()
                },
                "below default_timeout",
            ),
            (
                HttpConfig {
                    snippet_bytes: 1 << 20,
                    ..Default::default()
                },
                "snippet_bytes",
            ),
            (
                HttpConfig {
                    user_agent: "tenax\n".into(),
                    ..Default::default()
                },
                "user_agent",
            ),
        ];
        for (config, setting) in cases {
            let err = config.validate().expect_err(setting);
            assert!(err.to_string().contains(setting), "{err}");
        }
    }
}
