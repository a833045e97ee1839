//! Script `delay` and `classify` functions at decision time: what they can change, what
//! they cannot, and that a failing function falls back to the Rust decision.

use std::{path::PathBuf, time::Duration};

use tenax_policies::{
    BuryReason, Cause, ClassifyInput, CompiledPolicy, Decision, ErrorClass, Failure,
    NetworkFailure, Result,
};

fn example(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/policies")).join(name)
}

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

#[test]
fn the_custom_delay_example_adjusts_and_ends_jobs() -> Result<()> {
    let policy = CompiledPolicy::load_file(example("custom-delay.rhai"))?;
    assert!(policy.has_delay_fn());
    let class = ErrorClass::TRANSIENT;
    let overloaded = Failure::new(&class, 1).status(503);
    assert_eq!(
        policy.decide(&overloaded, 0.0),
        Decision::Retry { delay: s(60) }
    );
    let plain = Failure::new(&class, 1).message("reset by peer");
    assert_eq!(policy.decide(&plain, 0.0), Decision::Retry { delay: s(5) });
    let schema = Failure::new(&class, 2).message("schema mismatch in field 3");
    assert_eq!(
        policy.decide(&schema, 0.0),
        Decision::Bury {
            reason: BuryReason::ScriptSaidDead
        }
    );
    Ok(())
}

#[test]
fn the_script_sees_the_failure_and_the_computed_delay() -> Result<()> {
    let script = r#"
        fn delay(class, attempt, delay_ms, error) {
            if error.retry_after_ms != () { return error.retry_after_ms + 1; }
            if error.status == 429 && class == "transient" { return delay_ms * attempt; }
            delay_ms
        }
        #{}
    "#;
    let policy = CompiledPolicy::load_str(script, "sees.rhai")?;
    let class = ErrorClass::TRANSIENT;
    let hinted = Failure::new(&class, 1).retry_after(s(40));
    assert_eq!(
        policy.decide(&hinted, 0.0),
        Decision::Retry {
            delay: s(40) + Duration::from_millis(1)
        }
    );
    let limited = Failure::new(&class, 3).status(429);
    assert_eq!(
        policy.decide(&limited, 0.0),
        Decision::Retry { delay: s(60) }
    );
    Ok(())
}

#[test]
fn a_script_cannot_grant_retries_beyond_the_budget() -> Result<()> {
    let script = "fn delay(class, attempt, delay_ms, error) { 1000 }\n#{}";
    let policy = CompiledPolicy::load_str(script, "eager.rhai")?;
    let transient = ErrorClass::TRANSIENT;
    assert_eq!(
        policy.decide(&Failure::new(&transient, 6), 0.0),
        Decision::Bury {
            reason: BuryReason::RetriesExhausted { max_retries: 5 }
        }
    );
    let permanent = ErrorClass::PERMANENT;
    assert_eq!(
        policy.decide(&Failure::new(&permanent, 1), 0.0),
        Decision::Bury {
            reason: BuryReason::NotRetryable
        }
    );
    Ok(())
}

#[test]
fn a_function_failing_at_decision_time_falls_back_to_the_rust_decision() -> Result<()> {
    // The load-time samples never send these messages, so the script loads.
    let script = r#"
        fn delay(class, attempt, delay_ms, error) {
            if error.message == "throw" { throw "unexpected"; }
            if error.message == "spin" { loop { } }
            if error.message == "huge" { return "30d"; }
            if error.message == "garbage" { return [1, 2]; }
            if error.message == "deep" { return delay(class, attempt, delay_ms, error); }
            1234
        }
        #{}
    "#;
    let policy = CompiledPolicy::load_str(script, "flaky.rhai")?;
    let class = ErrorClass::TRANSIENT;
    let ok = Failure::new(&class, 2);
    assert_eq!(
        policy.decide(&ok, 0.0),
        Decision::Retry {
            delay: Duration::from_millis(1234)
        }
    );
    for message in ["throw", "spin", "huge", "garbage", "deep"] {
        let failure = Failure::new(&class, 2).message(message);
        assert_eq!(
            policy.decide(&failure, 0.0),
            Decision::Retry { delay: s(10) },
            "{message}"
        );
    }
    Ok(())
}

#[test]
fn the_custom_classify_example_overrides_some_statuses() -> Result<()> {
    let policy = CompiledPolicy::load_file(example("custom-classify.rhai"))?;
    assert!(policy.has_classify_fn());
    let rate_limited = ErrorClass::new("rate_limited")?;
    let cases = [
        (
            ClassifyInput::status(409, "conflict"),
            Some(ErrorClass::TRANSIENT),
            Some(ErrorClass::TRANSIENT),
        ),
        (
            ClassifyInput::status(429, ""),
            Some(rate_limited.clone()),
            Some(rate_limited.clone()),
        ),
        (
            ClassifyInput::status(403, "down for maintenance"),
            Some(ErrorClass::UNAVAILABLE),
            Some(ErrorClass::UNAVAILABLE),
        ),
        (
            ClassifyInput::status(403, "forbidden"),
            None,
            Some(ErrorClass::PERMANENT),
        ),
        (
            ClassifyInput::status(404, ""),
            None,
            Some(ErrorClass::NOT_FOUND),
        ),
        (
            ClassifyInput::status(503, ""),
            None,
            Some(ErrorClass::TRANSIENT),
        ),
        (ClassifyInput::status(204, ""), None, None),
        (
            ClassifyInput::network(NetworkFailure::Dns, "no such host"),
            None,
            Some(ErrorClass::UNAVAILABLE),
        ),
    ];
    for (input, script, full) in cases {
        assert_eq!(policy.classify(&input), script, "{input:?}");
        assert_eq!(policy.classify_or_default(&input), full, "{input:?}");
    }
    let rate = policy.policy().class(&rate_limited).expect("declared");
    assert!(!rate.counts_toward_breaker);
    Ok(())
}

#[test]
fn without_a_script_the_built_in_table_classifies() {
    let policy = CompiledPolicy::default();
    let table = [
        (Cause::Status(100), Some(ErrorClass::PERMANENT)),
        (Cause::Status(200), None),
        (Cause::Status(299), None),
        (Cause::Status(304), Some(ErrorClass::PERMANENT)),
        (Cause::Status(400), Some(ErrorClass::PERMANENT)),
        (Cause::Status(401), Some(ErrorClass::PERMANENT)),
        (Cause::Status(403), Some(ErrorClass::PERMANENT)),
        (Cause::Status(404), Some(ErrorClass::NOT_FOUND)),
        (Cause::Status(408), Some(ErrorClass::TRANSIENT)),
        (Cause::Status(422), Some(ErrorClass::PERMANENT)),
        (Cause::Status(425), Some(ErrorClass::TRANSIENT)),
        (Cause::Status(429), Some(ErrorClass::TRANSIENT)),
        (Cause::Status(500), Some(ErrorClass::TRANSIENT)),
        (Cause::Status(503), Some(ErrorClass::TRANSIENT)),
        (Cause::Status(599), Some(ErrorClass::TRANSIENT)),
        (
            Cause::Network(NetworkFailure::ConnectRefused),
            Some(ErrorClass::UNAVAILABLE),
        ),
        (
            Cause::Network(NetworkFailure::Dns),
            Some(ErrorClass::UNAVAILABLE),
        ),
        (
            Cause::Network(NetworkFailure::Unreachable),
            Some(ErrorClass::UNAVAILABLE),
        ),
        (
            Cause::Network(NetworkFailure::Timeout),
            Some(ErrorClass::TRANSIENT),
        ),
    ];
    for (cause, class) in table {
        let input = ClassifyInput { cause, message: "" };
        assert_eq!(policy.classify(&input), None);
        assert_eq!(policy.classify_or_default(&input), class, "{cause:?}");
    }
}

#[test]
fn a_classify_failure_at_decision_time_falls_back_to_the_table() -> Result<()> {
    let script = r#"
        fn classify(input) {
            if input.message == "throw" { throw "unexpected"; }
            if input.message == "ghost" { return "ghost"; }
            ()
        }
        #{}
    "#;
    let policy = CompiledPolicy::load_str(script, "flaky-classify.rhai")?;
    for message in ["throw", "ghost"] {
        let input = ClassifyInput::status(503, message);
        assert_eq!(policy.classify(&input), None, "{message}");
        assert_eq!(
            policy.classify_or_default(&input),
            Some(ErrorClass::TRANSIENT)
        );
    }
    Ok(())
}
