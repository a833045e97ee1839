//! Why an HTTP job's payload cannot be a request. Each message names the field, so a
//! producer can fix the payload from the error alone.

/// A payload that does not describe a request the handler can send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Not JSON, or not the shape of a request (unknown or missing field, wrong type).
    /// The message names the field and what it must be, with line and column; it never
    /// quotes the value, which may be a credential.
    #[error("invalid HTTP request payload: {0}")]
    Json(String),

    /// The method is not one the handler sends.
    #[error("invalid method `{method}`: {reason}")]
    Method {
        /// The method as given.
        method: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// The URL does not parse, or carries credentials.
    #[error("invalid url `{url}`: {reason}")]
    Url {
        /// The URL as given, with its secrets redacted.
        url: String,
        /// Why it is refused.
        reason: String,
    },

    /// The URL parses but lies outside every allowed base URL.
    #[error("url `{url}` is outside the allowed base URLs{}", list_bases(.allowed))]
    NotAllowed {
        /// The URL as given, with its secrets redacted.
        url: String,
        /// The configured bases, to show the producer what would be accepted.
        allowed: Vec<String>,
    },

    /// A header name or value is malformed, or the header is one the client must set.
    #[error("invalid header `{name}`: {reason}")]
    Header {
        /// The header name as given.
        name: String,
        /// Why it is refused.
        reason: String,
    },

    /// The job sets a header that the configuration sets for the URL's target: leave it
    /// out of the job, the handler adds it. Names the header, never a value.
    #[error("header `{name}` is set by the configuration for {base}; leave it out of the job")]
    TargetHeader {
        /// The header name as the job gave it.
        name: String,
        /// The target's base URL.
        base: String,
    },

    /// Both `json` and `text` are given; a request has one body.
    #[error("invalid body: give `json` or `text`, not both")]
    TwoBodies,

    /// The timeout is malformed, zero, or above the configured maximum.
    #[error("invalid timeout: {0}")]
    Timeout(String),
}

fn list_bases(allowed: &[String]) -> String {
    if allowed.is_empty() {
        " (none are configured, so every URL is refused)".to_owned()
    } else {
        format!(" ({})", allowed.join(", "))
    }
}
