//! `plex-reconcile`: find the scenes whose Plex item differs from Stash, and queue them.
//!
//! Run by a `[[schedules]]` entry (`kind = "plex-reconcile"`, payload `{"since": "24h"}`
//! or `{}` for every scene). One job reads one page of scenes in id order, compares each
//! with its Plex item as [`plex-sync`](crate::SYNC_KIND) would edit it, and enqueues a
//! `plex-sync` job for each that differs, together with the job for the next page, in
//! one atomic batch. A long reconciliation is thus a chain of short jobs: a crash or a
//! Plex outage in the middle costs one page, never a restart from the first scene, and
//! no job runs into the attempt timeout. The sync jobs use the dedup key `scene-<id>` in
//! keep mode: a scene already waiting is not queued twice.
//!
//! Scenes Plex does not have (or matches only by file name) are counted and logged,
//! not queued: their sync would only wait for a scan that may never come. Posters are
//! not compared (Plex cannot tell which image it holds).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tenax_core::{DedupMode, NewJob};
use tenax_worker::{Handler, HandlerError, HandlerFuture, JobRun};

use crate::app::App;
use crate::failure::Failure;
use crate::payload::{ReconcilePayload, SyncPayload};
use crate::plex::{Catalog, Match};
use crate::stash::Scene;
use crate::sync::SYNC_KIND;

/// The job kind.
pub const RECONCILE_KIND: &str = "plex-reconcile";

/// The `plex-reconcile` handler.
#[derive(Clone)]
pub struct PlexReconcile {
    app: Arc<App>,
}

impl PlexReconcile {
    /// The handler of `app`.
    pub fn new(app: Arc<App>) -> Self {
        PlexReconcile { app }
    }
}

impl Handler for PlexReconcile {
    fn handle(&self, job: JobRun) -> HandlerFuture {
        let app = Arc::clone(&self.app);
        Box::pin(async move {
            let payload = ReconcilePayload::parse(&job.payload).map_err(HandlerError::permanent)?;
            app.reconcile(&payload, &job.queue)
                .await
                .map_err(|f| f.into_handler_error(job.policy()))
        })
    }

    fn validate(&self, payload: &[u8]) -> Result<(), HandlerError> {
        ReconcilePayload::parse(payload)
            .map(drop)
            .map_err(HandlerError::permanent)
    }
}

/// What one page found.
#[derive(Debug, Default)]
struct Tally {
    in_sync: usize,
    queued: usize,
    missing: usize,
    low_confidence: usize,
    ambiguous: usize,
}

impl App {
    async fn reconcile(&self, payload: &ReconcilePayload, queue: &str) -> Result<(), Failure> {
        // The store's clock, as every time tenax records.
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(self.store.now().as_millis());
        let since = payload.updated_since(now).map_err(Failure::permanent)?;
        let limit = self.settings.reconcile_page_size;
        let scenes = self
            .stash
            .scenes_after(payload.after_id, since.as_deref(), limit)
            .await?;
        let catalog = self.recent_catalog().await?;
        let mut tally = Tally::default();
        let mut jobs = Vec::new();
        for scene in &scenes {
            if self.differs(scene, &catalog, &mut tally).await? {
                let sync = SyncPayload::new(scene.id.clone());
                jobs.push(
                    NewJob::new(SYNC_KIND, sync.to_bytes())
                        .with_queue(queue)
                        .with_dedup_key(sync.dedup_key(), DedupMode::KeepExisting),
                );
                tally.queued += 1;
            }
        }
        let last_id = scenes.last().and_then(|s| s.id.parse::<u64>().ok());
        let next = match last_id {
            Some(after_id) if scenes.len() >= limit as usize => Some(ReconcilePayload {
                since: since.clone(),
                after_id,
            }),
            _ => None,
        };
        if let Some(next) = &next {
            let key = format!(
                "reconcile:{}:{}",
                next.since.as_deref().unwrap_or("all"),
                next.after_id
            );
            jobs.push(
                NewJob::new(RECONCILE_KIND, next.to_bytes())
                    .with_queue(queue)
                    .with_dedup_key(key, DedupMode::KeepExisting),
            );
        }
        if !jobs.is_empty() {
            self.store.enqueue_batch_async(jobs).await.map_err(|e| {
                Failure::Decided(HandlerError::transient(format!("enqueueing failed: {e}")))
            })?;
        }
        tracing::info!(
            after_id = payload.after_id,
            since = since.as_deref().unwrap_or("all"),
            scenes = scenes.len(),
            in_sync = tally.in_sync,
            queued = tally.queued,
            missing = tally.missing,
            low_confidence = tally.low_confidence,
            ambiguous = tally.ambiguous,
            more = next.is_some(),
            "reconciled a page of scenes"
        );
        Ok(())
    }

    /// Whether `scene`'s Plex item would be edited by a sync.
    async fn differs(
        &self,
        scene: &Scene,
        catalog: &Catalog,
        tally: &mut Tally,
    ) -> Result<bool, Failure> {
        let files = self.plex_paths(&scene.file_paths());
        match catalog.find(&files, self.settings.strict_matching) {
            Match::One(entry, _) => match self.checked_item(&entry).await? {
                Some(item) => {
                    let plan = crate::plex::plan(&self.settings.fields.desired(scene), &item);
                    if plan.is_empty() {
                        tally.in_sync += 1;
                    }
                    Ok(!plan.is_empty())
                }
                None => {
                    tally.missing += 1;
                    Ok(false)
                }
            },
            Match::Missing => {
                tally.missing += 1;
                Ok(false)
            }
            Match::NameOnly(_) => {
                tally.low_confidence += 1;
                Ok(false)
            }
            Match::Ambiguous(_) => {
                tally.ambiguous += 1;
                Ok(false)
            }
        }
    }
}
