//! Which URLs a job may call: the allowed base URLs.
//!
//! Both sides are compared after parsing, never as strings. The URL parser already
//! lower-cases host names, resolves `.` and `..` segments (also `%2e%2e`), and fills in
//! the scheme's default port; what remains is an exact match of scheme, host and port
//! and a path prefix that ends at a segment boundary. Host names are not resolved: an
//! IP address and a name for it are different hosts, so a base can never be reached
//! through a DNS name that happens to point at it.

use std::fmt;
use std::str::FromStr;

use reqwest::Url;

use super::{HttpRequest, RequestError};
use crate::{Error, Result};

/// One allowed base URL: `http://host[:port][/path]`.
///
/// A URL is under it when scheme, host and effective port are equal and its path is the
/// base's path or continues it after a `/`: base `http://h/api` allows `/api` and
/// `/api/x` but not `/apiary`. A trailing `/` on the base changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedBase {
    url: Url,
    /// The base path without its trailing `/`; empty for the root.
    prefix: String,
}

impl AllowedBase {
    /// Parses a base URL. Refuses (with [`Error::Config`]) other schemes than http and
    /// https, credentials, a query and a fragment: a base names a place, nothing more.
    pub fn parse(base: &str) -> Result<Self> {
        let refuse = |reason: &str| Error::Config(format!("allowed base URL `{base}`: {reason}"));
        let url = Url::parse(base).map_err(|e| refuse(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refuse("the scheme must be http or https"));
        }
        if url.host().is_none() {
            return Err(refuse("there is no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("credentials are not allowed"));
        }
        if url.query().is_some() {
            return Err(refuse("a query is not allowed"));
        }
        if url.fragment().is_some() {
            return Err(refuse("a fragment is not allowed"));
        }
        let prefix = url.path().trim_end_matches('/').to_owned();
        Ok(AllowedBase { url, prefix })
    }

    /// Whether `url` lies under this base. A URL with credentials never does.
    pub fn allows(&self, url: &Url) -> bool {
        let path = url.path();
        url.scheme() == self.url.scheme()
            && url.host() == self.url.host()
            && url.port_or_known_default() == self.url.port_or_known_default()
            && url.username().is_empty()
            && url.password().is_none()
            && path.starts_with(&self.prefix)
            && (path.len() == self.prefix.len() || path[self.prefix.len()..].starts_with('/'))
            && !has_encoded_dot_segment(url)
    }

    /// The length of the base's path: the longer, the more specific.
    pub(crate) fn prefix_len(&self) -> usize {
        self.prefix.len()
    }

    /// The base, normalised.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }
}

impl FromStr for AllowedBase {
    type Err = Error;

    fn from_str(base: &str) -> Result<Self> {
        Self::parse(base)
    }
}

impl fmt::Display for AllowedBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The allow-list: a URL is allowed when any base allows it. An empty list allows
/// nothing, so an HTTP handler configured with no bases refuses every job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedBases {
    bases: Vec<AllowedBase>,
}

impl AllowedBases {
    /// Parses every base; the first bad one is the error.
    pub fn parse<I>(bases: I) -> Result<Self>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let bases = bases
            .into_iter()
            .map(|b| AllowedBase::parse(b.as_ref()))
            .collect::<Result<_>>()?;
        Ok(AllowedBases { bases })
    }

    /// The list with `base` added (a target's base is an allowed base too).
    pub(crate) fn with(mut self, base: AllowedBase) -> Self {
        if !self.bases.contains(&base) {
            self.bases.push(base);
        }
        self
    }

    /// Whether any base allows `url`.
    pub fn allows(&self, url: &Url) -> bool {
        self.bases.iter().any(|base| base.allows(url))
    }

    /// The parsed URL of `request` if it is allowed; else why not.
    pub fn check(&self, request: &HttpRequest) -> Result<Url, RequestError> {
        let url = request.parsed_url()?;
        if self.allows(&url) {
            Ok(url)
        } else {
            Err(RequestError::NotAllowed {
                url: super::redact::redact_url(request.url()),
                allowed: self.bases.iter().map(|b| b.as_str().to_owned()).collect(),
            })
        }
    }

    /// The bases, in configured order.
    pub fn iter(&self) -> impl Iterator<Item = &AllowedBase> {
        self.bases.iter()
    }

    /// Whether there are none (and so every URL is refused).
    pub fn is_empty(&self) -> bool {
        self.bases.is_empty()
    }
}

/// Whether a path segment hides a `..` behind percent-encoded dots or separators
/// (`..%2Fadmin`, `%2e%2e%5cadmin`). The parser leaves such segments alone, but a
/// server that decodes before routing would climb out of the base.
fn has_encoded_dot_segment(url: &Url) -> bool {
    let Some(segments) = url.path_segments() else {
        return false;
    };
    segments.filter(|s| s.contains('%')).any(|segment| {
        let decoded = segment
            .to_ascii_lowercase()
            .replace("%2e", ".")
            .replace("%2f", "/")
            .replace("%5c", "\\");
        decoded.split(['/', '\\']).any(|part| part == "..")
    })
}
