//! A small test runner for test files whose binary doubles as an application
//! (`harness = false` in Cargo.toml): `main` first lets the binary become the
//! application when started as one, then runs the tests in order.
//!
//! `cargo test --test FILE NAME` runs the tests whose names contain `NAME`.

use std::process::ExitCode;

/// A test: a name that is a sentence, and a body that fails by `Err` or panic.
pub type Test = (&'static str, fn() -> anyhow::Result<()>);

/// Runs `tests` (those matching the command line's filter), printing each result as
/// libtest does; failure if any failed.
pub fn run(tests: &[Test]) -> ExitCode {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let chosen: Vec<&Test> = tests
        .iter()
        .filter(|(name, _)| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", chosen.len());
    let mut failed = Vec::new();
    for (name, test) in chosen {
        let outcome = std::panic::catch_unwind(test);
        match outcome {
            Ok(Ok(())) => println!("test {name} ... ok"),
            Ok(Err(err)) => {
                println!("test {name} ... FAILED\n{err:?}");
                failed.push(*name);
            }
            Err(_) => {
                println!("test {name} ... FAILED (panicked)");
                failed.push(*name);
            }
        }
    }
    if failed.is_empty() {
        println!("\ntest result: ok. {} passed", tests.len());
        ExitCode::SUCCESS
    } else {
        println!("\ntest result: FAILED. failures: {failed:?}");
        ExitCode::FAILURE
    }
}

/// A multi-threaded runtime for one test's async body.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}
