//! `POST /v1/policy/check`: a draft policy script compiled, run and checked exactly as a
//! hot reload would (the same sandbox and limits), and never applied. The answer says
//! what is wrong, with line and column, or what the draft would do.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use serde::{Deserialize, Serialize};
use tenax_policies::{BreakerSettings, CompiledPolicy, RateLimit};
use tokio::sync::Semaphore;

use super::curves::{self, ClassView, Shape};
use crate::api::body;
use crate::api::error::{ApiError, ErrorBody};

/// Longest draft accepted, in bytes: 256 KiB.
pub(crate) const MAX_SCRIPT: usize = 256 * 1024;
/// The name a draft's errors carry where a file name would be.
const ORIGIN: &str = "draft";

/// Checks running at once: each may take the sandbox's load time limit and the curves'
/// time budget; more requests wait their turn.
static CHECKS: Semaphore = Semaphore::const_new(2);

/// A draft to check.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckRequest {
    /// The script's text, at most 256 KiB.
    script: String,
}

/// A problem in the draft.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ScriptError {
    /// What is wrong (without the position).
    message: String,
    /// 1-based line, when the error has a position.
    line: Option<usize>,
    /// 1-based column, when the error has a position.
    column: Option<usize>,
}

/// The check's report.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CheckAnswer {
    /// Whether the draft would load (a reload would install it).
    ok: bool,
    /// Why it would be rejected (empty when `ok`).
    errors: Vec<ScriptError>,
    /// What loads but is likely a mistake.
    warnings: Vec<String>,
    /// When `ok`: each class with its values and retry curve, as `GET /v1/policy`.
    classes: BTreeMap<String, ClassView>,
    /// When `ok`: the class for undeclared classes.
    fallback_class: Option<String>,
    /// When `ok`: the breaker settings.
    #[schema(value_type = Option<Object>)]
    breaker: Option<BreakerSettings>,
    /// When `ok`: the steady rate limit, if the draft sets one.
    #[schema(value_type = Option<Object>)]
    rate_limit: Option<RateLimit>,
}

/// Check a draft policy script in the sandbox without applying it.
#[utoipa::path(post, path = "/v1/policy/check", tag = "inspect",
    request_body = CheckRequest,
    responses(
        (status = 200, description = "The report: `ok`, or the errors with their lines", body = CheckAnswer),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Not a `{\"script\": ...}` object, or a script over 256 KiB", body = ErrorBody),
    ))]
pub(crate) async fn check(
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CheckAnswer>, ApiError> {
    let request: CheckRequest = body::object(body)?;
    if request.script.len() > MAX_SCRIPT {
        return Err(ApiError::unprocessable(
            "invalid_request",
            format!(
                "`script` is {} bytes; a policy script is at most {MAX_SCRIPT}",
                request.script.len()
            ),
        ));
    }
    let _turn = CHECKS.acquire().await.map_err(|_| internal("closed"))?;
    tokio::task::spawn_blocking(move || answer(&request.script))
        .await
        .map(Json)
        .map_err(|e| internal(&e.to_string()))
}

fn internal(why: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        format!("the check did not run: {why}"),
    )
}

/// The report on `script`.
pub(crate) fn answer(script: &str) -> CheckAnswer {
    let compiled = match CompiledPolicy::load_str(script, ORIGIN) {
        Ok(compiled) => compiled,
        Err(err) => {
            let at = err.location().cloned();
            let text = err.to_string();
            let message = at
                .as_ref()
                .and_then(|at| text.strip_prefix(&format!("{at}: ")))
                .unwrap_or(&text)
                .to_owned();
            return CheckAnswer {
                ok: false,
                errors: vec![ScriptError {
                    message,
                    line: at.as_ref().and_then(|a| a.line),
                    column: at.as_ref().and_then(|a| a.column),
                }],
                warnings: Vec::new(),
                classes: BTreeMap::new(),
                fallback_class: None,
                breaker: None,
                rate_limit: None,
            };
        }
    };
    let shape = Shape::of(&compiled, Instant::now() + curves::TIME_BUDGET);
    let warnings = warnings(&shape);
    let policy = compiled.policy();
    CheckAnswer {
        ok: true,
        errors: Vec::new(),
        warnings,
        classes: shape.classes().clone(),
        fallback_class: Some(policy.fallback_class().as_str().to_owned()),
        breaker: Some(*policy.breaker()),
        rate_limit: policy.rate_limit(),
    }
}

/// What loads but is likely not what the author meant.
fn warnings(shape: &Shape) -> Vec<String> {
    let mut out = Vec::new();
    for (name, class) in shape.classes() {
        if class.retries_in_lockstep() {
            out.push(format!(
                "class `{name}` has no jitter but counts toward the breaker: after an outage its \
                 jobs all retry at the same moment"
            ));
        }
        if let Some(attempt) = class.script_ends_early() {
            out.push(format!(
                "class `{name}`: the script's `delay` buries jobs at failed attempt {attempt}, \
                 before its max_retries"
            ));
        }
        if class.truncated() {
            out.push(format!(
                "class `{name}`: only the first retries are shown (too many, or the script's \
                 `delay` is slow)"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_comes_back_with_its_line() {
        let report = answer("#{\n  classes: #{\n    transient: #{ base: \"5s\" \n  }\n");
        assert!(!report.ok);
        assert_eq!(report.errors.len(), 1);
        assert!(
            report.errors[0].line.is_some(),
            "{}",
            report.errors[0].message
        );
        assert!(!report.errors[0].message.starts_with("draft:"));
    }

    #[test]
    fn a_good_draft_gets_its_curves_and_warnings() {
        let report = answer("#{ classes: #{ transient: #{ jitter: 0.0 } } }");
        assert!(report.ok, "{:?}", report.errors.first().map(|e| &e.message));
        assert!(report.classes.contains_key("transient"));
        assert!(report.warnings.iter().any(|w| w.contains("no jitter")));
    }
}
