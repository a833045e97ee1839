//! Error classes: the names failures are sorted into before a policy decides.
//!
//! The well-known names are constants that cost nothing to clone or compare, so the hot
//! path (`decide` with a built-in class) never touches a string or a reference count.
//! Classes a script declares (say `rate_limited`) are shared `Arc<str>` names.

use std::{
    borrow::Borrow,
    cmp::Ordering,
    fmt,
    hash::{Hash, Hasher},
    str::FromStr,
    sync::Arc,
};

use crate::{PolicyError, Result};

/// The longest accepted class name, in bytes.
pub const MAX_CLASS_NAME_LEN: usize = 64;

/// The name of an error class, such as `transient` or `not_found`.
///
/// A valid name is a lowercase identifier: an ASCII letter, then letters, digits or `_`,
/// at most [`MAX_CLASS_NAME_LEN`] bytes. Cloning is cheap.
#[derive(Clone)]
pub struct ErrorClass(Repr);

#[derive(Clone)]
enum Repr {
    Known(Known),
    Custom(Arc<str>),
}

/// The well-known names. The first four have a slot of their own in every policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Known {
    Transient,
    NotFound,
    Unavailable,
    Permanent,
    Crashed,
    Panicked,
}

const KNOWN: [Known; 6] = [
    Known::Transient,
    Known::NotFound,
    Known::Unavailable,
    Known::Permanent,
    Known::Crashed,
    Known::Panicked,
];

impl Known {
    const fn as_str(self) -> &'static str {
        match self {
            Known::Transient => "transient",
            Known::NotFound => "not_found",
            Known::Unavailable => "unavailable",
            Known::Permanent => "permanent",
            Known::Crashed => "crashed",
            Known::Panicked => "panicked",
        }
    }
}

impl ErrorClass {
    /// Worth retrying soon: 5xx, 408, 425, 429, timeouts (of the request or the handler).
    pub const TRANSIENT: ErrorClass = ErrorClass(Repr::Known(Known::Transient));
    /// The downstream does not have the item yet (404): retry slowly, and do not blame
    /// the downstream's health for it.
    pub const NOT_FOUND: ErrorClass = ErrorClass(Repr::Known(Known::NotFound));
    /// The downstream cannot be reached: connection refused, DNS failure, unreachable.
    pub const UNAVAILABLE: ErrorClass = ErrorClass(Repr::Known(Known::Unavailable));
    /// Retrying cannot help (400, 401, 403, 422, ...): straight to the dead letter queue.
    pub const PERMANENT: ErrorClass = ErrorClass(Repr::Known(Known::Permanent));
    /// The job was running when the process died (reported by the store's rescue).
    /// Not in the default policy, so it follows the fallback class unless a script
    /// declares it.
    pub const CRASHED: ErrorClass = ErrorClass(Repr::Known(Known::Crashed));
    /// The handler panicked. Not in the default policy, so it follows the fallback class
    /// (`transient` by default) unless a script declares it.
    pub const PANICKED: ErrorClass = ErrorClass(Repr::Known(Known::Panicked));

    /// Checks `name` and returns the class. Well-known names return their constant.
    pub fn new(name: &str) -> Result<Self> {
        if let Some(known) = KNOWN.iter().find(|k| k.as_str() == name) {
            return Ok(ErrorClass(Repr::Known(*known)));
        }
        check_name(name)?;
        Ok(ErrorClass(Repr::Custom(Arc::from(name))))
    }

    /// The class name.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Known(known) => known.as_str(),
            Repr::Custom(name) => name,
        }
    }

    pub(crate) fn known(&self) -> Option<Known> {
        match self.0 {
            Repr::Known(known) => Some(known),
            Repr::Custom(_) => None,
        }
    }
}

fn check_name(name: &str) -> Result<()> {
    let reject = |reason| {
        Err(PolicyError::InvalidClassName {
            name: name.chars().take(MAX_CLASS_NAME_LEN + 8).collect(),
            reason,
        })
    };
    let mut bytes = name.bytes();
    match bytes.next() {
        None => return reject("it is empty"),
        Some(first) if !first.is_ascii_lowercase() => {
            return reject("it must start with a lowercase ASCII letter");
        }
        Some(_) => {}
    }
    if name.len() > MAX_CLASS_NAME_LEN {
        return reject("it is longer than 64 bytes");
    }
    if !bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return reject("only lowercase ASCII letters, digits and `_` are allowed");
    }
    Ok(())
}

// Equality, ordering and hashing all go through the name, so a custom class can never
// differ from a constant with the same spelling, and `Borrow<str>` is sound.
impl PartialEq for ErrorClass {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Known(a), Repr::Known(b)) => a == b,
            _ => self.as_str() == other.as_str(),
        }
    }
}

impl Eq for ErrorClass {}

impl Hash for ErrorClass {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for ErrorClass {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ErrorClass {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Borrow<str> for ErrorClass {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ErrorClass {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErrorClass({:?})", self.as_str())
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorClass {
    type Err = PolicyError;

    fn from_str(name: &str) -> Result<Self> {
        ErrorClass::new(name)
    }
}

impl serde::Serialize for ErrorClass {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn well_known_names_become_constants() {
        assert_eq!(ErrorClass::new("transient").unwrap(), ErrorClass::TRANSIENT);
        assert_eq!(
            ErrorClass::new("not_found").unwrap().known(),
            Some(Known::NotFound)
        );
        assert_eq!(ErrorClass::new("rate_limited").unwrap().known(), None);
    }

    #[test]
    fn names_are_lowercase_identifiers() {
        for bad in [
            "",
            "Transient",
            "9lives",
            "_x",
            "a-b",
            "a b",
            "é",
            &"a".repeat(65),
        ] {
            assert!(ErrorClass::new(bad).is_err(), "{bad:?} should be rejected");
        }
        for good in ["a", "rate_limited", "http_5xx", &"a".repeat(64)] {
            assert!(ErrorClass::new(good).is_ok(), "{good:?} should be accepted");
        }
    }

    #[test]
    fn hashing_and_ordering_follow_the_name() {
        use std::collections::BTreeMap;
        let mut map = BTreeMap::new();
        map.insert(ErrorClass::new("zeta").unwrap(), 1);
        map.insert(ErrorClass::PANICKED, 2);
        assert_eq!(map.get("zeta"), Some(&1));
        assert_eq!(map.get("panicked"), Some(&2));
        assert!(ErrorClass::NOT_FOUND < ErrorClass::TRANSIENT);
    }
}
