//! A loaded policy: the checked [`Policy`] plus the script's functions, if any.

use std::{fmt, path::Path};

use rhai::Dynamic;

use crate::{
    ClassifyInput, Decision, ErrorClass, Failure, Policy, PolicyError, Result,
    decide::BuryReason,
    hash,
    reader::Reader,
    samples, sandbox,
    script::{Functions, Verdict},
};

/// A policy ready to decide: settings checked against [`crate::defaults`], and the
/// script's `delay` and `classify` functions compiled once and tried on sample inputs.
///
/// Share it behind an `Arc` (or a [`LivePolicy`](crate::LivePolicy)); it is `Send + Sync`.
pub struct CompiledPolicy {
    policy: Policy,
    functions: Option<Functions>,
    origin: String,
    fingerprint: String,
}

impl CompiledPolicy {
    /// Compiles, runs and checks a policy script; `origin` names it in errors (usually
    /// the file name).
    pub fn load_str(source: &str, origin: &str) -> Result<Self> {
        let engine = sandbox::engine();
        let mut ast = engine.compile(source).map_err(|err| {
            let (at, message) = sandbox::describe_parse(origin, &err);
            PolicyError::Syntax { at, message }
        })?;
        let value = sandbox::with_time_limit(sandbox::LOAD_TIME_LIMIT, || {
            engine.eval_ast::<Dynamic>(&ast)
        })
        .map_err(|err| {
            let (at, message) = sandbox::describe_runtime(origin, &err);
            PolicyError::Runtime { at, message }
        })?;
        let policy = Reader { origin, source }.policy(value)?;
        // Only the functions are needed from here on.
        ast.clear_statements();
        let functions = Functions::new(ast, origin, source)?;
        let functions = (functions.has_delay() || functions.has_classify()).then_some(functions);
        if let Some(functions) = &functions {
            samples::check(&policy, functions)?;
        }
        Ok(CompiledPolicy {
            policy,
            functions,
            origin: origin.to_string(),
            fingerprint: hash::fingerprint(source.as_bytes()),
        })
    }

    /// Reads and loads a policy file; errors name the file as given.
    pub fn load_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::load_str(&source, &path.display().to_string())
    }

    /// A policy without a script (for example the defaults, or one built in Rust).
    pub fn from_policy(policy: Policy) -> Self {
        CompiledPolicy {
            policy,
            functions: None,
            origin: "built-in".to_string(),
            fingerprint: "built-in".to_string(),
        }
    }

    /// The checked settings.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Where the policy came from: the file name or origin given at load time.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// A fingerprint of the script source (16 hex digits), to tell versions apart;
    /// `built-in` for a policy made in Rust.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether the script defines `delay`.
    pub fn has_delay_fn(&self) -> bool {
        self.functions.as_ref().is_some_and(Functions::has_delay)
    }

    /// Whether the script defines `classify`.
    pub fn has_classify_fn(&self) -> bool {
        self.functions.as_ref().is_some_and(Functions::has_classify)
    }

    /// Decides what to do after `failure` (see [`Policy::decide`]), then lets the
    /// script's `delay` function, if any, change the delay or say `"dead"`.
    ///
    /// The script is consulted only for a retry the policy allows: it can shorten or
    /// lengthen the wait (within [`crate::defaults::SCRIPT_DELAY`]) or end the job, but
    /// cannot grant retries beyond `max_retries`. If the function fails at run time (an
    /// error, a limit, a bad value for an input the load-time samples did not cover),
    /// the policy's own decision stands and a warning is logged: a script bug must not
    /// stop deliveries or lose jobs.
    pub fn decide(&self, failure: &Failure<'_>, draw: f64) -> Decision {
        let decision = self.policy.decide(failure, draw);
        let (Decision::Retry { delay }, Some(functions)) = (decision, &self.functions) else {
            return decision;
        };
        if !functions.has_delay() {
            return decision;
        }
        match sandbox::with_time_limit(sandbox::CALL_TIME_LIMIT, || functions.delay(failure, delay))
        {
            Ok(Verdict::After(delay)) => Decision::Retry { delay },
            Ok(Verdict::Dead) => Decision::Bury {
                reason: BuryReason::ScriptSaidDead,
            },
            Err(err) => {
                tracing::warn!(
                    at = %err.at,
                    class = %failure.class,
                    attempt = failure.attempt,
                    "policy script `delay` failed ({}); using the policy's own delay",
                    err.message
                );
                decision
            }
        }
    }

    /// The script's classification of a failure: `None` when the script has no
    /// `classify` function, returned `()` (use the built-in table), or failed at run time
    /// (logged as a warning).
    pub fn classify(&self, input: &ClassifyInput<'_>) -> Option<ErrorClass> {
        let functions = self.functions.as_ref().filter(|f| f.has_classify())?;
        match sandbox::with_time_limit(sandbox::CALL_TIME_LIMIT, || {
            functions.classify(&self.policy, input)
        }) {
            Ok(class) => class,
            Err(err) => {
                tracing::warn!(
                    at = %err.at,
                    cause = ?input.cause,
                    "policy script `classify` failed ({}); using the built-in table",
                    err.message
                );
                None
            }
        }
    }

    /// The full classification: `None` for success (2xx), else the script's answer or,
    /// failing that, the built-in table ([`crate::Cause::default_class`]).
    pub fn classify_or_default(&self, input: &ClassifyInput<'_>) -> Option<ErrorClass> {
        let default = input.cause.default_class()?;
        Some(self.classify(input).unwrap_or(default))
    }

    /// Whether a failure of `class` counts toward opening the circuit breaker.
    pub fn counts_toward_breaker(&self, class: &ErrorClass) -> bool {
        self.policy.counts_toward_breaker(class)
    }
}

impl Default for CompiledPolicy {
    /// The Rust defaults, without a script.
    fn default() -> Self {
        CompiledPolicy::from_policy(Policy::default())
    }
}

impl fmt::Debug for CompiledPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledPolicy")
            .field("origin", &self.origin)
            .field("fingerprint", &self.fingerprint)
            .field("has_delay_fn", &self.has_delay_fn())
            .field("has_classify_fn", &self.has_classify_fn())
            .field("policy", &self.policy)
            .finish()
    }
}
