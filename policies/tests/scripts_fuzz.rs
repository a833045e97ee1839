//! Random and mutated scripts never panic the loader: each one either loads into a policy
//! that passes validation again from the outside, or is rejected with an error.

use proptest::prelude::*;
use tenax_policies::{CompiledPolicy, Policy};

const DEFAULT_SCRIPT: &str = include_str!("../../examples/policies/default.rhai");

/// Rebuilds the policy through the public, validating builder.
fn revalidate(policy: &Policy) {
    let mut builder = Policy::builder();
    for (class, settings) in policy.classes() {
        builder = builder.class(class.clone(), *settings);
    }
    let rebuilt = builder
        .fallback_class(policy.fallback_class().clone())
        .breaker(*policy.breaker())
        .build()
        .expect("a loaded policy passes validation");
    assert_eq!(&rebuilt, policy);
}

fn load_and_check(source: &str) {
    if let Ok(compiled) = CompiledPolicy::load_str(source, "fuzz.rhai") {
        revalidate(compiled.policy());
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bytes that matter to the grammar are more interesting than random ones.
    let byte = prop_oneof![
        any::<u8>(),
        prop::sample::select(b"#{}[]():,;\"'0123456789-.ems_ \n".to_vec()),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(at, b)| Edit::Replace(at, b)),
        (any::<usize>(), byte).prop_map(|(at, b)| Edit::Insert(at, b)),
        (any::<usize>(), 1..8usize).prop_map(|(at, n)| Edit::Delete(at, n)),
    ]
}

fn apply(source: &str, edits: &[Edit]) -> String {
    let mut bytes = source.as_bytes().to_vec();
    for edit in edits {
        let len = bytes.len().max(1);
        match *edit {
            Edit::Replace(at, b) if !bytes.is_empty() => bytes[at % len] = b,
            Edit::Replace(..) => {}
            Edit::Insert(at, b) => bytes.insert(at % (bytes.len() + 1), b),
            Edit::Delete(at, n) => {
                let start = at % len;
                let end = (start + n).min(bytes.len());
                bytes.drain(start.min(end)..end);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A random script value, as Rhai source.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (0i64..10_000_000).prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
        (0.0f64..1.5).prop_map(|f| format!("{f:?}")),
        prop::sample::select(vec!["true", "false", "()", "[]", "'x'"]).prop_map(String::from),
        prop::sample::select(vec![
            "\"5s\"",
            "\"10m\"",
            "\"1h 30m\"",
            "\"250ms\"",
            "\"0s\"",
            "\"-5s\"",
            "\"9999d\"",
            "\"soon\"",
            "\"transient\"",
            "\"not_found\"",
            "\"ghost\"",
            "\"\"",
        ])
        .prop_map(String::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop::collection::vec((key(), inner), 0..6).prop_map(|entries| {
            let body: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            format!("#{{ {} }}", body.join(", "))
        })
    })
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "classes",
        "breaker",
        "fallback_class",
        "transient",
        "not_found",
        "unavailable",
        "permanent",
        "rate_limited",
        "base",
        "cap",
        "max_retries",
        "jitter",
        "failure_threshold",
        "recovery_timeout",
        "half_open_probes",
        "successes_to_close",
        "ramp",
        "start_rate_per_sec",
        "end_rate_per_sec",
        "duration",
        "max_retry",
        "bogus",
    ])
    .prop_map(String::from)
}

/// A value that is usually right for `key`, and sometimes not.
fn plausible(key: &'static str) -> BoxedStrategy<String> {
    let right: BoxedStrategy<String> = match key {
        "base" => prop::sample::select(vec!["\"10ms\"", "\"1s\"", "\"5s\"", "250"])
            .prop_map(String::from)
            .boxed(),
        "cap" | "recovery_timeout" | "duration" => {
            prop::sample::select(vec!["\"30s\"", "\"2m\"", "\"10m\"", "\"1h\"", "60000"])
                .prop_map(String::from)
                .boxed()
        }
        "max_retries" => (0u32..1200).prop_map(|n| n.to_string()).boxed(),
        "failure_threshold" | "half_open_probes" | "successes_to_close" => {
            (1u32..120).prop_map(|n| n.to_string()).boxed()
        }
        "jitter" => (0.0f64..=1.0).prop_map(|f| format!("{f:?}")).boxed(),
        "breaker" => any::<bool>().prop_map(|b| b.to_string()).boxed(),
        "start_rate_per_sec" => (1u32..10).prop_map(|n| n.to_string()).boxed(),
        "end_rate_per_sec" => (10u32..50).prop_map(|n| n.to_string()).boxed(),
        _ => value().boxed(),
    };
    prop_oneof![40 => right, 1 => value()].boxed()
}

fn section(keys: Vec<&'static str>) -> impl Strategy<Value = String> {
    prop::sample::subsequence(keys.clone(), 0..=keys.len())
        .prop_flat_map(|chosen| {
            chosen
                .into_iter()
                .map(|k| plausible(k).prop_map(move |v| format!("{k}: {v}")))
                .collect::<Vec<_>>()
        })
        .prop_map(|entries| format!("#{{ {} }}", entries.join(", ")))
}

/// A script that is mostly well-formed: the right sections with plausible values.
fn shaped_script() -> impl Strategy<Value = String> {
    let class = || section(vec!["base", "cap", "max_retries", "jitter", "breaker"]);
    let classes = prop::sample::subsequence(
        vec![
            "transient",
            "not_found",
            "unavailable",
            "permanent",
            "rate_limited",
        ],
        0..=5,
    )
    .prop_flat_map(move |names| {
        names
            .into_iter()
            .map(|name| class().prop_map(move |c| format!("{name}: {c}")))
            .collect::<Vec<_>>()
    })
    .prop_map(|entries| format!("#{{ {} }}", entries.join(", ")));
    let ramp = (
        plausible("start_rate_per_sec"),
        plausible("end_rate_per_sec"),
        plausible("duration"),
    )
        .prop_map(|(s, e, d)| {
            format!("#{{ start_rate_per_sec: {s}, end_rate_per_sec: {e}, duration: {d} }}")
        });
    let breaker = (
        section(vec![
            "failure_threshold",
            "recovery_timeout",
            "half_open_probes",
            "successes_to_close",
        ]),
        prop::option::of(ramp),
    )
        .prop_map(|(b, ramp)| match ramp {
            Some(r) if b == "#{  }" => format!("#{{ ramp: {r} }}"),
            Some(r) => format!("{}, ramp: {r} }}", b.trim_end_matches('}').trim_end()),
            None => b,
        });
    let function = prop::sample::select(vec![
        "",
        "fn delay(class, attempt, delay_ms, error) { delay_ms }",
        "fn delay(class, attempt, delay_ms, error) { delay_ms * attempt }",
        "fn delay(class, attempt, delay_ms, error) { if attempt > 3 { \"dead\" } else { \"1m\" } }",
        "fn delay(class, attempt, delay_ms, error) { delay_ms - 100000 }",
        "fn classify(input) { if input.status == 429 { \"rate_limited\" } }",
        "fn classify(input) { if input.status == 409 { \"transient\" } }",
        "fn classify(input) { input.network }",
    ]);
    (classes, breaker, function).prop_map(|(classes, breaker, function)| {
        format!("{function}\n#{{ classes: {classes}, breaker: {breaker} }}")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn mutated_default_scripts_load_or_fail_cleanly(edits in prop::collection::vec(edit(), 1..6)) {
        load_and_check(&apply(DEFAULT_SCRIPT, &edits));
    }

    #[test]
    fn random_maps_load_or_fail_cleanly(script in value()) {
        load_and_check(&script);
    }

    #[test]
    fn shaped_scripts_load_or_fail_cleanly(script in shaped_script()) {
        load_and_check(&script);
    }
}
