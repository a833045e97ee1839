//! For tests that need a server: find one, and give each test a schema of its own.
//!
//! The server is `TENAX_PG_URL` when set, otherwise the local one on 127.0.0.1:5432
//! (user `postgres`, database `test`) if it accepts connections. Without either,
//! [`TestServer::find`] returns `None` and the test should print that it was skipped
//! and return. Each [`TestSchema`] has a unique name and is dropped with everything in
//! it when the value is, so tests run in parallel without seeing each other.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::PgOptions;

/// The environment variable naming the test server.
pub const URL_VAR: &str = "TENAX_PG_URL";

const LOCAL: &str = "postgresql://postgres@127.0.0.1:5432/test";

/// A server tests may use.
#[derive(Clone, Debug)]
pub struct TestServer {
    url: String,
}

impl TestServer {
    /// The server to test against, or `None` when there is none (see the module docs).
    pub fn find() -> Option<TestServer> {
        if let Ok(url) = std::env::var(URL_VAR) {
            return Some(TestServer { url });
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], 5432));
        TcpStream::connect_timeout(&addr, Duration::from_secs(1))
            .ok()
            .map(|_| TestServer { url: LOCAL.into() })
    }

    /// The server at `url` (for benchmarks pointed at a server of the user's choice).
    pub fn at(url: impl Into<String>) -> TestServer {
        TestServer { url: url.into() }
    }

    /// [`find`](Self::find), printing `SKIPPED: no PostgreSQL server` when there is
    /// none.
    pub fn find_or_skip(test: &str) -> Option<TestServer> {
        let found = Self::find();
        if found.is_none() {
            eprintln!(
                "SKIPPED: no PostgreSQL server ({test}; set {URL_VAR} or run one on \
                 127.0.0.1:5432)"
            );
        }
        found
    }

    /// The server's URL (no password: tests use trust authentication or `PGPASSWORD`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A fresh, unique schema on this server, dropped when the value is.
    pub fn schema(&self) -> TestSchema {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "tenax_t{}_{}_{nanos:x}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        TestSchema {
            url: self.url.clone(),
            name,
        }
    }
}

/// A schema for one test; see [`TestServer::schema`].
#[derive(Debug)]
pub struct TestSchema {
    url: String,
    name: String,
}

impl TestSchema {
    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Options for a store in this schema: a small pool, node `test`.
    pub fn options(&self) -> PgOptions {
        PgOptions::new(&self.url)
            .schema(&self.name)
            .pool_size(4)
            .node("test")
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // A thread of its own: the drop may run inside an async test's runtime, where
        // starting another one would panic.
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop the test schema {}: {e}", self.name);
        }
    }
}
