//! Configuration errors: where (file, line, column, key) and what, with a suggestion
//! for a misspelt key.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a configuration could not be used. Each message names where the value was
/// written; fix it there and start again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read: check the path and its permissions.
    #[error("cannot read the configuration file {}: {source}", path.display())]
    Read {
        /// The file named on the command line.
        path: PathBuf,
        /// What reading it said.
        source: std::io::Error,
    },
    /// Not TOML, or not the shape of a configuration: fix the file at that position.
    #[error("{origin}:{line}:{column}: {message}")]
    Parse {
        /// The file (or `(defaults)`).
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong there, with a suggested spelling for an unknown key.
        message: String,
    },
    /// A value out of its range: change the key named.
    #[error("{origin}: `{key}` {message}")]
    Invalid {
        /// The file (or `(defaults)`).
        origin: String,
        /// The dotted key, e.g. `worker.concurrency`.
        key: String,
        /// The allowed range or form.
        message: String,
    },
    /// An environment override that cannot be used: fix or unset the variable.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable, e.g. `TENAX_API_ADDR`.
        var: &'static str,
        /// What is wrong with its value.
        message: String,
    },
    /// The API would listen beyond loopback without a token: set one, or bind to
    /// 127.0.0.1.
    #[error(
        "the API address {addr} is not loopback, so anyone who can reach it could enqueue and purge jobs; \
         set `api.token` (or TENAX_API_TOKEN), or bind to 127.0.0.1"
    )]
    Exposed {
        /// The configured address.
        addr: SocketAddr,
    },
}

impl ConfigError {
    /// A TOML or shape error at its position, naming the key and suggesting a spelling.
    pub(crate) fn parse(origin: &str, text: &str, err: &toml::de::Error) -> Self {
        let offset = err.span().map_or(0, |s| s.start);
        let (line, column) = line_column(text, offset);
        let mut message = err.message().trim().to_owned();
        if let Some(unknown) = between(&message, "unknown field `", "`") {
            let section = section_at(text, offset);
            let key = if section.is_empty() {
                unknown.clone()
            } else {
                format!("{section}.{unknown}")
            };
            message = format!("unknown key `{key}`");
            let expected = expected_fields(err.message());
            if let Some(best) = closest(&unknown, &expected) {
                message.push_str(&format!("; did you mean `{best}`?"));
            } else if !expected.is_empty() {
                message.push_str(&format!("; valid keys here: {}", expected.join(", ")));
            }
        } else if let Some(section) = Some(section_at(text, offset)).filter(|s| !s.is_empty()) {
            message = format!("in [{section}]: {message}");
        }
        ConfigError::Parse {
            origin: origin.to_owned(),
            line,
            column,
            message,
        }
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// The `[section]` header in force at `offset` ("" at the top level).
fn section_at(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.contains(']'))
        .map(|l| {
            l.trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .unwrap_or_default()
}

fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let from = s.find(start)? + start.len();
    let to = s[from..].find(end)? + from;
    Some(s[from..to].to_owned())
}

/// The field names in serde's "expected one of `a`, `b`" message.
fn expected_fields(message: &str) -> Vec<String> {
    let Some(at) = message.find("expected") else {
        return Vec::new();
    };
    message[at..]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The candidate within two edits of `word`, if any.
fn closest(word: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_distances() {
        assert_eq!(line_column("a\nbc\n", 3), (2, 2));
        assert_eq!(section_at("x = 1\n[worker]\ny = 2\n", 16), "worker");
        assert_eq!(edit_distance("concurency", "concurrency"), 1);
        let fields = expected_fields("unknown field `x`, expected one of `queue`, `concurrency`");
        assert_eq!(fields, ["queue", "concurrency"]);
        assert_eq!(
            closest("concurency", &fields).as_deref(),
            Some("concurrency")
        );
        assert_eq!(closest("zzzzzzzz", &fields), None);
    }
}
