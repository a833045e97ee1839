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
