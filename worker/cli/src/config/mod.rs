//! The configuration file: one TOML file, parsed strictly, every key with a documented
//! default (see [`defaults_toml`], printed by `tenax config defaults`).
//!
//! One path for every command: [`Config::load`] parses, applies the environment (and
//! `tenax run`'s flags), and validates, so `tenax config check` and `tenax run` accept
//! exactly the same files. Each bound is the library's own (the store options', the
//! worker builder's, the HTTP handler's), asked here and mapped to the key and line
//! where the value was written; the defaults are the libraries' defaults too.

mod error;
mod extension;
mod log_filter;
mod parse;
mod render;
mod secret;
mod validate;
mod values;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use error::ConfigError;
pub(crate) use extension::{Extension, ParseSection, Section, fields_of};
pub(crate) use log_filter::log_filter;
pub(crate) use parse::known_keys;
pub(crate) use render::{defaults_toml, effective_toml, section_note};
pub(crate) use secret::Redactor;
pub use secret::Secret;
use values::{bytes, duration, maybe_duration, optional_duration};

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
    /// `[queues.NAME]`: the queues served; none: `worker.queue` alone.
    pub(crate) queues: BTreeMap<String, QueueSection>,
    /// `[[schedules]]`: periodic jobs. Default: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) schedules: Vec<ScheduleSection>,
    /// The application's own section as written (`[NAME]`), for `config check` to print.
    #[serde(skip)]
    pub(crate) sections: BTreeMap<String, toml::Table>,
    /// The application's job kinds, beside `http`.
    #[serde(skip)]
    pub(crate) kinds: Vec<String>,
    /// Every secret value read, to keep out of what is stored, shown and logged.
    #[serde(skip)]
    pub(crate) redactor: Redactor,
}

/// One `[[http.targets]]` entry: a downstream whose headers (credentials) the HTTP
/// handler adds to each request under `base`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TargetSection {
    pub(crate) base: String,
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, Secret>,
}

/// One `[[schedules]]` entry: when (`cron` + `timezone`, or `every`) and the job
/// template each tick enqueues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScheduleSection {
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cron: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) timezone: Option<String>,
    #[serde(default, with = "every", skip_serializing_if = "Option::is_none")]
    pub(crate) every: Option<Duration>,
    /// Default: the queue the daemon serves (`worker.queue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) queue: Option<String>,
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) payload: toml::Table,
    #[serde(default)]
    pub(crate) catch_up: crate::schedule::CatchUp,
}

/// `every`: a duration when present.
mod every {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        super::duration::deserialize(d).map(Some)
    }
}

/// One served queue's own settings; each unset one is the `[worker]` (or top-level
/// `policy_file`) value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct QueueSection {
    pub(crate) concurrency: Option<usize>,
    pub(crate) policy_file: Option<PathBuf>,
    #[serde(with = "maybe_duration", skip_serializing_if = "Option::is_none")]
    pub(crate) job_timeout: Option<Duration>,
}

/// A queue the daemon serves, with every setting resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueuePlan {
    pub(crate) name: String,
    pub(crate) concurrency: usize,
    pub(crate) policy_file: Option<PathBuf>,
    pub(crate) job_timeout: Duration,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ApiSection {
    pub(crate) addr: SocketAddr,
    pub(crate) token: Option<String>,
    /// A second token that may read everything and change nothing.
    pub(crate) read_token: Option<String>,
    #[serde(with = "bytes")]
    pub(crate) body_limit: u64,
    /// How long a dashboard login lasts.
    #[serde(with = "duration")]
    pub(crate) session_lifetime: Duration,
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
    /// `[[http.targets]]`. Default: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) targets: Vec<TargetSection>,
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
            schedules: Vec::new(),
            queues: BTreeMap::new(),
            sections: BTreeMap::new(),
            kinds: Vec::new(),
            redactor: Redactor::default(),
        }
    }
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            addr: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            token: None,
            read_token: None,
            body_limit: crate::api::DEFAULT_BODY_LIMIT as u64,
            session_lifetime: crate::api::DEFAULT_SESSION_LIFETIME,
        }
    }
}

/// Never prints the token.
impl std::fmt::Debug for ApiSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiSection")
            .field("addr", &self.addr)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("read_token", &self.read_token.as_ref().map(|_| "<set>"))
            .field("body_limit", &self.body_limit)
            .field("session_lifetime", &self.session_lifetime)
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
            targets: Vec::new(),
        }
    }
}

/// The store's own defaults ([`tenax_core::StoreOptions`]), not a copy of them.
impl Default for StoreSection {
    fn default() -> Self {
        use tenax_core::StoreOptions as O;
        StoreSection {
            durability: match tenax_core::Durability::default() {
                tenax_core::Durability::Sync => DurabilitySetting::Sync,
                tenax_core::Durability::Buffered => DurabilitySetting::Buffered,
            },
            flush_interval: O::DEFAULT_FLUSH_INTERVAL,
            dead_retention: O::DEFAULT_DEAD_RETENTION,
            crash_limit: O::DEFAULT_CRASH_LIMIT,
            min_free_space: O::DEFAULT_MIN_FREE_BYTES,
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

/// Who loads a configuration, which decides what it needs of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// `run` and `config check`: every secret is read (one that cannot be is an
    /// error), and the application's section must parse, present or not.
    Daemon,
    /// A client command: it uses the file for the API's address and the data
    /// directory only, so it reads no secret (it must work where the daemon's
    /// credentials are not set) and an absent application section is no error (it
    /// works without a file). What is in the file is still checked as strictly.
    Client,
}

/// Values given on `tenax run`'s command line, applied over the file and the environment
/// before the one validation.
#[derive(Debug, Default, Clone)]
pub(crate) struct Overrides {
    /// `--api`.
    pub(crate) api: Option<String>,
    /// `--token` (clap also reads it from `TENAX_API_TOKEN`).
    pub(crate) token: Option<String>,
}

impl Config {
    /// The configuration from `path` (or the defaults without one), then the environment
    /// overrides `TENAX_DATA_DIR`, `TENAX_API_ADDR`, `TENAX_API_TOKEN`,
    /// `TENAX_API_READ_TOKEN`, then `overrides`,
    /// validated as `tenax run` needs it: what this accepts, the daemon starts with.
    /// `app` is the application's part of the file; `by` who needs it.
    pub(crate) fn load(
        path: Option<&Path>,
        overrides: &Overrides,
        app: &Extension,
        by: Use,
    ) -> Result<Config, ConfigError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (text, origin) = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                (text, path.display().to_string())
            }
            None => (String::new(), "(defaults)".to_owned()),
        };
        Config::build(&text, &origin, env, overrides, app, by)
    }

    /// Parses `text` (named `origin` in errors), applies the overrides `env` gives (and
    /// reads the `{ env = "NAME" }` secrets from it), and validates: what
    /// `tenax config check` does with a file, minus reading it.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the key, and its line and column where it is in `text`.
    pub fn from_toml_str(
        text: &str,
        origin: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        Config::build(
            text,
            origin,
            env,
            &Overrides::default(),
            &Extension::default(),
            Use::Daemon,
        )
    }

    pub(crate) fn build(
        text: &str,
        origin: &str,
        env: impl Fn(&str) -> Option<String>,
        overrides: &Overrides,
        app: &Extension,
        by: Use,
    ) -> Result<Config, ConfigError> {
        let mut source = parse::Source::parse(text, origin)?;
        let names = source.env_names();
        let found = names.into_iter().map(|n| {
            let value = env(&n);
            (n, value)
        });
        let (config, redactor) = secret::scoped(found.collect(), by == Use::Daemon, || {
            source.deserialize(app, by == Use::Daemon)
        });
        let mut config = config?;
        config.redactor = redactor;
        if let Some(dir) = env("TENAX_DATA_DIR") {
            config.data_dir = PathBuf::from(dir);
            source.set_by("data_dir", "TENAX_DATA_DIR");
        }
        let addrs = [
            ("TENAX_API_ADDR", env("TENAX_API_ADDR")),
            ("--api / TENAX_API_ADDR", overrides.api.clone()),
        ];
        for (var, addr) in addrs {
            if let Some(addr) = addr {
                config.api.addr = addr.parse().map_err(|e| ConfigError::Env {
                    var,
                    message: format!("{addr:?} is not an address like 127.0.0.1:7450 ({e})"),
                })?;
                source.set_by("api.addr", var);
            }
        }
        // An empty value is no value, as for the other variables (`TENAX_API_TOKEN=`).
        let tokens = [
            ("TENAX_API_TOKEN", env("TENAX_API_TOKEN")),
            ("--token / TENAX_API_TOKEN", overrides.token.clone()),
        ];
        for (var, token) in tokens {
            if let Some(token) = token.filter(|t| !t.is_empty()) {
                config.api.token = Some(token);
                source.set_by("api.token", var);
            }
        }
        if let Some(token) = env("TENAX_API_READ_TOKEN") {
            config.api.read_token = Some(token);
            source.set_by("api.read_token", "TENAX_API_READ_TOKEN");
        }
        validate::validate(&config, &source)?;
        for token in [config.api.token.clone(), config.api.read_token.clone()]
            .into_iter()
            .flatten()
        {
            config.redactor = std::mem::take(&mut config.redactor).with(&token);
        }
        Ok(config)
    }

    /// The queues to serve: each `[queues.NAME]`, or `worker.queue` alone without any.
    pub(crate) fn queue_plans(&self) -> Vec<QueuePlan> {
        if self.queues.is_empty() {
            return vec![QueuePlan {
                name: self.worker.queue.clone(),
                concurrency: self.worker.concurrency,
                policy_file: self.policy_file.clone(),
                job_timeout: self.worker.job_timeout,
            }];
        }
        self.queues
            .iter()
            .map(|(name, q)| QueuePlan {
                name: name.clone(),
                concurrency: q.concurrency.unwrap_or(self.worker.concurrency),
                policy_file: q.policy_file.clone().or_else(|| self.policy_file.clone()),
                job_timeout: q.job_timeout.unwrap_or(self.worker.job_timeout),
            })
            .collect()
    }

    /// The store's options, from the store's defaults.
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

    /// The HTTP handler's settings, its targets with their secrets included (checked by
    /// [`Config::load`], which passed).
    pub(crate) fn http_config_with_targets(
        &self,
    ) -> Result<tenax_worker::http::HttpConfig, ConfigError> {
        let source = parse::Source::parse("", "(configuration)")?;
        Ok(tenax_worker::http::HttpConfig {
            targets: validate::targets(self, &source)?,
            ..self.http_config()
        })
    }

    /// The HTTP handler's settings without the targets (which need their secrets).
    pub(crate) fn http_config(&self) -> tenax_worker::http::HttpConfig {
        tenax_worker::http::HttpConfig {
            allowed_bases: self.http.allowed_bases.clone(),
            default_timeout: self.http.default_timeout,
            max_timeout: self.http.max_timeout,
            connect_timeout: self.http.connect_timeout,
            ..tenax_worker::http::HttpConfig::default()
        }
    }

    /// The checked schedules (the same check as [`Config::load`]'s, which passed).
    pub(crate) fn schedules(&self) -> Result<Vec<crate::schedule::Schedule>, ConfigError> {
        let source = parse::Source::parse("", "(configuration)")?;
        (0..self.schedules.len())
            .map(|i| validate::schedule(self, i, &source))
            .collect()
    }

    /// The API body limit in bytes.
    pub(crate) fn body_limit(&self) -> usize {
        usize::try_from(self.api.body_limit).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests;
