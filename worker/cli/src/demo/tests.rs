//! The demo, run end to end with fewer jobs and a shorter outage.
//!
//! Every assertion holds by construction of the mock, not by timing: the outage starts
//! after a count of responses (so jobs are still waiting when it hits and at least five
//! attempts meet a refused connection), unscanned items always answer 404 to their
//! first request, and the bad items answer 400 to every request.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_demo_accounts_for_every_job() -> anyhow::Result<()> {
    let options = DemoOptions {
        jobs: 60,
        seed: 11,
        fast: true,
        quiet: true,
    };
    let plan = Plan::draw(options.jobs, options.seed);
    let summary = tokio::time::timeout(Duration::from_secs(40), run(options)).await??;

    assert!(summary.accounting_holds(), "{summary:#?}");
    assert_eq!(summary.counts.completed + summary.counts.dead, 60);
    assert!(summary.breaker.outages >= 1, "{:?}", summary.breaker);
    assert_eq!(
        summary.breaker.paused.len(),
        summary.breaker.outages as usize
    );
    assert!(summary.downstream_outage.is_some());

    let retries = summary.retries();
    let not_found = retries.get("not_found").copied().unwrap_or(0);
    assert!(not_found >= plan.unscanned.len() as u64, "{retries:?}");
    assert!(
        retries.get("unavailable").copied().unwrap_or(0) >= 1,
        "{retries:?}"
    );

    // The bad items, and only they, are dead, as permanent, with their status.
    let bad = plan.bad.len() as u64;
    assert_eq!(summary.counts.dead, bad);
    assert_eq!(summary.dead_by_class.get("permanent"), Some(&bad));
    assert_eq!(summary.dead.get("permanent (HTTP 400)"), Some(&bad));

    let mut printed = Vec::new();
    summary.print(&mut printed)?;
    let printed = String::from_utf8(printed)?;
    assert!(
        printed.contains("every job accounted for: delivered + dead = enqueued"),
        "{printed}"
    );
    Ok(())
}
