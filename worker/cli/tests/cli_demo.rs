//! `tenax demo`, the README's first command, runs to the end and accounts for every job.

mod support;

use support::daemon::tenax;

#[test]
fn the_demo_exits_zero_with_every_job_accounted_for() {
    let (code, out, err) = tenax(&["demo", "--jobs", "120"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("accounted for"), "{out}");
}
