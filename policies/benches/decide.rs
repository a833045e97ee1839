//! How long one retry decision takes: with the Rust defaults, and with a script `delay`.
//!
//! Run: `cargo bench -p tenax-policies --bench decide`

use std::{hint::black_box, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use tenax_policies::{CompiledPolicy, ErrorClass, Failure, Policy};

const SCRIPT: &str = r#"
fn delay(class, attempt, delay_ms, error) {
    if error.status == 503 && delay_ms < 60000 { return 60000; }
    delay_ms
}
#{}
"#;

fn decide(c: &mut Criterion) {
    let defaults = Policy::default();
    let scripted = CompiledPolicy::load_str(SCRIPT, "bench.rhai").expect("the bench script loads");
    let class = ErrorClass::TRANSIENT;
    let failure = Failure::new(&class, 3)
        .message("upstream timed out")
        .status(502);

    let mut group = c.benchmark_group("decide");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group.bench_function("defaults", |b| {
        b.iter(|| defaults.decide(black_box(&failure), black_box(0.37)))
    });
    group.bench_function("script_delay", |b| {
        b.iter(|| scripted.decide(black_box(&failure), black_box(0.37)))
    });
    group.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
