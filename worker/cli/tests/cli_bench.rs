//! `tenax bench` runs its workloads and reports them as JSON (speed is never asserted:
//! machines are shared and noisy; BENCHMARKS.md has the measured figures).

mod support;

use serde_json::Value;
use support::daemon::tenax;

#[test]
fn bench_reports_each_selected_workload() {
    let (code, out, err) = tenax(&[
        "bench",
        "--only",
        "enqueue-batch,drain,retry,latency",
        "--jobs",
        "2000",
        "--runs",
        "1",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).expect("JSON");
    let figures = report["figures"].as_array().expect("figures");
    for workload in ["enqueue-batch", "drain", "retry", "latency"] {
        let found: Vec<&Value> = figures
            .iter()
            .filter(|f| f["workload"] == workload)
            .collect();
        assert!(!found.is_empty(), "{workload} missing from {out}");
        assert!(
            found
                .iter()
                .all(|f| f["median"].as_f64().is_some_and(|m| m > 0.0)),
            "{workload}"
        );
    }
    assert!(
        figures
            .iter()
            .any(|f| f["target"].is_string() && f["met"].is_boolean())
    );
    let (code, _, err) = tenax(&["bench", "--only", "teleport"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown workload"), "{err}");
}

/// The daemon workloads start a real `tenax run`, measure it, and check what arrived:
/// every job enqueued through the API is counted by the daemon's stats, and every job
/// delivered reached the bench's downstream exactly once.
#[test]
fn daemon_workloads_measure_a_real_daemon_and_deliver_every_job_exactly_once() {
    let jobs = 300;
    let (code, out, err) = tenax(&[
        "bench",
        "--only",
        "api-enqueue,http-deliver",
        "--jobs",
        &jobs.to_string(),
        "--runs",
        "1",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).expect("JSON");
    let figures = report["figures"].as_array().expect("figures");
    let figure = |name: &str| -> f64 {
        let found = figures
            .iter()
            .find(|f| f["name"].as_str().is_some_and(|n| n.starts_with(name)))
            .unwrap_or_else(|| panic!("no figure `{name}` in {out}"));
        found["median"].as_f64().expect("a median")
    };
    for rate in [
        "api-enqueue: 1 job per POST, 64 conns",
        "api-enqueue: 1000 jobs per POST",
        "http-deliver: concurrency 64",
    ] {
        assert!(figure(rate) > 0.0, "{rate}");
    }
    let (p50, p99) = (
        figure("api-enqueue: 1 job per POST, p50"),
        figure("api-enqueue: 1 job per POST, p99"),
    );
    assert!(0.0 < p50 && p50 <= p99, "p50 {p50}, p99 {p99}");
    // CPU comes from /proc in clock ticks (10 ms): a run this small may take less than
    // one tick, so only that the figures are reported is checked (`figure` panics when
    // one is missing); the downstream's counts below are what this test is about.
    for cpu in [
        "api-enqueue: load generator CPU",
        "http-deliver: daemon CPU",
    ] {
        assert!(figure(cpu).is_finite(), "{cpu}");
    }
    assert_eq!(figure("http-deliver: requests received"), f64::from(jobs));
    assert_eq!(
        figure("http-deliver: distinct jobs received"),
        f64::from(jobs)
    );
    let targets = figures.iter().filter(|f| f["met"].is_boolean()).count();
    assert!(
        targets >= 3,
        "the floors are stated beside the figures: {out}"
    );
}
