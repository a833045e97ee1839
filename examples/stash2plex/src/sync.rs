//! `plex-sync`: one scene, read from Stash now, written to its Plex item.
//!
//! The steps of an attempt, each of which may fail with its own class: read the scene
//! (Stash), find the item holding its file (Plex, see [`crate::plex::Index`]), upload
//! the cover if it changed, edit and lock the fields that differ, and only then store
//! the poster's hash. Nothing is recorded before Plex confirmed it, so an attempt cut
//! short (a crash, a timeout, `kill -9`) is simply run again: every step is idempotent.

use std::sync::Arc;

use tenax_worker::{Handler, HandlerError, HandlerFuture, JobRun};
use tokio::time::Instant;

use crate::app::{App, Located};
use crate::failure::Failure;
use crate::payload::SyncPayload;
use crate::plex::Entry;
use crate::poster;
use crate::stash::Scene;

/// The job kind.
pub const SYNC_KIND: &str = "plex-sync";

/// The `plex-sync` handler.
#[derive(Clone)]
pub struct PlexSync {
    app: Arc<App>,
}

impl PlexSync {
    /// The handler of `app`.
    pub fn new(app: Arc<App>) -> Self {
        PlexSync { app }
    }
}

impl Handler for PlexSync {
    fn handle(&self, job: JobRun) -> HandlerFuture {
        let app = Arc::clone(&self.app);
        Box::pin(async move {
            let started = Instant::now();
            let payload = SyncPayload::parse(&job.payload).map_err(HandlerError::permanent)?;
            app.sync(&payload, started)
                .await
                .map_err(|f| f.into_handler_error(job.policy()))
        })
    }

    fn validate(&self, payload: &[u8]) -> Result<(), HandlerError> {
        SyncPayload::parse(payload)
            .map(drop)
            .map_err(HandlerError::permanent)
    }
}

impl App {
    async fn sync(&self, payload: &SyncPayload, started: Instant) -> Result<(), Failure> {
        let id = &payload.scene_id;
        let Some(scene) = self.stash.scene(id).await? else {
            return Err(Failure::permanent(format!(
                "Stash has no scene {id} (deleted since it was queued?)"
            )));
        };
        let files = self.plex_paths(&scene.file_paths());
        if files.is_empty() {
            tracing::info!(scene = %id, "the scene has no file; nothing to sync");
            return Ok(());
        }
        let (entry, item) = match self.locate(&files, started).await? {
            Located::Item(entry, item) => (entry, item),
            Located::Skipped(why) => {
                tracing::info!(scene = %id, "skipped (skip_missing): {why}");
                return Ok(());
            }
        };
        let mut plan = crate::plex::plan(&self.settings.fields.desired(&scene), &item);
        let poster = if self.settings.poster {
            self.upload_poster(&scene, &entry).await?
        } else {
            None
        };
        if poster.is_some() && !item.is_locked("thumb") {
            plan.lock("thumb");
        }
        if !plan.is_empty() {
            self.plex
                .edit(&entry.section, &entry.rating_key, &plan.params)
                .await?;
        }
        if let Some(fingerprint) = &poster {
            self.remember_poster(&entry.rating_key, fingerprint).await?;
        }
        log_synced(id, &entry, &plan.fields, poster.is_some());
        Ok(())
    }

    /// Uploads the scene's cover if it differs from the last one uploaded to the item;
    /// the new fingerprint, to store once the edit is done.
    async fn upload_poster(&self, scene: &Scene, entry: &Entry) -> Result<Option<String>, Failure> {
        let Some(url) = scene.screenshot() else {
            return Ok(None);
        };
        let Some(image) = self.stash.image(url).await? else {
            return Ok(None);
        };
        let fingerprint = poster::fingerprint(&image);
        let key = poster::state_key(&entry.rating_key);
        let store = Arc::clone(&self.store);
        let stored = tokio::task::spawn_blocking(move || store.state(&key))
            .await
            .map_err(|e| store_failure(&e.to_string()))?
            .map_err(|e| store_failure(&e.to_string()))?;
        if stored.as_deref() == Some(fingerprint.as_bytes()) {
            return Ok(None);
        }
        self.plex.upload_poster(&entry.rating_key, image).await?;
        Ok(Some(fingerprint))
    }

    async fn remember_poster(&self, rating_key: &str, fingerprint: &str) -> Result<(), Failure> {
        let key = poster::state_key(rating_key);
        let value = fingerprint.as_bytes().to_vec();
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || store.put_state(&key, &value))
            .await
            .map_err(|e| store_failure(&e.to_string()))?
            .map_err(|e| store_failure(&e.to_string()))
    }
}

fn store_failure(message: &str) -> Failure {
    Failure::Decided(HandlerError::transient(format!(
        "the job store failed on the poster's hash: {message}"
    )))
}

fn log_synced(scene: &str, entry: &Entry, fields: &[&str], poster: bool) {
    if fields.is_empty() && !poster {
        tracing::info!(scene, item = %entry.rating_key, "already in sync");
    } else {
        tracing::info!(
            scene,
            item = %entry.rating_key,
            fields = %fields.join(","),
            poster,
            "synced to Plex"
        );
    }
}
