//! What a consistency check reports: a diagnostic every backend can produce.

use std::fmt;

/// The result of a full scan of a store against its own counters and indexes
/// ([`Store::check_consistency`](crate::Store::check_consistency),
/// [`JobStore::check_consistency`](crate::JobStore::check_consistency)).
///
/// A diagnostic for tests and for operators who suspect damage: it reads everything, so
/// it is slow on a large store and is never needed in normal operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Consistency {
    /// Job records scanned.
    pub jobs: u64,
    /// One sentence per broken invariant, the first [`Consistency::LIMIT`]; empty when
    /// the store is consistent.
    pub violations: Vec<String>,
    /// Violations found beyond the first [`Consistency::LIMIT`].
    pub omitted: u64,
}

impl Consistency {
    /// Most violations listed: a badly damaged store would otherwise list millions.
    pub const LIMIT: usize = 1_000;

    /// Whether no invariant is broken.
    pub fn is_consistent(&self) -> bool {
        self.violations.is_empty()
    }

    /// Records a broken invariant.
    pub fn violation(&mut self, what: impl Into<String>) {
        if self.violations.len() < Self::LIMIT {
            self.violations.push(what.into());
        } else {
            self.omitted += 1;
        }
    }
}

impl fmt::Display for Consistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_consistent() {
            return write!(f, "{} jobs, consistent", self.jobs);
        }
        let found = self.violations.len() as u64 + self.omitted;
        write!(f, "{} jobs, {found} violations:", self.jobs)?;
        for v in &self.violations {
            write!(f, "\n  {v}")?;
        }
        if self.omitted > 0 {
            write!(f, "\n  ... and {} more", self.omitted)?;
        }
        Ok(())
    }
}
