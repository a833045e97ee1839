//! The one error type of tenax-core.

use std::path::PathBuf;

use crate::JobId;

/// Result type of every fallible store operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, and (in each variant's doc) what the caller should do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another process holds the data directory. Stop it, or talk to it through its API;
    /// one process owns a store so that two workers never race for the same jobs.
    #[error("data directory {} is in use by {}", path.display(), holder(*pid))]
    Locked {
        /// The data directory.
        path: PathBuf,
        /// The holder's process id, when it could be read from the lock file.
        pid: Option<u32>,
    },

    /// The directory holds files but no tenax store. Point the store at an empty or
    /// missing directory, or at one tenax created.
    #[error("{} is not a tenax data directory (no STORE marker, but not empty)", path.display())]
    NotAStore {
        /// The directory that was opened.
        path: PathBuf,
    },

    /// The store was written by a newer tenax. Upgrade this program; do not downgrade data.
    #[error("store format {found} is newer than this build supports ({supported})")]
    UnsupportedFormat {
        /// Version found on disk.
        found: u32,
        /// Highest version this build reads.
        supported: u32,
    },

    /// The disk is full. Nothing stored before was lost; free space and retry the call.
    #[error("disk full: {context}; free space and retry (nothing stored was lost)")]
    DiskFull {
        /// The operation that could not be written.
        context: String,
    },

    /// An earlier write failed half-way (most often because the disk filled up), so the
    /// storage engine refuses further writes. Fix the cause, then reopen the store:
    /// recovery keeps every complete write and drops the torn one.
    #[error("a previous write failed{}; reopen the store to recover", cause.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Poisoned {
        /// The likely cause, when one could be seen (such as a full disk).
        cause: Option<String>,
    },

    /// Reading or writing the data directory failed. Check permissions and the device.
    #[error("i/o error on {}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// The storage engine failed. Usually a device or permission problem; the message says.
    #[error("storage engine: {0}")]
    Storage(String),

    /// The storage server could not be reached, or the connection to it broke while the
    /// call ran (a networked backend). Whether the call took effect is unknown when the
    /// connection broke after it was sent: retry it later if it is safe to repeat (an
    /// outcome fenced by its lease is; an enqueue without a dedup key may store twice).
    #[error("storage server unavailable: {0}")]
    Unavailable(String),

    /// A stored record could not be decoded. Other jobs keep working; report this, with the
    /// id, as a bug or as disk corruption.
    #[error("{}: {what}", record_name(*id))]
    Corrupt {
        /// The job whose record is damaged, when known.
        id: Option<JobId>,
        /// What was wrong with it.
        what: String,
    },

    /// The lease no longer holds the job: it was completed, released, or rescued and
    /// claimed again. Drop the result; the job's current holder decides its fate.
    #[error("lease on job {id} is stale")]
    StaleLease {
        /// The job the lease named.
        id: JobId,
    },

    /// A conditional write of a worker value found another version than it expected:
    /// someone else wrote the value in between. Nothing of the call was written (not its
    /// outcome or jobs either); read the value again, decide again, and write again.
    #[error("worker value {key} changed meanwhile; read it again")]
    StateConflict {
        /// The value's name.
        key: String,
    },

    /// No job with this id is where the operation expected it (for example, requeueing a
    /// job that is not dead). Re-read the job's state.
    #[error("job {id} not found{}", if *dead_only { " in the dead letter queue" } else { "" })]
    NotFound {
        /// The id asked for.
        id: JobId,
        /// Whether only the dead letter queue was searched.
        dead_only: bool,
    },

    /// The job was refused before anything was stored. Fix the input as the message says.
    #[error("invalid job: {0}")]
    InvalidJob(String),

    /// The store options are out of range. Fix them as the message says.
    #[error("invalid store options: {0}")]
    InvalidOptions(String),
}

fn holder(pid: Option<u32>) -> String {
    pid.map_or_else(|| "another process".to_owned(), |p| format!("process {p}"))
}

fn record_name(id: Option<JobId>) -> String {
    id.map_or_else(
        || "corrupt record".to_owned(),
        |id| format!("corrupt record of job {id}"),
    )
}

impl Error {
    /// Whether retrying the same call later can succeed without anyone changing the input.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::DiskFull { .. } | Error::Io { .. } | Error::Unavailable(_)
        )
    }

    /// A copy, for each caller of a failed group of calls (`io::Error` is not `Clone`).
    pub fn duplicate(&self) -> Self {
        match self {
            Error::Locked { path, pid } => Error::Locked {
                path: path.clone(),
                pid: *pid,
            },
            Error::NotAStore { path } => Error::NotAStore { path: path.clone() },
            Error::UnsupportedFormat { found, supported } => Error::UnsupportedFormat {
                found: *found,
                supported: *supported,
            },
            Error::DiskFull { context } => Error::DiskFull {
                context: context.clone(),
            },
            Error::Poisoned { cause } => Error::Poisoned {
                cause: cause.clone(),
            },
            Error::Io { path, source } => Error::Io {
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            Error::Storage(m) => Error::Storage(m.clone()),
            Error::Unavailable(m) => Error::Unavailable(m.clone()),
            Error::Corrupt { id, what } => Error::Corrupt {
                id: *id,
                what: what.clone(),
            },
            Error::StaleLease { id } => Error::StaleLease { id: *id },
            Error::StateConflict { key } => Error::StateConflict { key: key.clone() },
            Error::NotFound { id, dead_only } => Error::NotFound {
                id: *id,
                dead_only: *dead_only,
            },
            Error::InvalidJob(m) => Error::InvalidJob(m.clone()),
            Error::InvalidOptions(m) => Error::InvalidOptions(m.clone()),
        }
    }

    pub(crate) fn corrupt(id: Option<JobId>, what: impl Into<String>) -> Self {
        Error::Corrupt {
            id,
            what: what.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Maps an engine error, recognising a full disk wherever it is nested.
    pub(crate) fn engine(context: &str, e: fjall::Error) -> Self {
        if is_disk_full(&e) {
            return Error::DiskFull {
                context: context.to_owned(),
            };
        }
        match e {
            fjall::Error::Poisoned => Error::Poisoned { cause: None },
            fjall::Error::Locked => Error::Storage(format!("{context}: database is locked")),
            other => Error::Storage(format!("{context}: {other}")),
        }
    }
}

fn is_disk_full(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::StorageFull
        {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_full_is_recognised_through_the_engine_error() {
        let io = std::io::Error::from(std::io::ErrorKind::StorageFull);
        let e = Error::engine("enqueue", fjall::Error::Io(io));
        assert!(matches!(e, Error::DiskFull { .. }), "{e:?}");
        assert!(e.to_string().contains("free space"));
    }

    #[test]
    fn locked_names_the_holder() {
        let e = Error::Locked {
            path: "/data".into(),
            pid: Some(42),
        };
        assert_eq!(
            e.to_string(),
            "data directory /data is in use by process 42"
        );
    }
}
