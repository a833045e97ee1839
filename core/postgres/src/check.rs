//! The consistency check: the jobs scanned against the counters, in one snapshot.
//!
//! Much of what the embedded store must check is a constraint here (one row per job,
//! so nothing is both dead and live; a running job has a token and a dead one a
//! time; one dedup holder per key, and only a live one). What is left is checked:
//! the counters equal a count of the rows, per queue and state; every record decodes;
//! no id is above the sequence; no two running jobs share a lease token.

use std::collections::{BTreeMap, BTreeSet};

use tenax_core::{Consistency, QueueCounts, Result};
use tokio_postgres::IsolationLevel;

use crate::db::Db;
use crate::row::{self, job_columns};
use crate::stats::{SUMS, counts};

impl Db {
    pub(crate) async fn check_consistency(self) -> Result<Consistency> {
        self.run("consistency check", |mut client| async move {
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let mut report = Consistency::default();
            let mut kept = BTreeMap::new();
            for r in tx.query(SUMS, &[]).await? {
                kept.insert(r.get::<_, String>(0), counts(&r));
            }
            let mut found: BTreeMap<String, QueueCounts> = BTreeMap::new();
            for r in tx
                .query(
                    "SELECT queue, state, attempt > 0, count(*) FROM jobs GROUP BY 1, 2, 3",
                    &[],
                )
                .await?
            {
                let c = found.entry(r.get(0)).or_default();
                let n = u64::try_from(r.get::<_, i64>(3)).unwrap_or(0);
                match (r.get::<_, &str>(1), r.get::<_, bool>(2)) {
                    ("pending", false) => c.waiting += n,
                    ("pending", true) => c.retrying += n,
                    ("running", _) => c.running += n,
                    _ => c.dead += n,
                }
            }
            let states = |c: &QueueCounts| [c.waiting, c.retrying, c.running, c.dead];
            let queues: BTreeSet<&String> = kept.keys().chain(found.keys()).collect();
            for queue in queues {
                let k = kept.get(queue).copied().unwrap_or_default();
                let f = found.get(queue).copied().unwrap_or_default();
                if states(&k) != states(&f) {
                    report.violation(format!(
                        "queue {queue:?}: counters say waiting/retrying/running/dead {:?}, \
                         a scan finds {:?}",
                        states(&k),
                        states(&f)
                    ));
                }
            }
            for r in tx
                .query(&format!("SELECT {} FROM jobs", job_columns!()), &[])
                .await?
            {
                report.jobs += 1;
                if let Err(e) = row::job(&r) {
                    report.violation(e.to_string());
                }
            }
            let above: i64 = tx
                .query_one(
                    "SELECT count(*) FROM jobs WHERE id > (SELECT last_value FROM job_id)",
                    &[],
                )
                .await?
                .get(0);
            if above > 0 {
                report.violation(format!("{above} jobs have ids above the id sequence"));
            }
            for r in tx
                .query(
                    "SELECT lease_token, array_agg(id ORDER BY id) FROM jobs
                     WHERE state = 'running' GROUP BY 1 HAVING count(*) > 1",
                    &[],
                )
                .await?
            {
                report.violation(format!(
                    "jobs {:?} share the lease token {}",
                    r.get::<_, Vec<i64>>(1),
                    r.get::<_, i64>(0)
                ));
            }
            tx.commit().await?;
            Ok(report)
        })
        .await
    }
}
