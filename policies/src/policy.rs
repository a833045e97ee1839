//! A complete, validated policy: settings per error class, the fallback class, the breaker.

use std::collections::BTreeMap;

use serde::{Serialize, ser::SerializeStruct};

use crate::{
    BreakerSettings, ClassPolicy, ErrorClass, Location, PolicyError, RateLimit, Result,
    class::Known, defaults, settings::Problem,
};

/// The four classes every policy has, in the order reports list them.
static BUILTIN: [ErrorClass; 4] = [
    ErrorClass::TRANSIENT,
    ErrorClass::NOT_FOUND,
    ErrorClass::UNAVAILABLE,
    ErrorClass::PERMANENT,
];

/// Retry settings for every error class, the class that stands in for undeclared ones,
/// and the circuit breaker settings.
///
/// A `Policy` is always valid: it comes from [`Policy::default`], a [`PolicyBuilder`] or
/// a script, and each of those checks every value against [`crate::defaults`]. The four
/// built-in classes (`transient`, `not_found`, `unavailable`, `permanent`) are always
/// present and are looked up without touching a string.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    builtin: [ClassPolicy; 4],
    custom: BTreeMap<ErrorClass, ClassPolicy>,
    fallback: ErrorClass,
    breaker: BreakerSettings,
    rate_limit: Option<RateLimit>,
}

impl Default for Policy {
    /// The product's default table; see [`crate::defaults`].
    fn default() -> Self {
        Policy {
            builtin: [
                defaults::TRANSIENT,
                defaults::NOT_FOUND,
                defaults::UNAVAILABLE,
                defaults::PERMANENT,
            ],
            custom: BTreeMap::new(),
            fallback: defaults::FALLBACK_CLASS,
            breaker: defaults::BREAKER,
            rate_limit: None,
        }
    }
}

fn slot(class: &ErrorClass) -> Option<usize> {
    match class.known()? {
        Known::Transient => Some(0),
        Known::NotFound => Some(1),
        Known::Unavailable => Some(2),
        Known::Permanent => Some(3),
        Known::Crashed | Known::Panicked => None,
    }
}

impl Policy {
    /// A builder starting from the defaults.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder {
            policy: Policy::default(),
        }
    }

    /// The settings the policy declares for `class`, if it declares it.
    pub fn class(&self, class: &ErrorClass) -> Option<&ClassPolicy> {
        match slot(class) {
            Some(i) => self.builtin.get(i),
            None => self.custom.get(class),
        }
    }

    /// The settings that apply to `class`: its own, or the fallback class's when the
    /// policy does not declare it.
    pub fn effective(&self, class: &ErrorClass) -> &ClassPolicy {
        self.class(class)
            .or_else(|| self.class(&self.fallback))
            .unwrap_or(&self.builtin[0])
    }

    /// Whether a failure of `class` counts toward opening the circuit breaker (undeclared
    /// classes answer as the fallback class does).
    pub fn counts_toward_breaker(&self, class: &ErrorClass) -> bool {
        self.effective(class).counts_toward_breaker
    }

    /// Every declared class: the four built-ins first, then the others by name.
    pub fn classes(&self) -> impl Iterator<Item = (&ErrorClass, &ClassPolicy)> {
        BUILTIN
            .iter()
            .zip(self.builtin.iter())
            .chain(self.custom.iter())
    }

    /// Whether the policy declares `class`.
    pub fn declares(&self, class: &ErrorClass) -> bool {
        self.class(class).is_some()
    }

    /// The class whose settings apply to undeclared classes. Default: `transient`.
    pub fn fallback_class(&self) -> &ErrorClass {
        &self.fallback
    }

    /// The circuit breaker settings.
    pub fn breaker(&self) -> &BreakerSettings {
        &self.breaker
    }

    /// The steady rate limit of the queues deciding with this policy, if any. An
    /// operator's run-time limit overrides it.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }

    pub(crate) fn check(&self) -> std::result::Result<(), Problem> {
        if self.builtin.len() + self.custom.len() > defaults::MAX_CLASSES {
            return Err(Problem::new(
                "classes",
                format!("more than {} classes", defaults::MAX_CLASSES),
            ));
        }
        for (class, settings) in self.classes() {
            settings
                .check()
                .map_err(|p| p.within(&format!("classes.{class}")))?;
        }
        if !self.declares(&self.fallback) {
            return Err(Problem::new(
                "fallback_class",
                format!("`{}` is not a class of this policy", self.fallback),
            ));
        }
        self.breaker.check().map_err(|p| p.within("breaker"))?;
        if let Some(rate) = &self.rate_limit {
            rate.check().map_err(|p| p.within("rate_limit"))?;
        }
        Ok(())
    }
}

/// Builds a [`Policy`] in Rust, starting from the defaults; [`PolicyBuilder::build`]
/// checks every value.
#[derive(Debug, Clone)]
pub struct PolicyBuilder {
    policy: Policy,
}

impl PolicyBuilder {
    /// Sets (or adds) the settings of one class.
    pub fn class(mut self, class: ErrorClass, settings: ClassPolicy) -> Self {
        match slot(&class) {
            Some(i) => self.policy.builtin[i] = settings,
            None => {
                self.policy.custom.insert(class, settings);
            }
        }
        self
    }

    /// Sets the class that stands in for undeclared classes; it must be declared.
    pub fn fallback_class(mut self, class: ErrorClass) -> Self {
        self.policy.fallback = class;
        self
    }

    /// Sets the circuit breaker settings.
    pub fn breaker(mut self, breaker: BreakerSettings) -> Self {
        self.policy.breaker = breaker;
        self
    }

    /// Sets the steady rate limit of the queues deciding with this policy. Default: none.
    pub fn rate_limit(mut self, rate: Option<RateLimit>) -> Self {
        self.policy.rate_limit = rate;
        self
    }

    /// Checks every value against [`crate::defaults`] and returns the policy.
    pub fn build(self) -> Result<Policy> {
        self.policy.check().map_err(|p| PolicyError::InvalidValue {
            at: Location::whole("policy"),
            key: p.key,
            message: p.message,
        })?;
        Ok(self.policy)
    }

    /// The policy without checks, for the script reader, which checks it with positions.
    pub(crate) fn build_unchecked(self) -> Policy {
        self.policy
    }
}

struct ClassesView<'a>(&'a Policy);

impl Serialize for ClassesView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(self.0.classes())
    }
}

/// Serialized in the shape a script writes, so an API can show the effective policy.
impl Serialize for Policy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("Policy", 4)?;
        out.serialize_field("classes", &ClassesView(self))?;
        out.serialize_field("fallback_class", &self.fallback)?;
        out.serialize_field("breaker", &self.breaker)?;
        out.serialize_field("rate_limit", &self.rate_limit)?;
        out.end()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;

    #[test]
    fn undeclared_classes_follow_the_fallback() {
        let policy = Policy::default();
        let odd = ErrorClass::new("odd").unwrap();
        assert_eq!(policy.effective(&odd), &defaults::TRANSIENT);
        assert_eq!(
            policy.effective(&ErrorClass::PANICKED),
            &defaults::TRANSIENT
        );
        assert!(!policy.counts_toward_breaker(&ErrorClass::NOT_FOUND));
        assert!(policy.counts_toward_breaker(&ErrorClass::UNAVAILABLE));
    }

    #[test]
    fn builder_checks_values() {
        let err = Policy::builder()
            .class(
                ErrorClass::TRANSIENT,
                ClassPolicy {
                    base: Duration::from_millis(1),
                    ..defaults::TRANSIENT
                },
            )
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("classes.transient.base"), "{err}");

        let err = Policy::builder()
            .fallback_class(ErrorClass::new("ghost").unwrap())
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("fallback_class"), "{err}");
    }

    #[test]
    fn builder_adds_custom_classes() {
        let slow = ErrorClass::new("slow").unwrap();
        let policy = Policy::builder()
            .class(slow.clone(), defaults::NOT_FOUND)
            .fallback_class(slow.clone())
            .build()
            .unwrap();
        assert_eq!(policy.class(&slow), Some(&defaults::NOT_FOUND));
        assert_eq!(policy.classes().count(), 5);
        assert_eq!(policy.effective(&ErrorClass::CRASHED), &defaults::NOT_FOUND);
    }
}
