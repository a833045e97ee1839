//! The one error type of this crate.
//!
//! Every error that comes from a script names where it happened (`file:line:column`, as
//! compilers print it) so an operator can jump straight to the mistake. Validation errors
//! are found on the evaluated map, which carries no positions; for those the position is
//! a best-effort pointer at the key in the source text, and the key path is always given.

use std::{fmt, path::PathBuf};

/// Short for `std::result::Result<T, PolicyError>`.
pub type Result<T> = std::result::Result<T, PolicyError>;

/// Where in a policy something went wrong: the script's origin (usually its file name)
/// and, where known, a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The name the script was loaded under: a file path, or the name given to
    /// [`CompiledPolicy::load_str`](crate::CompiledPolicy::load_str).
    pub origin: String,
    /// 1-based line, when the error has a position.
    pub line: Option<usize>,
    /// 1-based column, when the error has a position.
    pub column: Option<usize>,
}

impl Location {
    /// A location without a position, for errors about a whole script or a policy built in Rust.
    pub fn whole(origin: impl Into<String>) -> Self {
        Location {
            origin: origin.into(),
            line: None,
            column: None,
        }
    }

    /// A location with a line and a column.
    pub fn at(origin: impl Into<String>, line: usize, column: usize) -> Self {
        Location {
            origin: origin.into(),
            line: Some(line),
            column: Some(column),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// Why a policy could not be loaded or built.
///
/// A [`LivePolicy`](crate::LivePolicy) that meets any of these keeps its last good policy;
/// the error only tells the operator what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The policy file could not be read. Check that the path exists and is readable.
    #[error("cannot read policy file {}: {source}", path.display())]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// The script does not parse. Fix the script at the reported line and column.
    #[error("{at}: syntax error: {message}")]
    Syntax {
        /// Where the parser stopped.
        at: Location,
        /// The parser's description of the problem.
        message: String,
    },

    /// The script failed while running: a runtime error, or one of the sandbox limits
    /// (operations, call depth, string or collection size, time). Fix the script; the
    /// message names the limit that was hit.
    #[error("{at}: script error: {message}")]
    Runtime {
        /// Where the script failed, when the engine knows.
        at: Location,
        /// The engine's description, with the limit that was hit if any.
        message: String,
    },

    /// The script's map has a key this crate does not know. Usually a typo: use the
    /// suggested key, or remove it.
    #[error("{at}: unknown key `{key}`{}", suggestion_hint(.suggestion.as_deref()))]
    UnknownKey {
        /// Best-effort position of the key in the source.
        at: Location,
        /// The full path of the unknown key, such as `classes.transient.max_retry`.
        key: String,
        /// The nearest known key, if one is close enough to be a likely typo.
        suggestion: Option<String>,
    },

    /// A value has the wrong type or lies outside its bounds (see [`crate::defaults`]).
    /// Change the value; the message says what is accepted.
    #[error("{at}: invalid `{key}`: {message}")]
    InvalidValue {
        /// Best-effort position of the key in the source.
        at: Location,
        /// The full path of the value, such as `classes.transient.cap`.
        key: String,
        /// What is wrong and what is accepted.
        message: String,
    },

    /// A script function (`delay` or `classify`) failed or returned an unusable value when
    /// it was tried on a sample input at load time. Fix the function for that input.
    #[error("{at}: function `{function}` {message} (sample input: {input})")]
    BadFunction {
        /// Where the function failed, or where it is defined.
        at: Location,
        /// `delay` or `classify`.
        function: &'static str,
        /// The sample input that showed the problem.
        input: String,
        /// What went wrong.
        message: String,
    },

    /// The policy file's directory could not be watched. Check that it exists and, on
    /// Linux, that the inotify watch limit (`fs.inotify.max_user_watches`) is not reached.
    /// The policy in force is unaffected.
    #[error("cannot watch policy file {}: {message}", path.display())]
    Watch {
        /// The policy file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },

    /// A name is not a valid error class name: use a lowercase identifier such as
    /// `rate_limited` (letters, digits, `_`, starting with a letter, at most 64 bytes).
    #[error("invalid error class name `{name}`: {reason}")]
    InvalidClassName {
        /// The rejected name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
}

impl PolicyError {
    /// The script location of the error, if it came from a script.
    pub fn location(&self) -> Option<&Location> {
        match self {
            PolicyError::Syntax { at, .. }
            | PolicyError::Runtime { at, .. }
            | PolicyError::UnknownKey { at, .. }
            | PolicyError::InvalidValue { at, .. }
            | PolicyError::BadFunction { at, .. } => Some(at),
            PolicyError::Read { .. }
            | PolicyError::Watch { .. }
            | PolicyError::InvalidClassName { .. } => None,
        }
    }
}

fn suggestion_hint(suggestion: Option<&str>) -> String {
    match suggestion {
        Some(known) => format!(" (did you mean `{known}`?)"),
        None => String::new(),
    }
}
