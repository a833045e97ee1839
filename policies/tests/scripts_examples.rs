//! The shipped example scripts load, and the default script is exactly the Rust defaults.

use std::path::PathBuf;

use tenax_policies::{CompiledPolicy, ErrorClass, Policy, Result};

fn example(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/policies")).join(name)
}

#[test]
fn default_script_is_exactly_the_rust_defaults() -> Result<()> {
    let loaded = CompiledPolicy::load_file(example("default.rhai"))?;
    assert_eq!(loaded.policy(), &Policy::default());
    assert!(!loaded.has_delay_fn() && !loaded.has_classify_fn());
    Ok(())
}

#[test]
fn every_example_script_loads() -> Result<()> {
    let dir = example("");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/policies exists") {
        let path = entry.expect("readable entry").path();
        if path.extension().is_some_and(|e| e == "rhai") {
            CompiledPolicy::load_file(&path)?;
            count += 1;
        }
    }
    assert!(count >= 4, "found only {count} example scripts");
    Ok(())
}

#[test]
fn media_server_waits_long_for_not_found() -> Result<()> {
    let loaded = CompiledPolicy::load_file(example("media-server.rhai"))?;
    let not_found = loaded
        .policy()
        .class(&ErrorClass::NOT_FOUND)
        .expect("declared");
    assert_eq!(not_found.base.as_secs(), 60);
    assert_eq!(not_found.cap.as_secs(), 1800);
    assert_eq!(not_found.max_retries, 24);
    assert!(loaded.policy().breaker().ramp.is_some());
    Ok(())
}
