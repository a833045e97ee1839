//! The HTTP handler: a job describes one request, the handler sends it and sorts the
//! outcome into an error class. Behind the feature `http` (reqwest on rustls).
//!
//! # Why an allow-list, checked twice
//!
//! A job's payload comes from whoever can enqueue, so an HTTP handler without limits is a
//! server-side request forgery tool: it would fetch `http://169.254.169.254/` or an admin
//! port on loopback for anyone who asks. Every URL must therefore fall under one of the
//! configured [`AllowedBase`]s, compared on the parsed, normalised URL (scheme, host,
//! effective port, whole path segments) and never on the raw string, so `..`, case and
//! default-port tricks change nothing. The check runs at enqueue ([`Handler::validate`],
//! so a bad job is refused at the door) and again before every attempt (the allow-list
//! may have shrunk since), and redirects are followed only to allowed URLs.
//!
//! Credentials are not part of a job: an [`HttpTarget`] pairs a base with headers the
//! handler adds at send time (see `target.rs` for why).
//!
//! # Why the status decides
//!
//! The original tool picked a class from exception types and buried 429s and 503s. Here
//! a response's status, or the kind of network failure, is handed to the policy
//! ([`tenax_policies::CompiledPolicy::classify_or_default`]): a script's `classify`
//! function first, then the built-in table. The handler itself never decides a class
//! for a request it sent.
//!
//! ```
//! use std::time::Duration;
//! use tenax_worker::http::{HttpConfig, HttpHandler, HttpRequest};
//! use tenax_worker::Handler;
//! use tenax_policies::{CompiledPolicy, LivePolicy};
//!
//! let config = HttpConfig {
//!     allowed_bases: vec!["https://hooks.example.com/v1".into()],
//!     ..HttpConfig::default()
//! };
//! let handler = HttpHandler::new(config, LivePolicy::new(CompiledPolicy::default()))?;
//!
//! let request = HttpRequest::post_json(
//!     "https://hooks.example.com/v1/orders",
//!     serde_json::json!({ "order": 42 }),
//! )
//! .header("X-Tenant", "acme")
//! .timeout(Duration::from_secs(5));
//! assert!(handler.validate(&request.to_payload()).is_ok());
//!
//! let elsewhere = HttpRequest::get("https://example.com/admin");
//! assert!(handler.validate(&elsewhere.to_payload()).is_err());
//! # Ok::<(), tenax_worker::Error>(())
//! ```
//!
//! [`Handler::validate`]: crate::Handler::validate

mod allowed;
mod config;
mod fields;
mod handler;
mod json_error;
mod network;
mod redact;
mod redirect;
mod request;
mod request_error;
mod retry_after;
mod snippet;
mod target;

pub use allowed::{AllowedBase, AllowedBases};
pub use config::HttpConfig;
pub use handler::HttpHandler;
pub use json_error::{describe_json_error, from_json_slice, from_json_value};
pub use network::network_failure;
pub use redact::{REDACTED, is_secret_name, redact_payload, redact_url};
pub use request::{HttpBody, HttpRequest};
pub use request_error::RequestError;
pub use retry_after::from_headers as retry_after_hint;
pub use target::HttpTarget;
