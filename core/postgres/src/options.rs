//! How a PostgreSQL store connects and behaves, each option with its documented default.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tenax_core::{Clock, StoreOptions};

use crate::Error;

/// Options of [`PgStore::open`](crate::PgStore::open). Start from [`PgOptions::new`].
#[derive(Clone)]
pub struct PgOptions {
    pub(crate) url: String,
    pub(crate) password: Option<String>,
    pub(crate) schema: String,
    pub(crate) pool_size: usize,
    pub(crate) node: String,
    pub(crate) lease_ttl: Duration,
    pub(crate) crash_limit: u32,
    pub(crate) dead_retention: Option<Duration>,
    pub(crate) max_payload_bytes: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) clock: Option<Arc<dyn Clock>>,
}

impl fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgOptions")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("node", &self.node)
            .field("lease_ttl", &self.lease_ttl)
            .field("crash_limit", &self.crash_limit)
            .field("dead_retention", &self.dead_retention)
            .field("max_payload_bytes", &self.max_payload_bytes)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl PgOptions {
    /// Default of [`schema`](Self::schema): `tenax`.
    pub const DEFAULT_SCHEMA: &str = "tenax";
    /// Default of [`pool_size`](Self::pool_size): 8 connections.
    pub const DEFAULT_POOL_SIZE: usize = 8;
    /// Largest [`pool_size`](Self::pool_size): 256.
    pub const MAX_POOL_SIZE: usize = 256;
    /// Default of [`lease_ttl`](Self::lease_ttl): 60 s.
    pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(60);
    /// Default of [`connect_timeout`](Self::connect_timeout): 10 s.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

    /// Options for the server at `url`: a `postgresql://user@host:port/db` URL or a
    /// `host=... user=... dbname=...` string, without a password (see
    /// [`password`](Self::password)).
    pub fn new(url: impl Into<String>) -> Self {
        PgOptions {
            url: url.into(),
            password: None,
            schema: Self::DEFAULT_SCHEMA.to_owned(),
            pool_size: Self::DEFAULT_POOL_SIZE,
            node: default_node(),
            lease_ttl: Self::DEFAULT_LEASE_TTL,
            crash_limit: StoreOptions::DEFAULT_CRASH_LIMIT,
            dead_retention: StoreOptions::DEFAULT_DEAD_RETENTION,
            max_payload_bytes: StoreOptions::DEFAULT_MAX_PAYLOAD_BYTES,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            clock: None,
        }
    }

    /// The password, kept out of the URL so that it never shows where the URL does
    /// (logs, `config check`). Default: none (trust or peer authentication).
    #[must_use]
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// The PostgreSQL schema holding the tables, created at the first open. Several
    /// queues sets can share a database in different schemas. Default: `tenax`.
    /// A lowercase identifier: letters, digits and `_`, at most 57 bytes (its
    /// notification channel, `tenax_` and the name, must fit PostgreSQL's 63).
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// Most connections the store opens for its calls (one more listens for wake-ups).
    /// Default: 8. Range: 1 to 256.
    #[must_use]
    pub fn pool_size(mut self, n: usize) -> Self {
        self.pool_size = n;
        self
    }

    /// This daemon's name among the hosts sharing the queue: the holder named on its
    /// leases. Only one open store may use a name at a time; a store opening under a
    /// name rescues the jobs the name's previous holder left running (it died), as the
    /// embedded store does at open. Default: the host name. 1 to 200 bytes.
    #[must_use]
    pub fn node(mut self, node: impl Into<String>) -> Self {
        self.node = node.into();
        self
    }

    /// How long a claim's lease lasts; stored with the lease so that other hosts can
    /// tell a dead holder. Default: 60 s. Range: 1 s to 1 h.
    #[must_use]
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// As [`StoreOptions::crash_limit`]. Default: 3. Range: 1 to 100.
    #[must_use]
    pub fn crash_limit(mut self, n: u32) -> Self {
        self.crash_limit = n;
        self
    }

    /// As [`StoreOptions::dead_retention`]. Default: 30 days.
    #[must_use]
    pub fn dead_retention(mut self, d: Option<Duration>) -> Self {
        self.dead_retention = d;
        self
    }

    /// As [`StoreOptions::max_payload_bytes`]. Default: 1 MiB. Range: 1 B to 64 MiB.
    #[must_use]
    pub fn max_payload_bytes(mut self, n: usize) -> Self {
        self.max_payload_bytes = n;
        self
    }

    /// How long opening a connection may take. Default: 10 s. Range: 1 s to 5 min.
    #[must_use]
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// The clock for every stored timestamp. Default: the server's clock, read at open
    /// and every minute and followed on this host's monotonic clock in between, so all
    /// hosts agree on "now" whatever their own clocks say.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The node name these options open under.
    pub fn node_name(&self) -> &str {
        &self.node
    }

    /// The schema these options open.
    pub fn schema_name(&self) -> &str {
        &self.schema
    }

    /// Where the store connects, for messages: host, port and database (never the
    /// password).
    pub fn describe(&self) -> String {
        self.target()
    }

    /// Checks every option against its range, as [`PgStore::open`](crate::PgStore::open)
    /// does, and that the URL parses and holds no password.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the first bad option, or
    /// [`Error::PasswordInUrl`].
    pub fn validate(&self) -> Result<(), Error> {
        let bad =
            |option: &'static str, message: String| Err(Error::InvalidOption { option, message });
        self.connect_config()?;
        if !valid_schema(&self.schema) {
            return bad(
                "schema",
                format!(
                    "must be a lowercase identifier (a-z, 0-9, _; not starting with a digit; \
                     at most 57 bytes), got {:?}",
                    self.schema
                ),
            );
        }
        if !(1..=Self::MAX_POOL_SIZE).contains(&self.pool_size) {
            return bad(
                "pool_size",
                format!(
                    "must be 1 to {}, got {}",
                    Self::MAX_POOL_SIZE,
                    self.pool_size
                ),
            );
        }
        if self.node.is_empty()
            || self.node.len() > tenax_core::MAX_NAME_BYTES
            || self.node.chars().any(char::is_control)
        {
            return bad(
                "node",
                format!(
                    "must be 1 to {} bytes without control characters, got {:?}",
                    tenax_core::MAX_NAME_BYTES,
                    self.node
                ),
            );
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&self.lease_ttl) {
            return bad(
                "lease_ttl",
                format!("must be 1s to 1h, got {:?}", self.lease_ttl),
            );
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(300)).contains(&self.connect_timeout) {
            return bad(
                "connect_timeout",
                format!("must be 1s to 5m, got {:?}", self.connect_timeout),
            );
        }
        // The shared bounds are the embedded store's own.
        let shared = StoreOptions::default()
            .crash_limit(self.crash_limit)
            .max_payload_bytes(self.max_payload_bytes);
        if let Err(e) = shared.validate() {
            return bad(e.option, e.message);
        }
        Ok(())
    }

    /// The client configuration: the URL, the password, and the session settings every
    /// connection starts with.
    pub(crate) fn connect_config(&self) -> Result<tokio_postgres::Config, Error> {
        let mut config =
            tokio_postgres::Config::from_str(&self.url).map_err(|e| Error::InvalidOption {
                option: "url",
                message: format!("is not a PostgreSQL URL or connection string: {e}"),
            })?;
        if config.get_password().is_some() {
            return Err(Error::PasswordInUrl);
        }
        if let Some(password) = &self.password {
            config.password(password.as_str());
        }
        if config.get_application_name().is_none() {
            config.application_name("tenax");
        }
        // Outcomes and claims commit without waiting for the server's WAL flush, as the
        // embedded store flushes them lazily; enqueues ask for a synchronous commit in
        // their own transaction (see `enqueue.rs`).
        config.options(format!(
            "-c search_path={} -c synchronous_commit=off",
            self.schema
        ));
        config
            .connect_timeout(self.connect_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(15))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3)
            // A call the network swallowed fails within a lease (at most 30 s), so a
            // host cut off finds out before others take its jobs, not minutes later.
            .tcp_user_timeout(self.lease_ttl.min(Duration::from_secs(30)));
        Ok(config)
    }

    /// Where the store connects, for messages (never the password).
    pub(crate) fn target(&self) -> String {
        match self.connect_config() {
            Ok(c) => describe(&c),
            Err(_) => "an invalid URL".into(),
        }
    }
}

fn describe(c: &tokio_postgres::Config) -> String {
    let host = match c.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    let db = c.get_dbname().or(c.get_user()).unwrap_or("");
    format!("{host}:{port}/{db}")
}

fn valid_schema(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && s.len() <= 57
}

/// The host name, or `tenax` where it cannot be read.
fn default_node() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tenax".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        PgOptions::new("postgresql://postgres@127.0.0.1/test")
            .validate()
            .expect("defaults are valid");
    }

    #[test]
    fn a_password_in_the_url_is_refused() {
        let e = PgOptions::new("postgresql://u:secret@localhost/db")
            .validate()
            .unwrap_err();
        assert!(matches!(e, Error::PasswordInUrl), "{e}");
        assert!(!e.to_string().contains("secret"));
        let e = PgOptions::new("host=localhost password=secret")
            .validate()
            .unwrap_err();
        assert!(matches!(e, Error::PasswordInUrl), "{e}");
    }

    #[test]
    fn out_of_range_options_name_themselves() {
        let o = || PgOptions::new("postgresql://localhost/db");
        let option = |r: Result<(), Error>| match r {
            Err(Error::InvalidOption { option, .. }) => option,
            other => panic!("{other:?}"),
        };
        assert_eq!(option(o().pool_size(0).validate()), "pool_size");
        assert_eq!(option(o().schema("Tenax").validate()), "schema");
        assert_eq!(option(o().schema("1x").validate()), "schema");
        assert_eq!(option(o().schema("s".repeat(58)).validate()), "schema");
        assert!(o().schema("s".repeat(57)).validate().is_ok());
        assert_eq!(option(o().crash_limit(0).validate()), "crash_limit");
        assert_eq!(option(o().node("").validate()), "node");
        assert_eq!(
            option(o().lease_ttl(Duration::ZERO).validate()),
            "lease_ttl"
        );
        assert_eq!(option(PgOptions::new("postgresql://[").validate()), "url");
    }

    #[test]
    fn the_target_names_host_port_and_database() {
        let o = PgOptions::new("postgresql://postgres@db.example:6432/queue");
        assert_eq!(o.target(), "db.example:6432/queue");
    }
}
