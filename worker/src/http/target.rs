//! Targets: downstreams whose credentials the configuration holds, not the jobs.
//!
//! # Why credentials stay out of jobs
//!
//! A job is stored, retried, shown by the API, listed in the dead letters and logged
//! with its failures; a token inside its payload travels everywhere the job does (the
//! original tool showed its media server's token wherever jobs were shown). A target
//! pairs a base URL with headers whose values come from the operator's configuration;
//! the handler adds them at send time to a request under that base, so a job names
//! only where it goes. A job may not set a target's header itself (refused at enqueue),
//! and a redirect that leaves the target is not followed, so the header never reaches
//! another place. Secret values that a downstream echoes into an error body are
//! replaced by `***` before the error is stored.
//!
//! Which target applies: among the targets whose base allows the URL (scheme, host,
//! port and a path prefix ending at a segment boundary, as the allow-list compares),
//! the one with the longest path. `https://plex.local.evil/` is another host, and
//! `https://plex.local/apiary` is not under `https://plex.local/api`.

use std::fmt;

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::{AllowedBase, REDACTED};
use crate::{Error, Result};

/// One downstream and the headers every request under its base carries.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpTarget {
    base: AllowedBase,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl HttpTarget {
    /// A target at `base` (an allowed base URL too), without headers yet.
    ///
    /// # Errors
    /// [`Error::Config`] for a base the allow-list would refuse.
    pub fn new(base: &str) -> Result<Self> {
        Ok(HttpTarget {
            base: AllowedBase::parse(base)?,
            headers: Vec::new(),
        })
    }

    /// Adds the header `name: value`. The value is marked sensitive, so the HTTP stack
    /// never prints it either.
    ///
    /// # Errors
    /// [`Error::Config`] naming the header (never the value) when the name is not a
    /// header name, the value holds characters a header cannot, or the name is given
    /// twice.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self> {
        let refuse = |reason: &str| Error::Config(format!("header `{name}`: {reason}"));
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| refuse("not a valid header name"))?;
        if super::fields::FORBIDDEN_HEADERS.contains(&name.as_str()) {
            return Err(refuse("set by the HTTP client; a target may not set it"));
        }
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            refuse("the value may hold only visible ASCII characters, spaces and tabs")
        })?;
        value.set_sensitive(true);
        if self.headers.iter().any(|(n, _)| *n == name) {
            return Err(refuse("given twice (header names ignore case)"));
        }
        self.headers.push((name, value));
        Ok(self)
    }

    /// The base URL.
    pub fn base(&self) -> &AllowedBase {
        &self.base
    }

    /// The names of its headers, lower-case.
    pub fn header_names(&self) -> impl Iterator<Item = &str> {
        self.headers.iter().map(|(n, _)| n.as_str())
    }

    /// Puts the target's headers into `headers`, replacing any of the same name.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
    }

    /// `text` with every header value of this target replaced by `***`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (_, value) in &self.headers {
            if let Ok(secret) = value.to_str()
                && !secret.is_empty()
                && out.contains(secret)
            {
                out = out.replace(secret, REDACTED);
            }
        }
        out
    }
}

/// Shows the base and the header names; never a value.
impl fmt::Debug for HttpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(n, _)| format!("{n}: {REDACTED}"))
            .collect();
        f.debug_struct("HttpTarget")
            .field("base", &self.base.as_str())
            .field("headers", &headers)
            .finish()
    }
}

/// The configured targets, looked up by URL.
#[derive(Debug, Clone, Default)]
pub(crate) struct Targets(Vec<HttpTarget>);

impl Targets {
    pub(crate) fn new(targets: Vec<HttpTarget>) -> Self {
        Targets(targets)
    }

    /// The target of `url`: the one with the longest base that allows it.
    pub(crate) fn of(&self, url: &Url) -> Option<&HttpTarget> {
        self.0
            .iter()
            .filter(|t| t.base.allows(url))
            .max_by_key(|t| t.base.prefix_len())
    }

    /// The bases, for the allow-list.
    pub(crate) fn bases(&self) -> impl Iterator<Item = &AllowedBase> {
        self.0.iter().map(|t| &t.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("a URL")
    }

    fn targets() -> Targets {
        Targets::new(vec![
            HttpTarget::new("https://plex.local:32400/")
                .and_then(|t| t.header("X-Plex-Token", "root-secret"))
                .expect("valid"),
            HttpTarget::new("https://plex.local:32400/library")
                .and_then(|t| t.header("X-Plex-Token", "library-secret"))
                .expect("valid"),
        ])
    }

    #[test]
    fn the_longest_base_that_allows_the_url_wins() {
        let t = targets();
        let base = |u: &str| t.of(&url(u)).map(|t| t.base().as_str().to_owned());
        assert_eq!(
            base("https://plex.local:32400/library/metadata/1").as_deref(),
            Some("https://plex.local:32400/library")
        );
        assert_eq!(
            base("https://plex.local:32400/identity").as_deref(),
            Some("https://plex.local:32400/")
        );
        assert_eq!(
            base("https://plex.local:32400/libraryx").as_deref(),
            Some("https://plex.local:32400/"),
            "a path prefix ends at a segment boundary"
        );
    }

    #[test]
    fn lookalike_hosts_ports_and_schemes_get_no_target() {
        let t = targets();
        for u in [
            "https://plex.local.evil:32400/library",
            "https://evil.example/?https://plex.local:32400/",
            "http://plex.local:32400/library",
            "https://plex.local:32401/library",
            "https://plex.local/library",
            "https://user@plex.local:32400/library",
        ] {
            assert!(t.of(&url(u)).is_none(), "{u}");
        }
    }

    #[test]
    fn values_are_never_shown_and_are_scrubbed_from_text() {
        let target = HttpTarget::new("https://plex.local/")
            .and_then(|t| t.header("X-Plex-Token", "s3cret-value"))
            .expect("valid");
        let shown = format!("{target:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("x-plex-token"), "{shown}");
        assert_eq!(
            target.scrub("401: bad token s3cret-value here"),
            "401: bad token *** here"
        );
    }

    #[test]
    fn bad_headers_are_refused_by_name_only() {
        let base = || HttpTarget::new("https://plex.local/").expect("valid");
        let e = base().header("X Bad", "v").expect_err("bad name");
        assert!(e.to_string().contains("X Bad"), "{e}");
        let e = base()
            .header("X-Token", "line\nbreak-s3cret")
            .expect_err("bad value");
        assert!(!e.to_string().contains("s3cret"), "{e}");
        let e = base()
            .header("X-Token", "a")
            .and_then(|t| t.header("x-token", "b"))
            .expect_err("twice");
        assert!(e.to_string().contains("twice"), "{e}");
        assert!(HttpTarget::new("ftp://plex.local/").is_err());
    }
}
