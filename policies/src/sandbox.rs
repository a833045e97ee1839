//! The Rhai engine policy scripts run in, and what it refuses to do.
//!
//! `Engine::new()` is not a sandbox: it loads `import`ed modules from disk, has `eval`
//! and a blocking `sleep`. This engine resolves no modules, disables `eval`, replaces
//! `sleep` with an error, routes `print`/`debug` into tracing, and limits operations,
//! call depth, expression depth, string and collection sizes and wall-clock time. Rhai
//! has no file, network or process functions to begin with. `unchecked` stays off, so
//! every limit is enforced.
//!
//! Rhai checks an indexed assignment (`m[k] = v`, `a[i] = v`) against the size limits
//! only for the new element, so a map could grow past its limit, or an array fill with
//! large strings, until the operation or time limit stops the script hundreds of
//! megabytes later. Every such assignment first looks up its root variable, so the
//! variable hook below checks the whole value of each variable read: a container
//! outgrows the limits by at most one element before the script is stopped. `this`, the
//! one way to a value without a variable lookup, is disabled. Closures are compiled out
//! (`no_closure`), so no variable is ever shared or locked.
//!
//! Rhai checks what a built-in function returns only after it has run, so a function
//! whose result can be far larger than its inputs is replaced: `replace` with a string
//! substitute (matches times substitute, each at the size limit, is the limit squared:
//! 4 GiB with the old 64 KiB limit) checks the size first. What remains (`map` over a
//! full array, say) is bounded by the limits below: 1,000 results of at most 16 KiB.

use std::{
    cell::Cell,
    sync::LazyLock,
    time::{Duration, Instant},
};

use rhai::{
    Dynamic, Engine, EvalAltResult, INT, ImmutableString, ParseError,
    module_resolvers::DummyModuleResolver,
};

use crate::Location;

/// Operations one evaluation may run (the top level, or one function call).
pub(crate) const MAX_OPERATIONS: u64 = 100_000;
/// Nested function calls.
pub(crate) const MAX_CALL_LEVELS: usize = 32;
/// Expression nesting at the top level and inside functions.
pub(crate) const MAX_EXPR_DEPTH: usize = 64;
pub(crate) const MAX_FN_EXPR_DEPTH: usize = 32;
/// Bytes in one string (and in all strings of one array or map together).
pub(crate) const MAX_STRING_SIZE: usize = 16 * 1024;
/// Elements in one array (nested arrays count).
pub(crate) const MAX_ARRAY_SIZE: usize = 1_000;
/// Entries in one object map (nested maps count).
pub(crate) const MAX_MAP_SIZE: usize = 1_000;
/// Wall-clock time for loading a script: the top level plus every sample call.
pub(crate) const LOAD_TIME_LIMIT: Duration = Duration::from_secs(2);
/// Wall-clock time for one function call while deciding.
pub(crate) const CALL_TIME_LIMIT: Duration = Duration::from_millis(50);

thread_local! {
    /// The deadline of the evaluation running on this thread, if any. Thread-local
    /// because the engine is shared and evaluations on other threads have their own.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The one shared engine; with rhai's `sync` feature it is `Send + Sync`.
pub(crate) fn engine() -> &'static Engine {
    static ENGINE: LazyLock<Engine> = LazyLock::new(build);
    &ENGINE
}

// NOTE: rhai marks `on_var` deprecated only to say its signature may change.
#[allow(deprecated)]
fn build() -> Engine {
    let mut engine = Engine::new();
    engine
        .set_module_resolver(DummyModuleResolver::new())
        .set_max_modules(0)
        .disable_symbol("eval")
        // `this` in a method-style call reaches its object without a variable lookup,
        // where the size check below cannot see it; policies have no use for it.
        .disable_symbol("this")
        .set_max_operations(MAX_OPERATIONS)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_expr_depths(MAX_EXPR_DEPTH, MAX_FN_EXPR_DEPTH)
        .set_max_string_size(MAX_STRING_SIZE)
        .set_max_array_size(MAX_ARRAY_SIZE)
        .set_max_map_size(MAX_MAP_SIZE)
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(true)
        .on_var(|name, _index, context| {
            if let Some(value) = context.scope().get(name) {
                context.engine().ensure_data_size_within_limits(value)?;
            }
            Ok(None)
        })
        .on_print(|text| tracing::info!(target: "tenax_policies::script", "{text}"))
        .on_debug(|text, _source, pos| {
            tracing::debug!(target: "tenax_policies::script", position = %pos, "{text}");
        })
        .on_progress(|operations| {
            // Reading the clock every operation would dominate short calls.
            if operations % 256 != 0 {
                return None;
            }
            let expired = DEADLINE.with(|d| d.get().is_some_and(|t| Instant::now() >= t));
            expired.then(|| Dynamic::from("time limit"))
        });
    // The standard library's `sleep` blocks the thread, where no limit can see it.
    // Functions registered on the engine shadow the packages.
    engine.register_fn("sleep", |_: INT| -> Result<(), Box<EvalAltResult>> {
        Err("sleep is not available in policy scripts".into())
    });
    engine.register_fn("sleep", |_: f64| -> Result<(), Box<EvalAltResult>> {
        Err("sleep is not available in policy scripts".into())
    });
    engine.register_fn(
        "replace",
        |text: &mut ImmutableString, find: &str, with: &str| replace(text, find, with),
    );
    engine.register_fn(
        "replace",
        |text: &mut ImmutableString, find: char, with: &str| {
            replace(text, find.encode_utf8(&mut [0; 4]), with)
        },
    );
    engine
}

/// `text.replace(find, with)`, refused before it builds a string over the size limit.
fn replace(text: &mut ImmutableString, find: &str, with: &str) -> Result<(), Box<EvalAltResult>> {
    let matches = text.matches(find).count();
    let size =
        (text.len() - matches * find.len()).saturating_add(matches.saturating_mul(with.len()));
    if size > MAX_STRING_SIZE {
        // Named apart from rhai's own after-the-fact check, so a test can tell them apart.
        return Err(EvalAltResult::ErrorDataTooLarge(
            "The result of `replace`".to_string(),
            rhai::Position::NONE,
        )
        .into());
    }
    *text = text.replace(find, with).into();
    Ok(())
}

/// Runs `f` with a wall-clock deadline `limit` from now (or the deadline already in force
/// on this thread, if that is sooner).
pub(crate) fn with_time_limit<R>(limit: Duration, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            DEADLINE.with(|d| d.set(self.0));
        }
    }
    let mine = Instant::now() + limit;
    let previous = DEADLINE.with(|d| d.get());
    let _restore = Restore(previous);
    let effective = previous.map_or(mine, |p| p.min(mine));
    DEADLINE.with(|d| d.set(Some(effective)));
    f()
}

/// The location and an operator-friendly message of a runtime error. The innermost
/// error carries the useful position (inside the function that failed).
pub(crate) fn describe_runtime(origin: &str, err: &EvalAltResult) -> (Location, String) {
    let inner = err.unwrap_inner();
    let pos = if inner.position().is_none() {
        err.position()
    } else {
        inner.position()
    };
    let at = match (pos.line(), pos.position()) {
        (Some(line), Some(column)) => Location::at(origin, line, column),
        (Some(line), None) => Location {
            line: Some(line),
            ..Location::whole(origin)
        },
        _ => Location::whole(origin),
    };
    let message = match inner {
        EvalAltResult::ErrorTooManyOperations(_) => {
            format!("the script ran more than {MAX_OPERATIONS} operations (an endless loop?)")
        }
        EvalAltResult::ErrorStackOverflow(_) => {
            format!("calls nested deeper than {MAX_CALL_LEVELS} levels (endless recursion?)")
        }
        EvalAltResult::ErrorTerminated(..) => "the script ran past its time limit".to_string(),
        EvalAltResult::ErrorDataTooLarge(what, _) => format!(
            "{what} is too large for the sandbox (strings up to {MAX_STRING_SIZE} bytes, \
             arrays up to {MAX_ARRAY_SIZE} items, maps up to {MAX_MAP_SIZE} entries)"
        ),
        EvalAltResult::ErrorModuleNotFound(name, _) => {
            format!("`import \"{name}\"`: policy scripts cannot import modules")
        }
        EvalAltResult::ErrorTooManyModules(_) => "policy scripts cannot import modules".to_string(),
        other => {
            // The position is reported separately; drop rhai's " (line 3, position 5)".
            let text = other.to_string();
            let suffix = format!(" ({})", other.position());
            text.strip_suffix(&suffix).unwrap_or(&text).to_string()
        }
    };
    (at, message)
}

/// The location and message of a parse error.
pub(crate) fn describe_parse(origin: &str, err: &ParseError) -> (Location, String) {
    let at = match (err.1.line(), err.1.position()) {
        (Some(line), Some(column)) => Location::at(origin, line, column),
        (Some(line), None) => Location {
            line: Some(line),
            ..Location::whole(origin)
        },
        _ => Location::whole(origin),
    };
    (at, err.0.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_refuses_before_building_an_oversized_string() {
        let mut text = ImmutableString::from("a".repeat(MAX_STRING_SIZE));
        let with = "b".repeat(MAX_STRING_SIZE);
        assert!(replace(&mut text, "a", &with).is_err());
        assert_eq!(text.len(), MAX_STRING_SIZE, "left as it was");
        // An empty pattern matches at every boundary, as in Rust.
        let mut short = ImmutableString::from("ab");
        replace(&mut short, "", "-").expect("small");
        assert_eq!(short.as_str(), "-a-b-");
    }

    #[test]
    fn scripts_get_the_checked_replace() {
        let engine = engine();
        let out: String = engine
            .eval(r#"let s = "a-b-c"; s.replace("-", "+-+"); s.replace('b', "B"); s"#)
            .expect("runs");
        assert_eq!(out, "a+-+B+-+c");
    }
}
