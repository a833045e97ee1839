//! The demo's retry policy: the production shape, with delays cut to demo time.
//!
//! Every value keeps the meaning it has in `examples/policies/default.rhai`; only the
//! durations shrink (seconds instead of minutes) so a whole outage, its recovery and the
//! drain fit in a few seconds of wall time. The retry budgets are generous on purpose: an
//! attempt counter is shared by all classes, and a job that met the outage should still
//! have room for its `not_found` retries afterwards.

/// Where the script says it came from, in error messages.
pub(crate) const ORIGIN: &str = "tenax demo (built in)";

/// The policy script the demo's worker runs with.
pub(crate) const SCRIPT: &str = r#"
// Short delays so the demo finishes in well under a minute.
#{
    classes: #{
        // 503s and resets: 200 ms doubling to 2 s. The mock's Retry-After: 1 raises the
        // first retry of a 503 to a full second.
        transient: #{ base: "200ms", cap: "2s", max_retries: 8, jitter: 0.5, breaker: true },

        // 404 while the mock "scans" an item: 1 s doubling to 4 s. It does not count
        // toward the breaker: a missing item says nothing about the server's health.
        not_found: #{ base: "1s", cap: "4s", max_retries: 12, jitter: 0.5, breaker: false },

        // Connection refused during the outage. Rarely used up: the breaker opens after
        // five of these and jobs then wait without burning attempts.
        unavailable: #{ base: "1s", cap: "4s", max_retries: 999, jitter: 0.5, breaker: true },

        // 400: never retried, straight to the dead letters.
        permanent: #{ max_retries: 0, breaker: false },
    },
    breaker: #{
        failure_threshold: 5,
        // Probe every 2 s while the downstream is down.
        recovery_timeout: "2s",
        // After recovery, drain at 20 jobs/s rising to 200 jobs/s over 3 s, so the
        // recovering server is not hit by the whole backlog at once.
        ramp: #{ start_rate_per_sec: 20, end_rate_per_sec: 200, duration: "3s" },
    },
}
"#;

/// Consecutive counted failures that open the breaker, as in [`SCRIPT`]. The mock sends
/// fewer `503`s than this in total, so only the outage can open the breaker.
pub(crate) const FAILURE_THRESHOLD: usize = 5;

#[cfg(test)]
mod tests {
    use tenax_policies::CompiledPolicy;

    #[test]
    fn the_script_loads_and_matches_the_threshold() {
        let policy = CompiledPolicy::load_str(super::SCRIPT, super::ORIGIN).expect("loads");
        let breaker = policy.policy().breaker();
        assert_eq!(breaker.failure_threshold as usize, super::FAILURE_THRESHOLD);
    }
}
