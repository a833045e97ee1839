//! Calling a script's `delay` and `classify` functions, and checking what they return.
//!
//! Functions are called with `eval_ast(false)`: the script's top level (the policy map)
//! ran once at load time and does not run again per call. Functions therefore see only
//! their arguments, never top-level variables.

use std::time::Duration;

use rhai::{AST, CallFnOptions, Dynamic, ImmutableString, Map, Scope};

use crate::{
    Cause, ClassifyInput, ErrorClass, Failure, Location, Policy, PolicyError, Result, defaults,
    duration, locate::locate, reader::kind, sandbox,
};

/// What a `delay` function decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    After(Duration),
    Dead,
}

/// A function call that failed or returned something unusable.
#[derive(Debug)]
pub(crate) struct CallError {
    pub(crate) at: Location,
    pub(crate) message: String,
}

/// The compiled script and which of the known functions it defines.
pub(crate) struct Functions {
    ast: AST,
    origin: String,
    has_delay: bool,
    has_classify: bool,
    /// Where each function is defined, for errors about what it returned.
    delay_at: Location,
    classify_at: Location,
}

impl Functions {
    /// Checks the signatures of `delay` and `classify`, if present.
    pub(crate) fn new(ast: AST, origin: &str, source: &str) -> Result<Self> {
        let mut has_delay = false;
        let mut has_classify = false;
        let defined_at = |name: &str| match locate(source, &["fn", name]) {
            Some((line, column)) => Location::at(origin, line, column),
            None => Location::whole(origin),
        };
        for f in ast.iter_functions() {
            let (wanted, shape) = match f.name {
                "delay" => (4, "delay(class, attempt, delay_ms, error)"),
                "classify" => (1, "classify(input)"),
                _ => continue,
            };
            if f.params.len() != wanted {
                return Err(PolicyError::BadFunction {
                    at: defined_at(f.name),
                    function: if f.name == "delay" {
                        "delay"
                    } else {
                        "classify"
                    },
                    input: "its definition".to_string(),
                    message: format!(
                        "takes {} parameters; it must be `fn {shape}`",
                        f.params.len()
                    ),
                });
            }
            has_delay |= f.name == "delay";
            has_classify |= f.name == "classify";
        }
        Ok(Functions {
            ast,
            origin: origin.to_string(),
            has_delay,
            has_classify,
            delay_at: defined_at("delay"),
            classify_at: defined_at("classify"),
        })
    }

    pub(crate) fn has_delay(&self) -> bool {
        self.has_delay
    }

    pub(crate) fn has_classify(&self) -> bool {
        self.has_classify
    }

    fn call(
        &self,
        name: &str,
        args: impl rhai::FuncArgs,
    ) -> std::result::Result<Dynamic, CallError> {
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
        sandbox::engine()
            .call_fn_with_options::<Dynamic>(options, &mut Scope::new(), &self.ast, name, args)
            .map_err(|err| {
                let (at, message) = sandbox::describe_runtime(&self.origin, &err);
                CallError {
                    at,
                    message: format!("failed: {message}"),
                }
            })
    }

    fn bad_value(at: &Location, message: String) -> CallError {
        CallError {
            at: at.clone(),
            message,
        }
    }

    /// Calls `delay(class, attempt, delay_ms, error)`; `computed` is the delay the policy
    /// chose (jitter and `Retry-After` included).
    pub(crate) fn delay(
        &self,
        failure: &Failure<'_>,
        computed: Duration,
    ) -> std::result::Result<Verdict, CallError> {
        let mut error = Map::new();
        error.insert("message".into(), failure.message.into());
        error.insert(
            "status".into(),
            failure
                .status
                .map_or(Dynamic::UNIT, |s| Dynamic::from_int(s.into())),
        );
        error.insert(
            "retry_after_ms".into(),
            failure.retry_after.map_or(Dynamic::UNIT, |d| {
                Dynamic::from_int(duration::to_millis_i64(d))
            }),
        );
        let args = (
            ImmutableString::from(failure.class.as_str()),
            i64::from(failure.attempt.max(1)),
            duration::to_millis_i64(computed),
            error,
        );
        let value = self.call("delay", args)?;
        self.verdict(value)
    }

    fn verdict(&self, value: Dynamic) -> std::result::Result<Verdict, CallError> {
        let bounds = defaults::SCRIPT_DELAY;
        let delay = if let Ok(ms) = value.as_int() {
            duration::from_millis(ms).map_err(|m| {
                Self::bad_value(&self.delay_at, format!("returned a bad delay: {m}"))
            })?
        } else if let Some(text) = value.read_lock::<ImmutableString>() {
            if text.as_str() == "dead" {
                return Ok(Verdict::Dead);
            }
            duration::parse(&text).map_err(|m| {
                Self::bad_value(
                    &self.delay_at,
                    format!("returned a bad delay: {m}, or \"dead\""),
                )
            })?
        } else {
            let found = if value.is_float() {
                format!("the float {value}")
            } else {
                kind(&value).to_string()
            };
            return Err(Self::bad_value(
                &self.delay_at,
                format!(
                    "returned {found}; return integer milliseconds, a duration string such as \"30s\", or \"dead\""
                ),
            ));
        };
        if !bounds.contains(delay) {
            return Err(Self::bad_value(
                &self.delay_at,
                format!(
                    "returned {}, outside the bounds {bounds}",
                    duration::format(delay)
                ),
            ));
        }
        Ok(Verdict::After(delay))
    }

    /// Calls `classify(input)`; `()` means "use the built-in table". A returned class must
    /// be declared by `policy`.
    pub(crate) fn classify(
        &self,
        policy: &Policy,
        input: &ClassifyInput<'_>,
    ) -> std::result::Result<Option<ErrorClass>, CallError> {
        let mut map = Map::new();
        let (status, network) = match input.cause {
            Cause::Status(s) => (Dynamic::from_int(s.into()), Dynamic::UNIT),
            Cause::Network(kind) => (
                Dynamic::UNIT,
                Dynamic::from(ImmutableString::from(kind.as_str())),
            ),
        };
        map.insert("status".into(), status);
        map.insert("network".into(), network);
        map.insert("message".into(), input.message.into());
        let value = self.call("classify", (map,))?;
        if value.is_unit() {
            return Ok(None);
        }
        let Some(name) = value.read_lock::<ImmutableString>().map(|s| s.to_string()) else {
            return Err(Self::bad_value(
                &self.classify_at,
                format!(
                    "returned {}; return a class name such as \"transient\", or () for the built-in table",
                    kind(&value)
                ),
            ));
        };
        let class = ErrorClass::new(&name).map_err(|e| {
            Self::bad_value(&self.classify_at, format!("returned a bad class name: {e}"))
        })?;
        if !policy.declares(&class) {
            return Err(Self::bad_value(
                &self.classify_at,
                format!(
                    "returned the class `{class}`, which the policy does not declare (add it under `classes`)"
                ),
            ));
        }
        Ok(Some(class))
    }
}
