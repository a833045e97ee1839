//! Leases on a store shared by several processes: the upkeep tick.
//!
//! Such a store's leases expire (`JobStore::lease_duration`), so that the jobs of a
//! process that died or was cut off are rescued by the others. The tick, at most a
//! third of a lease apart and at least once a second:
//! - renews the leases of running attempts and moves each attempt's deadline forward;
//!   an attempt whose lease the store no longer holds is stopped and counted as lost;
//! - renews the half-open probe permits this worker holds (for probe jobs, and for a
//!   health probe's question);
//! - rescues the queue's jobs whose lease expired (a crash counted, as at open);
//! - marks the shared values for a re-read, the bound on how late a change made by
//!   another process is seen.
//!
//! An attempt's deadline is a fifth of a lease before the lease ends, counted from when
//! the claim or the last renewal was sent (the store's expiry is at least that late).
//! The attempt's task stops itself at the deadline (see `crate::attempt`), so a worker
//! that cannot reach the store stops its attempts before another process may take
//! their jobs: no job runs in two places while its lease holds.

use std::time::Duration;

use tokio::time::Instant;

use super::Runner;

/// How often the upkeep tick runs for `lease`.
pub(super) fn tick(lease: Duration) -> Duration {
    (lease / 3).min(Duration::from_secs(1))
}

/// The deadline of an attempt whose lease was claimed or renewed at `sent`.
pub(super) fn deadline(sent: Instant, lease: Duration) -> Instant {
    sent + lease - lease / 5
}

impl Runner {
    /// The upkeep tick (expiring leases only). Failures are logged: the next tick tries
    /// again, and the attempts' own deadlines keep them safe meanwhile.
    pub(super) fn upkeep(&mut self) {
        let Some(lease) = self.lease else {
            return;
        };
        self.next_upkeep = Some(Instant::now() + tick(lease));
        self.stale = true;
        self.renew(lease);
        let probes: Vec<u64> = self
            .inflight
            .values()
            .filter_map(|j| j.held.probe)
            .chain(self.health.permits().iter().copied())
            .collect();
        if !probes.is_empty() {
            let until = self.permit_until(self.settings.store.now());
            self.update_breaker_or_log("renew probe permits", |b| {
                b.extend_probes(&probes, until);
            });
        }
        match self.settings.store.rescue_expired(&self.settings.queue) {
            Ok(0) => {}
            Ok(n) => {
                self.metrics.rescued(n);
                tracing::warn!(
                    queue = %self.settings.queue,
                    jobs = n,
                    "rescued jobs whose holder stopped renewing its lease (counted as crashes)"
                );
            }
            Err(err) => tracing::debug!(%err, "rescuing expired leases failed; next tick"),
        }
    }

    /// Renews the leases of running attempts; stops those the store no longer holds.
    fn renew(&mut self, lease: Duration) {
        let ids: Vec<_> = self
            .inflight
            .iter()
            .filter(|(_, j)| !j.lost)
            .map(|(id, _)| *id)
            .collect();
        if ids.is_empty() {
            return;
        }
        let leases: Vec<_> = ids
            .iter()
            .map(|id| self.inflight[id].held.lease.clone())
            .collect();
        let sent = Instant::now();
        let held = match self.settings.store.renew(&leases) {
            Ok(held) => held,
            Err(err) => {
                tracing::warn!(
                    queue = %self.settings.queue,
                    %err,
                    "could not renew leases; running attempts stop at their deadline"
                );
                return;
            }
        };
        for (id, held) in ids.iter().zip(held) {
            let Some(job) = self.inflight.get_mut(id) else {
                continue;
            };
            if held {
                if let Some(tx) = &job.deadline {
                    tx.send_replace(deadline(sent, lease));
                }
            } else {
                job.lost = true;
                job.abort.abort();
            }
        }
    }
}
