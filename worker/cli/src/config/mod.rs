//! The configuration file: one TOML file, parsed strictly, every key with a documented
//! default (see [`defaults_toml`], printed by `tenax config defaults`).
//!
//! The original tool documented settings that were never wired to the code. Here the
//! printed defaults are parsed back in a test and must equal [`Config::default`], and an
//! unknown key is an error naming the key, its line and the closest valid key.

mod defaults;
mod error;
mod log_filter;
mod values;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub(crate) use defaults::defaults_toml;
pub use error::ConfigError;
pub(crate) use log_filter::log_filter;
use values::{bytes, duration, optional_duration};

/// Why `token` cannot be the API's token, if it cannot. A blank token would count as set
/// and match a blank credential; surrounding whitespace or a control character (a token
/// read from a file often ends with a newline) can never arrive in a header, so it would
/// lock every client out.
fn token_problem(token: &str) -> Option<String> {
    if token.trim().is_empty() {
        Some("must not be empty (leave it out for no token)".into())
    } else if token.trim() != token || token.chars().any(char::is_control) {
        Some("must not start or end with whitespace or hold control characters".into())
    } else {
        None
    }
}

/// The API's port unless configured: 7450.
pub(crate) const DEFAULT_PORT: u16 = 7450;

/// Everything `tenax run` can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub(crate) data_dir: PathBuf,
    pub(crate) policy_file: Option<PathBuf>,
    pub(crate) api: ApiSection,
    pub(crate) worker: WorkerSection,
    pub(crate) http: HttpSection,
    pub(crate) store: StoreSection,
    pub(crate) log: LogSection,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ApiSection {
    pub(crate) addr: SocketAddr,
    pub(crate) token: Option<String>,
    #[serde(with = "bytes")]
    pub(crate) body_limit: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct WorkerSection {
    pub(crate) queue: String,
    pub(crate) concurrency: usize,
    #[serde(with = "duration")]
    pub(crate) shutdown_grace: Duration,
    #[serde(with = "duration")]
    pub(crate) job_timeout: Duration,
    #[serde(deserialize_with = "timeouts", serialize_with = "timeouts_out")]
    pub(crate) timeouts: BTreeMap<String, Duration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct HttpSection {
    pub(crate) allowed_bases: Vec<String>,
    #[serde(with = "duration")]
    pub(crate) default_timeout: Duration,
    #[serde(with = "duration")]
    pub(crate) max_timeout: Duration,
    #[serde(with = "duration")]
    pub(crate) connect_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DurabilitySetting {
    Sync,
    Buffered,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct StoreSection {
    pub(crate) durability: DurabilitySetting,
    #[serde(with = "duration")]
    pub(crate) flush_interval: Duration,
    #[serde(with = "optional_duration")]
    pub(crate) dead_retention: Option<Duration>,
    pub(crate) crash_limit: u32,
    #[serde(with = "bytes")]
    pub(crate) min_free_space: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct LogSection {
    pub(crate) format: LogFormat,
    pub(crate) level: String,
}

impl LogSection {
    pub(crate) fn json(&self) -> bool {
        self.format == LogFormat::Json
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./tenax-data"),
            policy_file: None,
            api: ApiSection::default(),
            worker: WorkerSection::default(),
            http: HttpSection::default(),
            store: StoreSection::default(),
            log: LogSection::default(),
        }
    }
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            addr: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            token: None,
            body_limit: crate::api::DEFAULT_BODY_LIMIT as u64,
        }
    }
}

/// Never prints the token.
impl std::fmt::Debug for ApiSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiSection")
            .field("addr", &self.addr)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

impl Default for WorkerSection {
    fn default() -> Self {
        WorkerSection {
            queue: tenax_core::DEFAULT_QUEUE.to_owned(),
            concurrency: tenax_worker::DEFAULT_CONCURRENCY,
            shutdown_grace: tenax_worker::DEFAULT_SHUTDOWN_GRACE,
            job_timeout: tenax_worker::DEFAULT_TIMEOUT,
            timeouts: BTreeMap::new(),
        }
    }
}

impl Default for HttpSection {
    fn default() -> Self {
        let http = tenax_worker::http::HttpConfig::default();
        HttpSection {
            allowed_bases: Vec::new(),
            default_timeout: http.default_timeout,
            max_timeout: http.max_timeout,
            connect_timeout: http.connect_timeout,
        }
    }
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            durability: DurabilitySetting::Sync,
            flush_interval: Duration::from_millis(200),
            dead_retention: Some(Duration::from_secs(30 * 24 * 3600)),
            crash_limit: 3,
            min_free_space: 128 << 20,
        }
    }
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            format: LogFormat::Human,
            level: "info".to_owned(),
        }
    }
}

fn timeouts<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(transparent)]
    struct Timeout(#[serde(with = "duration")] Duration);
    let map = BTreeMap::<String, Timeout>::deserialize(d)?;
    Ok(map.into_iter().map(|(k, v)| (k, v.0)).collect())
}

fn timeouts_out<S: serde::Serializer>(
    map: &BTreeMap<String, Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let text: BTreeMap<&String, String> = map
        .iter()
        .map(|(k, v)| (k, humantime::format_duration(*v).to_string()))
        .collect();
    text.serialize(s)
}

impl Config {
    /// The configuration from `path` (or the defaults without one), then the environment
    /// overrides `TENAX_DATA_DIR`, `TENAX_API_ADDR`, `TENAX_API_TOKEN`.
    pub(crate) fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                Config::from_toml_str(&text, &path.display().to_string(), env)
            }
            None => Config::from_toml_str("", "(defaults)", env),
        }
    }

    /// Parses `text` (named `origin` in errors), applies the overrides `env` gives, and
    /// validates.
    pub fn from_toml_str(
        text: &str,
        origin: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut config: Config =
            toml::from_str(text).map_err(|e| ConfigError::parse(origin, text, &e))?;
        if let Some(dir) = env("TENAX_DATA_DIR") {
            config.data_dir = PathBuf::from(dir);
        }
        if let Some(addr) = env("TENAX_API_ADDR") {
            config.api.addr = addr.parse().map_err(|e| ConfigError::Env {
                var: "TENAX_API_ADDR",
                message: format!("{addr:?} is not an address like 127.0.0.1:7450 ({e})"),
            })?;
        }
        if let Some(token) = env("TENAX_API_TOKEN") {
            config.api.token = Some(token);
        }
        config.validate(origin)?;
        Ok(config)
    }

    fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let bad = |key: &str, message: String| ConfigError::Invalid {
            origin: origin.to_owned(),
            key: key.to_owned(),
            message,
        };
        let positive = |key: &str, d: Duration| {
            if d.is_zero() {
                Err(bad(key, "must be above zero".into()))
            } else {
                Ok(())
            }
        };
        let w = &self.worker;
        if !(1..=tenax_worker::MAX_CONCURRENCY).contains(&w.concurrency) {
            return Err(bad(
                "worker.concurrency",
                format!(
                    "must be 1 to {}, got {}",
                    tenax_worker::MAX_CONCURRENCY,
                    w.concurrency
                ),
            ));
        }
        if w.queue.is_empty() || w.queue.len() > tenax_core::MAX_NAME_BYTES {
            return Err(bad("worker.queue", "must be 1 to 200 bytes".into()));
        }
        if w.shutdown_grace > Duration::from_secs(3600) {
            return Err(bad("worker.shutdown_grace", "must be at most 1h".into()));
        }
        positive("worker.job_timeout", w.job_timeout)?;
        for (kind, t) in &w.timeouts {
            positive(&format!("worker.timeouts.{kind}"), *t)?;
        }
        let h = &self.http;
        positive("http.default_timeout", h.default_timeout)?;
        positive("http.connect_timeout", h.connect_timeout)?;
        if h.max_timeout < h.default_timeout {
            return Err(bad(
                "http.max_timeout",
                "must be at least http.default_timeout".into(),
            ));
        }
        if let Err(e) = tenax_worker::http::AllowedBases::parse(&h.allowed_bases) {
            return Err(bad("http.allowed_bases", e.to_string()));
        }
        positive("store.flush_interval", self.store.flush_interval)?;
        if !(1..=100).contains(&self.store.crash_limit) {
            return Err(bad(
                "store.crash_limit",
                format!("must be 1 to 100, got {}", self.store.crash_limit),
            ));
        }
        if self.api.body_limit < 1024 {
            return Err(bad("api.body_limit", "must be at least 1KiB".into()));
        }
        if let Some(message) = self.api.token.as_deref().and_then(token_problem) {
            return Err(bad("api.token", message));
        }
        if let Err(e) = log_filter(&self.log.level) {
            return Err(bad(
                "log.level",
                format!("{:?} is not a log filter: {e}", self.log.level),
            ));
        }
        Ok(())
    }

    /// Sets the token given by `--token` or `TENAX_API_TOKEN` on the command line.
    ///
    /// An empty token is refused here as in the file: it would count as "a token is set"
    /// and open a non-loopback API to anyone sending `Authorization: Bearer `.
    pub(crate) fn override_token(&mut self, token: String) -> Result<(), ConfigError> {
        if let Some(message) = token_problem(&token) {
            return Err(ConfigError::Invalid {
                origin: "--token / TENAX_API_TOKEN".to_owned(),
                key: "api.token".to_owned(),
                message,
            });
        }
        self.api.token = Some(token);
        Ok(())
    }

    /// Refuses an API on a non-loopback address without a usable token.
    pub(crate) fn check_api_exposure(&self) -> Result<(), ConfigError> {
        let has_token = self
            .api
            .token
            .as_deref()
            .is_some_and(|t| token_problem(t).is_none());
        if self.api.addr.ip().is_loopback() || has_token {
            return Ok(());
        }
        Err(ConfigError::Exposed {
            addr: self.api.addr,
        })
    }

    /// The store's options.
    pub(crate) fn store_options(&self) -> tenax_core::StoreOptions {
        let s = &self.store;
        tenax_core::StoreOptions::default()
            .durability(match s.durability {
                DurabilitySetting::Sync => tenax_core::Durability::Sync,
                DurabilitySetting::Buffered => tenax_core::Durability::Buffered,
            })
            .flush_interval(s.flush_interval)
            .dead_retention(s.dead_retention)
            .crash_limit(s.crash_limit)
            .min_free_bytes(s.min_free_space)
    }

    /// The HTTP handler's settings.
    pub(crate) fn http_config(&self) -> tenax_worker::http::HttpConfig {
        tenax_worker::http::HttpConfig {
            allowed_bases: self.http.allowed_bases.clone(),
            default_timeout: self.http.default_timeout,
            max_timeout: self.http.max_timeout,
            connect_timeout: self.http.connect_timeout,
            ..tenax_worker::http::HttpConfig::default()
        }
    }

    /// The API body limit in bytes.
    pub(crate) fn body_limit(&self) -> usize {
        usize::try_from(self.api.body_limit).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests;
