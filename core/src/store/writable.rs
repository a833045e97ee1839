//! A read-only look at whether the store would take new jobs now, for readiness probes.

use crate::{Error, Result, Store};

impl Store {
    /// Whether the free space under the data directory is at or above the reserve
    /// ([`StoreOptions::min_free_bytes`](crate::StoreOptions::min_free_bytes)), so that
    /// enqueues are admitted. Reads the file system on every call and writes nothing.
    ///
    /// # Errors
    /// [`Error::DiskFull`] below the reserve (free space, and enqueues resume), or
    /// [`Error::Io`] when the free space cannot be read.
    pub fn check_free_space(&self) -> Result<()> {
        let reserve = self.shared.opts.min_free_bytes;
        if reserve == 0 {
            return Ok(());
        }
        let dir = &self.shared.dir;
        let free = crate::space::free_bytes(dir).map_err(|e| Error::io(dir, e))?;
        if free < reserve {
            return Err(Error::DiskFull {
                context: format!(
                    "{free} bytes free under {}, below the {reserve} byte reserve",
                    dir.display()
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Error, Store, StoreOptions};

    #[test]
    fn a_reserve_above_the_free_space_is_reported_and_none_passes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default().min_free_bytes(0)).unwrap();
        assert!(store.check_free_space().is_ok());
        drop(store);
        let huge = StoreOptions::default().min_free_bytes(u64::MAX / 2);
        let store = Store::open(dir.path(), huge).unwrap();
        let e = store.check_free_space().unwrap_err();
        assert!(matches!(e, Error::DiskFull { .. }), "{e:?}");
    }
}
