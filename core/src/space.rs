//! Free-space reserve: refuse new jobs before the disk is actually full.
//!
//! Why a reserve and not just the write error: when a journal write fails half-way the
//! storage engine stops accepting writes until the store is reopened. Refusing enqueues
//! while free space is below a reserve keeps that from happening in practice, and leaves
//! room for the transitions that drain the queue (claims, completions, burials are not
//! refused), so a full disk makes producers back off while the worker keeps going.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// How stale a free-space reading may get before it is taken again.
const RECHECK_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub(crate) struct SpaceGuard {
    dir: PathBuf,
    reserve: u64,
    reading: Mutex<Reading>,
}

#[derive(Debug)]
struct Reading {
    taken: Option<Instant>,
    free: u64,
    /// Bytes admitted since the reading was taken.
    admitted: u64,
}

impl SpaceGuard {
    pub(crate) fn new(dir: &Path, reserve: u64) -> Self {
        SpaceGuard {
            dir: dir.to_owned(),
            reserve,
            reading: Mutex::new(Reading {
                taken: None,
                free: 0,
                admitted: 0,
            }),
        }
    }

    /// Admits a write of about `bytes`, or refuses it with [`Error::DiskFull`].
    ///
    pub(crate) fn admit(&self, bytes: u64) -> Result<()> {
        if self.reserve == 0 {
            return Ok(());
        }
        let mut r = self.reading.lock().unwrap_or_else(PoisonError::into_inner);
        let margin = r.free.saturating_sub(self.reserve);
        let stale = r.taken.is_none_or(|t| t.elapsed() >= RECHECK_EVERY);
        let fits =
            |r: &Reading| r.free.saturating_sub(r.admitted).saturating_sub(bytes) >= self.reserve;
        // Read again when the reading is old, when what was admitted since could have
        // eaten half the margin, or before refusing (space may have been freed since).
        if stale || r.admitted.saturating_add(bytes).saturating_mul(2) >= margin || !fits(&r) {
            r.free = free_bytes(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
            r.taken = Some(Instant::now());
            r.admitted = 0;
        }
        if !fits(&r) {
            return Err(Error::DiskFull {
                context: format!(
                    "{} bytes free under {}, below the {} byte reserve",
                    r.free,
                    self.dir.display(),
                    self.reserve
                ),
            });
        }
        r.admitted += bytes;
        Ok(())
    }
}

impl SpaceGuard {
    /// Adds "disk full" to a poisoned-engine error when the disk is (nearly) full.
    pub(crate) fn explain(&self, e: Error) -> Error {
        match e {
            Error::Poisoned { cause: None } => {
                let cause = free_bytes(&self.dir)
                    .ok()
                    .filter(|&free| free < 1 << 20)
                    .map(|free| {
                        format!("disk full: {free} bytes free under {}", self.dir.display())
                    });
                Error::Poisoned { cause }
            }
            other => other,
        }
    }
}

#[cfg(unix)]
pub(crate) fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let st = rustix::fs::statvfs(dir)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(not(unix))]
pub(crate) fn free_bytes(_dir: &Path) -> std::io::Result<u64> {
    Ok(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserve_larger_than_the_disk_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let guard = SpaceGuard::new(dir.path(), u64::MAX / 2);
        let e = guard.admit(1).unwrap_err();
        assert!(matches!(e, Error::DiskFull { .. }), "{e:?}");
        assert!(e.to_string().contains("reserve"));
    }

    #[test]
    fn a_small_reserve_admits() {
        let dir = tempfile::tempdir().unwrap();
        let guard = SpaceGuard::new(dir.path(), 1);
        guard.admit(100).unwrap();
        assert!(SpaceGuard::new(dir.path(), 0).admit(u64::MAX).is_ok());
    }
}
