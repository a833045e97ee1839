//! Background upkeep on the connection thread: counter folding every second, and every
//! minute the server clock's offset and the dead letter retention.
//!
//! Each host's store does this on its own; every step is safe to run on several hosts
//! at once (see `stats.rs` for folding; a purge deletes each dead row once).

use std::sync::Arc;
use std::time::Duration;

use tenax_core::Clock;

use crate::clock::{RESYNC, ServerClock};
use crate::db::Db;

const FOLD_EVERY: Duration = Duration::from_secs(1);

pub(crate) struct Upkeep {
    pub(crate) db: Db,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) server_clock: Option<Arc<ServerClock>>,
    pub(crate) dead_retention: Option<Duration>,
}

impl Upkeep {
    pub(crate) async fn run(self) {
        let mut ticks: u64 = 0;
        let per_minute = RESYNC.as_secs() / FOLD_EVERY.as_secs();
        loop {
            tokio::time::sleep(FOLD_EVERY).await;
            ticks += 1;
            if let Err(e) = self.db.fold_counts().await {
                tracing::warn!(error = %e, "folding the counters failed; trying again later");
            }
            if !ticks.is_multiple_of(per_minute) {
                continue;
            }
            if let Some(clock) = &self.server_clock {
                let synced = match self.db.pool.get().await {
                    Ok(client) => clock.sync(&client).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                if let Err(e) = synced {
                    tracing::warn!(error = %e, "reading the server's clock failed");
                }
            }
            if let Some(age) = self.dead_retention {
                let now = self.clock.now();
                match self.db.clone().purge_dead(age, now).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(purged = n, "dead letters past their retention"),
                    Err(e) => tracing::warn!(error = %e, "purging old dead letters failed"),
                }
            }
        }
    }
}
