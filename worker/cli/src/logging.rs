//! Logs on stderr: human-readable by default (colours only on a terminal), JSON lines on
//! request. `RUST_LOG` wins over the configured level. Each line passes through the
//! configuration's [`Redactor`] on its way out, so no secret value is ever logged, by
//! tenax, an application's handler or a library at debug level.

use std::io::{IsTerminal, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{Redactor, log_filter};

/// The storage engine's own info lines (table flushes, compactions) are noise for an
/// operator; they show with `RUST_LOG` or a level that names them.
const QUIET_ENGINE: &str = "fjall=warn,lsm_tree=warn";

/// Installs the global subscriber.
pub(crate) fn init(level: &str, json: bool, redactor: &Redactor) {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref(), level);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Stderr(redactor.clone()));
    let _ = if json {
        builder.json().try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
}

/// Stderr, one event at a time, redacted.
struct Stderr(Redactor);

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            text: Vec::new(),
            redactor: self.0.clone(),
        }
    }
}

/// One event's text, written to stderr whole when the formatter is done with it (so a
/// secret split across two writes is still found).
struct Line {
    text: Vec<u8>,
    redactor: Redactor,
}

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let mut err = std::io::stderr().lock();
        if self.redactor.is_empty() {
            let _ = err.write_all(&self.text);
        } else {
            let text = String::from_utf8_lossy(&self.text);
            let _ = err.write_all(self.redactor.redact(&text).as_bytes());
        }
    }
}

/// `RUST_LOG` if it is a valid filter, else the configured level.
fn filter(rust_log: Option<&str>, level: &str) -> EnvFilter {
    if let Some(value) = rust_log.filter(|v| !v.is_empty()) {
        match log_filter(value) {
            Ok(filter) => return filter,
            Err(_) => eprintln!("tenax: ignoring RUST_LOG={value:?}: it is not a log filter"),
        }
    }
    log_filter(&format!("{QUIET_ENGINE},{level}")).unwrap_or_else(|_| EnvFilter::new("info"))
}

#[cfg(test)]
mod tests {
    use super::filter;
    use tracing_subscriber::filter::LevelFilter;

    #[test]
    fn rust_log_wins_when_it_is_a_filter() {
        let f = filter(Some("debug"), "warn");
        assert_eq!(f.max_level_hint(), Some(LevelFilter::DEBUG));
        let f = filter(None, "warn");
        assert_eq!(f.max_level_hint(), Some(LevelFilter::WARN));
    }

    #[test]
    fn hostile_filters_fall_back_instead_of_panicking() {
        // Once made tracing-subscriber slice inside the `Ž`.
        let hostile = " i%[l1gggggggggggggg;;;;;3;;;;;;;;;;;;\u{17d}{\u{201b};;;;;;3;{";
        let f = filter(Some(hostile), "trace");
        assert_eq!(f.max_level_hint(), Some(LevelFilter::TRACE));
        let f = filter(Some("[{"), "trace");
        assert_eq!(f.max_level_hint(), Some(LevelFilter::TRACE));
        let f = filter(None, hostile);
        assert_eq!(f.max_level_hint(), Some(LevelFilter::INFO));
    }
}
