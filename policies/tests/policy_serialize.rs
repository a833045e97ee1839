//! The serialized policy has the shape of a script's map, so an API can show it.

use tenax_policies::{CompiledPolicy, Policy, Result};

#[test]
fn the_default_policy_serializes_like_the_script() -> Result<()> {
    let json = serde_json::to_value(Policy::default()).expect("serializes");
    assert_eq!(json["classes"]["transient"]["base"], "5s");
    assert_eq!(json["classes"]["transient"]["cap"], "1m 20s");
    assert_eq!(json["classes"]["not_found"]["breaker"], false);
    assert_eq!(json["classes"]["unavailable"]["max_retries"], 999);
    assert_eq!(json["fallback_class"], "transient");
    assert_eq!(json["breaker"]["recovery_timeout"], "1m");
    assert!(json["breaker"]["ramp"].is_null());
    Ok(())
}

#[test]
fn custom_classes_follow_the_built_ins() -> Result<()> {
    let script = r#"#{ classes: #{ rate_limited: #{ base: "30s", breaker: false } } }"#;
    let compiled = CompiledPolicy::load_str(script, "rate.rhai")?;
    let json = serde_json::to_string(compiled.policy()).expect("serializes");
    let order: Vec<usize> = ["\"transient\"", "\"permanent\"", "\"rate_limited\""]
        .iter()
        .map(|name| json.find(name).expect("present"))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{json}");
    Ok(())
}
