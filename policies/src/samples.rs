//! Trying a script's functions on sample inputs at load time.
//!
//! A function that fails or returns nonsense must be caught when the operator saves the
//! file, not at 3 a.m. on the first job that reaches it. So every function is called on
//! a table of inputs: `classify` on every non-2xx status from 100 to 599 and every
//! network failure kind; `delay` on every class and attempt (the first 100 and the last
//! 10 of a larger budget), with and without a status and a `Retry-After` hint, at both
//! ends of the jitter range. All of it runs within one wall-clock limit.

use std::time::Duration;

use crate::{
    ClassifyInput, Decision, Failure, NetworkFailure, Policy, PolicyError, Result, sandbox,
    script::{CallError, Functions},
};

/// Calls every function the script defines on the sample inputs.
pub(crate) fn check(policy: &Policy, functions: &Functions) -> Result<()> {
    sandbox::with_time_limit(sandbox::LOAD_TIME_LIMIT, || {
        if functions.has_classify() {
            check_classify(policy, functions)?;
        }
        if functions.has_delay() {
            check_delay(policy, functions)?;
        }
        Ok(())
    })
}

fn rejected(function: &'static str, input: String, err: CallError) -> PolicyError {
    PolicyError::BadFunction {
        at: err.at,
        function,
        input,
        message: err.message,
    }
}

fn check_classify(policy: &Policy, functions: &Functions) -> Result<()> {
    let statuses = (100..=599u16)
        .filter(|s| !(200..=299).contains(s))
        .map(|s| {
            (
                ClassifyInput::status(s, "sample failure"),
                format!("status {s}"),
            )
        });
    let network = NetworkFailure::ALL.into_iter().map(|kind| {
        (
            ClassifyInput::network(kind, "sample failure"),
            format!("network failure {}", kind.as_str()),
        )
    });
    for (input, described) in statuses.chain(network) {
        functions
            .classify(policy, &input)
            .map_err(|e| rejected("classify", described, e))?;
    }
    Ok(())
}

/// Attempts worth trying for a budget: all of a small one; the start and end of a large one.
fn sample_attempts(max_retries: u32) -> impl Iterator<Item = u32> {
    const HEAD: u32 = 100;
    const TAIL: u32 = 10;
    let head = 1..=max_retries.min(HEAD);
    let tail_start = max_retries.saturating_sub(TAIL - 1).max(HEAD + 1);
    head.chain(tail_start..=max_retries)
}

fn check_delay(policy: &Policy, functions: &Functions) -> Result<()> {
    for (class, settings) in policy.classes() {
        for attempt in sample_attempts(settings.max_retries) {
            let plain = Failure::new(class, attempt).message("sample failure");
            let hinted = plain.status(503).retry_after(Duration::from_secs(30));
            for failure in [plain, hinted] {
                for draw in [0.0, 0.999] {
                    let Decision::Retry { delay } = policy.decide(&failure, draw) else {
                        continue;
                    };
                    functions.delay(&failure, delay).map_err(|e| {
                        let status = failure
                            .status
                            .map_or(String::new(), |s| format!(", status {s}"));
                        let input = format!(
                            "class {class}, attempt {attempt}, delay_ms {}{status}",
                            delay.as_millis()
                        );
                        rejected("delay", input, e)
                    })?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_cover_small_budgets_and_both_ends_of_large_ones() {
        assert_eq!(sample_attempts(0).count(), 0);
        assert_eq!(sample_attempts(5).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        assert_eq!(sample_attempts(105).count(), 105);
        let large: Vec<_> = sample_attempts(999).collect();
        assert_eq!(large.len(), 110);
        assert_eq!(large[99], 100);
        assert_eq!(large[100], 990);
        assert_eq!(large.last(), Some(&999));
    }
}
