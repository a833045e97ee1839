//! Configuration errors: where (file, line, column, key) and what, with a suggestion
//! for a misspelt key.

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
    /// Not TOML: fix the file at that position.
    #[error("{origin}:{line}:{column}: {message}")]
    Parse {
        /// The file (or `(defaults)`).
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// A key the configuration does not have: correct its spelling or remove it.
    #[error("{at}: unknown key `{key}`{hint}")]
    Unknown {
        /// `file:line:column` of the key.
        at: String,
        /// The dotted key, e.g. `worker.concurency`.
        key: String,
        /// "; did you mean `worker.concurrency`?", or the valid keys of its table.
        hint: String,
    },
    /// A value of the wrong type or out of its range: change the key named.
    #[error("{at}: `{key}` {message}")]
    Invalid {
        /// Where the value came from: `file:line:column` of the key, the file's name
        /// (for a value left at its default), or the variable or flag that set it.
        at: String,
        /// The dotted key, e.g. `worker.concurrency`.
        key: String,
        /// The allowed range or form.
        message: String,
    },
    /// An environment override or flag that cannot be used: fix or unset it.
    #[error("{var}: {message}")]
    Env {
        /// The variable or flag, e.g. `TENAX_API_ADDR`.
        var: &'static str,
        /// What is wrong with its value.
        message: String,
    },
}

/// 1-based line and column of a byte offset.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn offsets_become_lines_and_columns() {
        assert_eq!(line_column("a\nbc\n", 3), (2, 2));
        assert_eq!(line_column("a\nbc\n", 0), (1, 1));
        assert_eq!(line_column("é", 1), (1, 1));
        assert_eq!(line_column("é = 1", 3), (1, 3));
    }
}
