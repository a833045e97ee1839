//! Logs on stderr: human-readable by default (colours only on a terminal), JSON lines on
//! request. `RUST_LOG` wins over the configured level.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The storage engine's own info lines (table flushes, compactions) are noise for an
/// operator; they show with `RUST_LOG` or a level that names them.
const QUIET_ENGINE: &str = "fjall=warn,lsm_tree=warn";

/// Installs the global subscriber.
pub(crate) fn init(level: &str, json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::try_new(format!("{QUIET_ENGINE},{level}"))
            .unwrap_or_else(|_| EnvFilter::new("info"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
}
