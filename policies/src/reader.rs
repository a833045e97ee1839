//! Reading the map a script evaluates to into a [`Policy`], strictly.
//!
//! Unknown keys are errors with the nearest known key suggested (a misspelt key that is
//! silently ignored is how a setting ends up "documented but never wired"). Missing keys
//! take the Rust defaults. Values must have the right type; ranges are then checked
//! against [`crate::defaults`] by [`Policy::check`].

use std::time::Duration;

use rhai::{Dynamic, Map};

use crate::suggest::nearest_key as nearest;

use crate::{
    BreakerSettings, ClassPolicy, ErrorClass, Location, Policy, PolicyError, RateLimit,
    RecoveryRamp, Result, defaults, duration, locate::locate,
};

const TOP_KEYS: &[&str] = &["classes", "breaker", "fallback_class", "rate_limit"];
const RATE_KEYS: &[&str] = &["per_second", "burst"];
const CLASS_KEYS: &[&str] = &["base", "cap", "max_retries", "jitter", "breaker"];
const BREAKER_KEYS: &[&str] = &[
    "failure_threshold",
    "recovery_timeout",
    "half_open_probes",
    "successes_to_close",
    "ramp",
];
const RAMP_KEYS: &[&str] = &["start_rate_per_sec", "end_rate_per_sec", "duration"];
const BUILTIN_CLASS_NAMES: &[&str] = &["transient", "not_found", "unavailable", "permanent"];

/// Reads one script's map; knows the source so errors can point into it.
pub(crate) struct Reader<'a> {
    pub(crate) origin: &'a str,
    pub(crate) source: &'a str,
}

/// A type error before it gets its location.
struct Wrong {
    path: Vec<String>,
    message: String,
}

type Read<T> = std::result::Result<T, Wrong>;

fn wrong(path: &[&str], message: impl Into<String>) -> Wrong {
    Wrong {
        path: path.iter().map(|s| s.to_string()).collect(),
        message: message.into(),
    }
}

impl Reader<'_> {
    /// The location of a key path, best effort.
    pub(crate) fn location(&self, path: &[&str]) -> Location {
        match locate(self.source, path) {
            Some((line, column)) => Location::at(self.origin, line, column),
            None => Location::whole(self.origin),
        }
    }

    /// Turns the script's value into a checked policy.
    pub(crate) fn policy(&self, value: Dynamic) -> Result<Policy> {
        let policy = self.read(value)?;
        policy.check().map_err(|problem| {
            let path: Vec<&str> = problem.key.split('.').collect();
            PolicyError::InvalidValue {
                at: self.location(&path),
                key: problem.key.clone(),
                message: problem.message,
            }
        })?;
        Ok(policy)
    }

    /// Gives a type error its location.
    fn ok<T>(&self, read: Read<T>) -> Result<T> {
        read.map_err(|w| {
            let path: Vec<&str> = w.path.iter().map(String::as_str).collect();
            PolicyError::InvalidValue {
                at: self.location(&path),
                key: display_path(&path),
                message: w.message,
            }
        })
    }

    fn read(&self, value: Dynamic) -> Result<Policy> {
        let found = kind(&value);
        let Some(top) = value.try_cast::<Map>() else {
            return self.ok(Err(wrong(
                &[],
                format!(
                    "the script must evaluate to a policy map such as `#{{ classes: #{{ ... }} }}`, not {found}"
                ),
            )));
        };
        self.known_keys(&top, TOP_KEYS, &[])?;
        let mut builder = Policy::builder();
        if let Some(classes) = top.get("classes") {
            let classes = self.ok(as_map(classes, &["classes"]))?;
            for (name, settings) in classes.iter() {
                let class = self.class_name(name)?;
                let start = Policy::default()
                    .class(&class)
                    .copied()
                    .unwrap_or(defaults::CUSTOM_CLASS);
                let path = ["classes", name.as_str()];
                let settings = self.ok(as_map(settings, &path))?;
                self.known_keys(&settings, CLASS_KEYS, &path)?;
                builder = builder.class(class, self.ok(read_class(&settings, start, &path))?);
            }
        }
        if let Some(breaker) = top.get("breaker") {
            let map = self.ok(as_map(breaker, &["breaker"]))?;
            self.known_keys(&map, BREAKER_KEYS, &["breaker"])?;
            if let Some(ramp) = map.get("ramp").filter(|r| !r.is_unit()) {
                let ramp = self.ok(as_map(ramp, &["breaker", "ramp"]))?;
                self.known_keys(&ramp, RAMP_KEYS, &["breaker", "ramp"])?;
            }
            builder = builder.breaker(self.ok(read_breaker(&map))?);
        }
        if let Some(rate) = top.get("rate_limit").filter(|r| !r.is_unit()) {
            let map = self.ok(as_map(rate, &["rate_limit"]))?;
            self.known_keys(&map, RATE_KEYS, &["rate_limit"])?;
            builder = builder.rate_limit(Some(self.ok(read_rate_limit(&map))?));
        }
        if let Some(fallback) = top.get("fallback_class") {
            let path = ["fallback_class"];
            let name = self.ok(as_string(fallback, &path))?;
            let class = self.ok(ErrorClass::new(&name).map_err(|e| wrong(&path, e.to_string())))?;
            builder = builder.fallback_class(class);
        }
        Ok(builder.build_unchecked())
    }

    fn known_keys(&self, map: &Map, known: &[&str], path: &[&str]) -> Result<()> {
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                let mut full = path.to_vec();
                full.push(key.as_str());
                return Err(PolicyError::UnknownKey {
                    at: self.location(&full),
                    key: display_path(&full),
                    suggestion: nearest(key, known),
                });
            }
        }
        Ok(())
    }

    /// A class name; a near miss of a built-in name (`transeint`) is taken for a typo,
    /// not a new class, because a new class would silently get default settings.
    fn class_name(&self, name: &str) -> Result<ErrorClass> {
        let class = ErrorClass::new(name).map_err(|e| PolicyError::InvalidValue {
            at: self.location(&["classes", name]),
            key: format!("classes.{name}"),
            message: e.to_string(),
        })?;
        if class.known().is_none()
            && let Some(builtin) = nearest(name, BUILTIN_CLASS_NAMES)
        {
            return Err(PolicyError::UnknownKey {
                at: self.location(&["classes", name]),
                key: format!("classes.{name}"),
                suggestion: Some(builtin),
            });
        }
        Ok(class)
    }
}

/// A script value's type in the words of the script contract.
pub(crate) fn kind(value: &Dynamic) -> &'static str {
    if value.is_int() {
        "an integer"
    } else if value.is_float() {
        "a float"
    } else if value.is_string() {
        "a string"
    } else if value.is_bool() {
        "a boolean"
    } else if value.is_map() {
        "a map"
    } else if value.is_array() {
        "an array"
    } else if value.is_unit() {
        "()"
    } else if value.is_char() {
        "a character"
    } else {
        "a value of another type"
    }
}

fn display_path(path: &[&str]) -> String {
    if path.is_empty() {
        "(script)".to_string()
    } else {
        path.join(".")
    }
}

fn read_class(map: &Map, start: ClassPolicy, path: &[&str]) -> Read<ClassPolicy> {
    let at = |key: &'static str| [path, &[key]].concat();
    let mut class = start;
    if let Some(v) = map.get("base") {
        class.base = as_duration(v, &at("base"))?;
    }
    if let Some(v) = map.get("cap") {
        class.cap = as_duration(v, &at("cap"))?;
    }
    if let Some(v) = map.get("max_retries") {
        class.max_retries = as_count(v, &at("max_retries"), &defaults::MAX_RETRIES)?;
    }
    if let Some(v) = map.get("jitter") {
        class.jitter = as_number(v, &at("jitter"))?;
    }
    if let Some(v) = map.get("breaker") {
        class.counts_toward_breaker = as_bool(v, &at("breaker"))?;
    }
    Ok(class)
}

fn read_breaker(map: &Map) -> Read<BreakerSettings> {
    let mut breaker = defaults::BREAKER;
    if let Some(v) = map.get("failure_threshold") {
        breaker.failure_threshold = as_count(
            v,
            &["breaker", "failure_threshold"],
            &defaults::FAILURE_THRESHOLD,
        )?;
    }
    if let Some(v) = map.get("recovery_timeout") {
        breaker.recovery_timeout = as_duration(v, &["breaker", "recovery_timeout"])?;
    }
    if let Some(v) = map.get("half_open_probes") {
        breaker.half_open_probes = as_count(
            v,
            &["breaker", "half_open_probes"],
            &defaults::HALF_OPEN_PROBES,
        )?;
    }
    if let Some(v) = map.get("successes_to_close") {
        breaker.successes_to_close = as_count(
            v,
            &["breaker", "successes_to_close"],
            &defaults::SUCCESSES_TO_CLOSE,
        )?;
    }
    if let Some(v) = map.get("ramp") {
        breaker.ramp = if v.is_unit() {
            None
        } else {
            let ramp = as_map(v, &["breaker", "ramp"])?;
            let key = |k: &'static str| ["breaker", "ramp", k];
            let required = |k: &'static str| {
                ramp.get(k).ok_or_else(|| {
                    wrong(
                        &key(k),
                        "a ramp needs start_rate_per_sec, end_rate_per_sec and duration",
                    )
                })
            };
            Some(RecoveryRamp {
                start_rate_per_sec: as_number(
                    required("start_rate_per_sec")?,
                    &key("start_rate_per_sec"),
                )?,
                end_rate_per_sec: as_number(
                    required("end_rate_per_sec")?,
                    &key("end_rate_per_sec"),
                )?,
                duration: as_duration(required("duration")?, &key("duration"))?,
            })
        };
    }
    Ok(breaker)
}

/// `rate_limit: #{ per_second: 5.0, burst: 1 }`; `burst` defaults to
/// [`defaults::DEFAULT_RATE_BURST`]. Bounds are checked with the rest of the policy.
fn read_rate_limit(map: &Map) -> Read<RateLimit> {
    let per_second = map.get("per_second").ok_or_else(|| {
        wrong(
            &["rate_limit", "per_second"],
            "a rate limit needs per_second (and optionally burst)",
        )
    })?;
    let burst = match map.get("burst") {
        Some(v) => as_count(v, &["rate_limit", "burst"], &defaults::RATE_BURST)?,
        None => defaults::DEFAULT_RATE_BURST,
    };
    Ok(RateLimit {
        per_second: as_number(per_second, &["rate_limit", "per_second"])?,
        burst,
    })
}

fn as_map(value: &Dynamic, path: &[&str]) -> Read<Map> {
    value.read_lock::<Map>().map(|m| m.clone()).ok_or_else(|| {
        wrong(
            path,
            format!("expected a map `#{{ ... }}`, found {}", kind(value)),
        )
    })
}

fn as_string(value: &Dynamic, path: &[&str]) -> Read<String> {
    value
        .clone()
        .into_string()
        .map_err(|_| wrong(path, format!("expected a string, found {}", kind(value))))
}

/// A duration: a string such as `"5s"`, or integer milliseconds. Floats are refused.
fn as_duration(value: &Dynamic, path: &[&str]) -> Read<Duration> {
    if let Ok(ms) = value.as_int() {
        return duration::from_millis(ms).map_err(|m| wrong(path, m));
    }
    if let Ok(f) = value.as_float() {
        return Err(wrong(
            path,
            format!(
                "{f} is a float; write durations as strings such as \"5s\" or \"250ms\", \
                 or as integer milliseconds"
            ),
        ));
    }
    match value.clone().into_string() {
        Ok(text) => duration::parse(&text).map_err(|m| wrong(path, m)),
        Err(_) => Err(wrong(
            path,
            format!(
                "expected a duration such as \"5s\" or integer milliseconds, found {}",
                kind(value)
            ),
        )),
    }
}

/// A whole number within `bounds`.
fn as_count(value: &Dynamic, path: &[&str], bounds: &defaults::Bounds<u32>) -> Read<u32> {
    if let Ok(n) = value.as_int() {
        return u32::try_from(n)
            .ok()
            .filter(|n| bounds.contains(*n))
            .ok_or_else(|| wrong(path, format!("{n} is outside the bounds {bounds}")));
    }
    Err(wrong(
        path,
        format!("found {}; it must be a whole number", kind(value)),
    ))
}

/// A number; integers are accepted where a fraction is expected (`jitter: 1`).
fn as_number(value: &Dynamic, path: &[&str]) -> Read<f64> {
    if let Ok(f) = value.as_float() {
        return Ok(f);
    }
    if let Ok(n) = value.as_int() {
        return Ok(n as f64);
    }
    Err(wrong(
        path,
        format!("expected a number, found {}", kind(value)),
    ))
}

fn as_bool(value: &Dynamic, path: &[&str]) -> Read<bool> {
    value.as_bool().map_err(|_| {
        wrong(
            path,
            format!("expected true or false, found {}", kind(value)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_keys_only() {
        assert_eq!(
            nearest("max_retry", CLASS_KEYS).as_deref(),
            Some("max_retries")
        );
        assert_eq!(nearest("jiter", CLASS_KEYS).as_deref(), Some("jitter"));
        assert_eq!(nearest("colour", CLASS_KEYS), None);
        assert_eq!(
            nearest("transeint", BUILTIN_CLASS_NAMES).as_deref(),
            Some("transient")
        );
        assert_eq!(nearest("rate_limited", BUILTIN_CLASS_NAMES), None);
    }
}
