//! `rate_limit` in a policy script: read with its default burst, checked against the
//! bounds in `defaults.rs`, strict about its keys, and `()` for none.

use tenax_policies::{CompiledPolicy, RateLimit, defaults};

fn load(script: &str) -> Result<CompiledPolicy, String> {
    CompiledPolicy::load_str(script, "rate.rhai").map_err(|e| e.to_string())
}

#[test]
fn a_script_sets_a_rate_limit_and_burst_defaults_to_one() {
    let policy = load("#{ rate_limit: #{ per_second: 5.0, burst: 3 } }").expect("loads");
    assert_eq!(
        policy.policy().rate_limit(),
        Some(RateLimit {
            per_second: 5.0,
            burst: 3
        })
    );
    let policy = load("#{ rate_limit: #{ per_second: 2 } }").expect("loads");
    assert_eq!(
        policy.policy().rate_limit().map(|r| r.burst),
        Some(defaults::DEFAULT_RATE_BURST)
    );
    assert_eq!(load("#{}").expect("loads").policy().rate_limit(), None);
    assert_eq!(
        load("#{ rate_limit: () }")
            .expect("loads")
            .policy()
            .rate_limit(),
        None
    );
}

#[test]
fn a_rate_limit_out_of_bounds_or_misspelt_is_refused_with_its_key() {
    for (script, fragments) in [
        (
            "#{ rate_limit: #{ per_second: 0.0 } }",
            &["rate_limit.per_second", "0.01"][..],
        ),
        (
            "#{ rate_limit: #{ per_second: 5.0, burst: 0 } }",
            &["rate_limit.burst", "bounds"][..],
        ),
        ("#{ rate_limit: #{ burst: 2 } }", &["needs per_second"][..]),
        (
            "#{ rate_limit: #{ per_sec: 5.0 } }",
            &["per_sec", "per_second"][..],
        ),
        ("#{ rate_limit: 5 }", &["rate_limit", "map"][..]),
    ] {
        let message = load(script).expect_err(script);
        for fragment in fragments {
            assert!(
                message.contains(fragment),
                "{script}: {message:?} lacks {fragment:?}"
            );
        }
    }
}

#[test]
fn the_effective_policy_shows_the_rate_limit() {
    let policy = load("#{ rate_limit: #{ per_second: 5.0 } }").expect("loads");
    let json = serde_json::to_value(policy.policy()).expect("serialises");
    assert_eq!(json["rate_limit"]["per_second"], 5.0);
    assert_eq!(json["rate_limit"]["burst"], 1);
}
