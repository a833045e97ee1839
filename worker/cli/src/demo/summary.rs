//! What the demo shows at the end: where every job went, and what it took.
//!
//! The counts come from the store (`stats()` and the dead letter queue), never from the
//! demo's own bookkeeping, so the last line is the queue's own word that nothing was
//! lost. The failure counts come from the [`Tally`], which saw every attempt.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

use tenax_core::{DeadFilter, QueueCounts, Store};
use tenax_worker::RunReport;

use super::breaker::BreakerLog;
use super::tally::Tally;

/// The outcome of one demo run.
#[derive(Clone, Debug, Default)]
pub(crate) struct DemoSummary {
    /// Where the mock downstream listened.
    pub(crate) base_url: String,
    /// Jobs the demo asked to enqueue.
    pub(crate) requested: u64,
    /// The store's counts at the end.
    pub(crate) counts: QueueCounts,
    /// Dead jobs per reason, e.g. `permanent (HTTP 400)`.
    pub(crate) dead: BTreeMap<String, u64>,
    /// Dead jobs per error class.
    pub(crate) dead_by_class: BTreeMap<String, u64>,
    /// Failed attempts per error class.
    pub(crate) failures: BTreeMap<String, u64>,
    /// What the breaker did.
    pub(crate) breaker: BreakerLog,
    /// How long the mock refused connections.
    pub(crate) downstream_outage: Option<Duration>,
    /// What the worker reported when it stopped.
    pub(crate) report: RunReport,
    /// From the enqueue until every job was delivered or dead (or the deadline).
    pub(crate) elapsed: Duration,
    /// Why the run stopped before every job was accounted for: the hard deadline
    /// passed, or the user interrupted it.
    pub(crate) stopped_early: Option<&'static str>,
}

impl DemoSummary {
    /// Fills in the counts from `store` and the failure counts from `tally`.
    pub(crate) fn collect(&mut self, store: &Store, tally: &Tally) -> anyhow::Result<()> {
        self.counts = store.stats()?.total;
        self.failures = tally.failures.clone();
        let mut cursor = None;
        loop {
            let page = store.dead_jobs(&DeadFilter::default(), cursor, 500)?;
            for job in &page.jobs {
                let class = job.last_error.as_ref().map_or("unknown", |e| &e.class);
                *self.dead_by_class.entry(class.to_owned()).or_default() += 1;
                let reason = match tally.last.get(&job.id) {
                    Some((_, Some(status))) => format!("{class} (HTTP {status})"),
                    _ => class.to_owned(),
                };
                *self.dead.entry(reason).or_default() += 1;
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(())
    }

    /// Whether every job is accounted for: each one the demo enqueued was delivered or
    /// is dead, and nothing is left waiting or running.
    pub(crate) fn accounting_holds(&self) -> bool {
        let c = &self.counts;
        self.stopped_early.is_none()
            && c.enqueued == self.requested
            && c.completed + c.dead == c.enqueued
            && c.live() == 0
    }

    /// Retries per class: failures that were followed by another attempt (a class's
    /// failures minus the jobs that died of it).
    pub(crate) fn retries(&self) -> BTreeMap<String, u64> {
        self.failures
            .iter()
            .map(|(class, n)| {
                let dead = self.dead_by_class.get(class).copied().unwrap_or(0);
                (class.clone(), n.saturating_sub(dead))
            })
            .collect()
    }

    /// Writes the summary for people.
    pub(crate) fn print(&self, out: &mut impl Write) -> io::Result<()> {
        let c = &self.counts;
        writeln!(out)?;
        writeln!(out, "tenax demo: summary")?;
        writeln!(out, "  downstream    {} (mock media server)", self.base_url)?;
        writeln!(out, "  enqueued      {}", c.enqueued)?;
        writeln!(out, "  delivered     {}", c.completed)?;
        writeln!(out, "  dead          {}{}", c.dead, reasons(&self.dead))?;
        if c.live() > 0 {
            writeln!(
                out,
                "  left over     {} waiting, {} retrying, {} running",
                c.waiting, c.retrying, c.running
            )?;
        }
        writeln!(out, "  attempts      {}", self.report.started)?;
        writeln!(
            out,
            "  retries by class (failed attempts that were tried again):"
        )?;
        let retries = self.retries();
        if retries.values().all(|&n| n == 0) {
            writeln!(out, "    none")?;
        }
        for (class, n) in retries.iter().filter(|&(_, &n)| n > 0) {
            writeln!(out, "    {class:<13} {n:>4}  {}", why(class))?;
        }
        self.print_breaker(out)?;
        writeln!(
            out,
            "  total time    {:.1} s{}",
            self.elapsed.as_secs_f64(),
            self.stopped_early
                .map_or(String::new(), |why| format!(" (stopped early: {why})"))
        )?;
        writeln!(out)?;
        if self.accounting_holds() {
            writeln!(
                out,
                "every job accounted for: delivered + dead = enqueued ({} + {} = {})",
                c.completed, c.dead, c.enqueued
            )
        } else {
            writeln!(
                out,
                "MISMATCH: delivered + dead = {} + {} = {}, but {} were enqueued ({} requested) \
                 and {} are still live",
                c.completed,
                c.dead,
                c.completed + c.dead,
                c.enqueued,
                self.requested,
                c.live()
            )
        }
    }

    fn print_breaker(&self, out: &mut impl Write) -> io::Result<()> {
        let b = &self.breaker;
        let paused: Duration = b.paused.iter().sum();
        let failed_probes = b.openings.saturating_sub(u64::from(b.outages));
        let still_open = (b.paused.len() as u64) < u64::from(b.outages);
        let mut text = match b.outages {
            0 => "never opened".to_owned(),
            n => format!("opened {n} time(s), {failed_probes} more after failed probes"),
        };
        if !b.paused.is_empty() {
            text.push_str(&format!("; queue paused {:.1} s", paused.as_secs_f64()));
        }
        if still_open {
            text.push_str("; still open at the end");
        }
        writeln!(out, "  breaker       {text}")?;
        match self.downstream_outage {
            Some(d) => writeln!(
                out,
                "  outage        the downstream refused connections for {:.1} s",
                d.as_secs_f64()
            ),
            None => writeln!(out, "  outage        none ended during the run"),
        }
    }
}

/// `" = 4 permanent (HTTP 400) + 1 not_found"`, or nothing when no job died.
fn reasons(dead: &BTreeMap<String, u64>) -> String {
    if dead.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = dead.iter().map(|(r, n)| format!("{n} {r}")).collect();
    format!(" = {}", parts.join(" + "))
}

/// What a class of failure meant in this demo.
fn why(class: &str) -> &'static str {
    match class {
        "not_found" => "404: the item was not scanned yet",
        "transient" => "503 with Retry-After, or a connection cut by the outage",
        "unavailable" => "connection refused during the outage",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounting_needs_every_job_delivered_or_dead_and_nothing_live() {
        let mut summary = DemoSummary {
            requested: 10,
            ..DemoSummary::default()
        };
        summary.counts.enqueued = 10;
        summary.counts.completed = 8;
        summary.counts.dead = 2;
        assert!(summary.accounting_holds());
        summary.counts.completed = 7;
        summary.counts.retrying = 1;
        assert!(!summary.accounting_holds());
        summary.counts.completed = 8;
        summary.counts.retrying = 0;
        summary.stopped_early = Some("the deadline passed");
        assert!(!summary.accounting_holds());
    }
}
