//! Arbitrary text as a policy script: loading never panics or hangs, and a script that
//! loads can only shape decisions within the bounds every policy is checked against.
#![no_main]

use tenax_policies::defaults::SCRIPT_DELAY;
use tenax_policies::{
    ClassifyInput, CompiledPolicy, Decision, ErrorClass, Failure, NetworkFailure,
};

const CLASSES: [ErrorClass; 4] = [
    ErrorClass::TRANSIENT,
    ErrorClass::NOT_FOUND,
    ErrorClass::UNAVAILABLE,
    ErrorClass::PERMANENT,
];

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let Ok(source) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(policy) = CompiledPolicy::load_str(source, "fuzz.rhai") else {
        return;
    };
    for class in &CLASSES {
        let settings = *policy.policy().effective(class);
        for attempt in [
            1,
            2,
            settings.max_retries,
            settings.max_retries.saturating_add(1),
        ] {
            let failure = Failure::new(class, attempt).message("boom").status(503);
            match policy.decide(&failure, 0.5) {
                Decision::Retry { delay } => {
                    assert!(
                        attempt.max(1) <= settings.max_retries,
                        "{class}: retry {attempt} beyond max_retries {}",
                        settings.max_retries
                    );
                    assert!(delay <= SCRIPT_DELAY.max.max(settings.cap), "{delay:?}");
                }
                Decision::Bury { .. } => {}
            }
        }
    }
    for status in [200, 404, 429, 500] {
        let input = ClassifyInput::status(status, "body");
        let class = policy.classify_or_default(&input);
        assert_eq!(class.is_none(), status == 200, "only success has no class");
    }
    let _ = policy.classify(&ClassifyInput::network(NetworkFailure::ALL[0], "refused"));
});
