//! Logs: human-readable by default, JSON on request; `RUST_LOG` wins over the configured
//! level.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber, writing to stderr.
pub(crate) fn init(level: &str, json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
