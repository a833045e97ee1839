//! The `[stash2plex]` section of the configuration file, parsed as strictly as tenax's
//! own keys (an unknown key is an error with its line and the nearest known key), with
//! the credentials as [`tenax::Secret`]s: `{ env = "PLEX_TOKEN" }` or `{ file = "..." }`,
//! read when the file is loaded and never shown.
//!
//! ```toml
//! [stash2plex]
//! strict_matching = true          # only an exact path match is edited
//! skip_missing = false            # false: retry as not_found; true: complete unedited
//! fields = ["title", "date", "studio", "summary", "performers", "tags"]
//! performers_as = "actor"         # actor, genre, collection or label
//! tags_as = "genre"
//! poster = true                   # upload the scene's cover when it changed
//! # request_timeout = "30s"       connect_timeout = "5s"
//! # listing_page_size = 500       items per request when listing Plex's libraries
//! # listing_min_interval = "10s"  retries within this of a listing reuse it
//! # listing_max_age = "5m"        how old a listing reconciliation may use
//! # reconcile_page_size = 200     scenes per reconciliation job
//!
//! [stash2plex.stash]
//! url = "http://127.0.0.1:9999"
//! api_key = { env = "STASH_API_KEY" }   # leave out if Stash has no credentials
//!
//! [stash2plex.plex]
//! url = "http://127.0.0.1:32400"
//! token = { env = "PLEX_TOKEN" }
//! libraries = ["Adult"]           # default: every movie library
//!
//! [[stash2plex.path_mappings]]
//! stash = "/data"
//! plex = "/mnt/media"
//! ```

use std::time::Duration;

use serde::{Deserialize, Deserializer};
use tenax::Secret;

use crate::app::Settings;
use crate::fields::{SyncField, TagField};
use crate::mapping::FieldMap;
use crate::paths::PathMapping;

/// The section, checked. See the module doc for an example.
#[derive(Debug, Deserialize)]
#[serde(try_from = "Raw")]
pub struct SyncConfig {
    raw: Raw,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// Default: true.
    #[serde(default = "yes")]
    strict_matching: bool,
    /// Default: false.
    #[serde(default)]
    skip_missing: bool,
    /// Default: every field.
    #[serde(default = "all_fields")]
    fields: Vec<SyncField>,
    /// Default: `actor`.
    #[serde(default = "actor")]
    performers_as: TagField,
    /// Default: `genre`.
    #[serde(default = "genre")]
    tags_as: TagField,
    /// Default: true.
    #[serde(default = "yes")]
    poster: bool,
    /// Default: 30 s.
    #[serde(default = "thirty_seconds", deserialize_with = "duration")]
    request_timeout: Duration,
    /// Default: 5 s.
    #[serde(default = "five_seconds", deserialize_with = "duration")]
    connect_timeout: Duration,
    /// Default: 500.
    #[serde(default = "five_hundred")]
    listing_page_size: u64,
    /// Default: 5 min.
    #[serde(default = "five_minutes", deserialize_with = "duration")]
    listing_max_age: Duration,
    /// Default: 10 s.
    #[serde(default = "ten_seconds", deserialize_with = "duration")]
    listing_min_interval: Duration,
    /// Default: 200.
    #[serde(default = "two_hundred")]
    reconcile_page_size: u32,
    /// Default: Stash on `http://127.0.0.1:9999` without credentials.
    #[serde(default)]
    stash: StashSection,
    plex: PlexSection,
    /// Default: none.
    #[serde(default)]
    path_mappings: Vec<PathMapping>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StashSection {
    /// Default: `http://127.0.0.1:9999`.
    #[serde(default = "stash_url")]
    url: String,
    /// Default: none (Stash without credentials).
    #[serde(default)]
    api_key: Option<Secret>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlexSection {
    /// Default: `http://127.0.0.1:32400`.
    #[serde(default = "plex_url")]
    url: String,
    /// Required.
    token: Secret,
    /// Default: every movie library.
    #[serde(default)]
    libraries: Vec<String>,
}

impl Default for StashSection {
    fn default() -> Self {
        StashSection {
            url: stash_url(),
            api_key: None,
        }
    }
}

impl TryFrom<Raw> for SyncConfig {
    type Error = String;

    fn try_from(raw: Raw) -> Result<Self, String> {
        for (i, mapping) in raw.path_mappings.iter().enumerate() {
            mapping
                .check()
                .map_err(|e| format!("path_mappings[{i}]: {e}"))?;
        }
        let lists = |f| raw.fields.contains(&f);
        if lists(SyncField::Performers)
            && lists(SyncField::Tags)
            && raw.performers_as == raw.tags_as
        {
            return Err(format!(
                "performers_as and tags_as are both `{}`: each list needs its own Plex field",
                raw.performers_as.name()
            ));
        }
        for (key, d) in [
            ("request_timeout", raw.request_timeout),
            ("connect_timeout", raw.connect_timeout),
        ] {
            if d.is_zero() || d > Duration::from_secs(3600) {
                return Err(format!("{key} must be above 0 and at most 1h"));
            }
        }
        if !(1..=10_000).contains(&raw.listing_page_size) {
            return Err("listing_page_size must be 1 to 10000".to_owned());
        }
        if !(1..=5_000).contains(&raw.reconcile_page_size) {
            return Err("reconcile_page_size must be 1 to 5000".to_owned());
        }
        for (key, url) in [("stash.url", &raw.stash.url), ("plex.url", &raw.plex.url)] {
            crate::http::base_url(url).map_err(|e| format!("{key}: {e}"))?;
        }
        Ok(SyncConfig { raw })
    }
}

impl SyncConfig {
    /// The application's settings, the secrets' values read.
    pub fn settings(&self) -> Settings {
        let raw = &self.raw;
        Settings {
            stash_url: raw.stash.url.clone(),
            stash_api_key: raw.stash.api_key.as_ref().map(|k| k.expose().to_owned()),
            plex_url: raw.plex.url.clone(),
            plex_token: raw.plex.token.expose().to_owned(),
            libraries: raw.plex.libraries.clone(),
            path_mappings: raw.path_mappings.clone(),
            strict_matching: raw.strict_matching,
            skip_missing: raw.skip_missing,
            fields: FieldMap {
                fields: raw.fields.clone(),
                performers_as: raw.performers_as,
                tags_as: raw.tags_as,
            },
            poster: raw.poster,
            request_timeout: raw.request_timeout,
            connect_timeout: raw.connect_timeout,
            listing_page_size: raw.listing_page_size,
            listing_max_age: raw.listing_max_age,
            listing_min_interval: raw.listing_min_interval,
            reconcile_page_size: raw.reconcile_page_size,
        }
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!("{text:?} is not a duration such as \"30s\": {e}"))
    })
}

fn yes() -> bool {
    true
}
fn all_fields() -> Vec<SyncField> {
    SyncField::ALL.to_vec()
}
fn actor() -> TagField {
    TagField::Actor
}
fn genre() -> TagField {
    TagField::Genre
}
fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}
fn five_seconds() -> Duration {
    Duration::from_secs(5)
}
fn ten_seconds() -> Duration {
    Duration::from_secs(10)
}
fn five_minutes() -> Duration {
    Duration::from_secs(300)
}
fn five_hundred() -> u64 {
    500
}
fn two_hundred() -> u32 {
    200
}
fn stash_url() -> String {
    "http://127.0.0.1:9999".to_owned()
}
fn plex_url() -> String {
    "http://127.0.0.1:32400".to_owned()
}
