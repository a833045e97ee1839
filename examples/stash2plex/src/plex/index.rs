//! The catalogue of Plex's files, listed from the configured libraries and listed again
//! when a lookup needs newer data.
//!
//! Plex has no "which item holds this file" query, so the libraries are listed (a page
//! at a time, files included) and kept in memory. A lookup uses the current catalogue;
//! when it misses, or the item it found is gone, the caller asks for a catalogue listed
//! *after its attempt began*: a job whose file was scanned a minute ago is then looked up
//! in a listing that includes it. Concurrent callers share one listing (one refresh runs
//! at a time, and a caller that waited for it finds it fresh enough); a listing made at
//! most `listing_min_interval` before an attempt also counts, so that a thousand jobs
//! waiting for a scan cost one listing per interval, not one each. The catalogue is
//! only a way to find candidates: every match is checked against the item itself before
//! anything is edited, so a stale catalogue can cost a listing, never a wrong edit.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::catalog::Catalog;
use super::client::PlexClient;
use super::model::Section;
use crate::Failure;

/// How new a catalogue a caller needs.
#[derive(Clone, Copy, Debug)]
pub enum Freshness {
    /// Whatever is there (listing only if nothing was listed yet).
    Any,
    /// Listed at or after this instant.
    ListedSince(Instant),
    /// Listed within this long.
    MaxAge(Duration),
}

#[derive(Clone)]
struct Listed {
    catalog: Arc<Catalog>,
    at: Instant,
}

/// The catalogue and how to renew it.
pub struct Index {
    libraries: Vec<String>,
    page_size: u64,
    current: Mutex<Option<Listed>>,
    refresh: tokio::sync::Mutex<()>,
}

impl Index {
    /// An index of the libraries named `libraries` (every movie library if empty),
    /// listed `page_size` items per request.
    pub fn new(libraries: Vec<String>, page_size: u64) -> Self {
        Index {
            libraries,
            page_size: page_size.max(1),
            current: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    fn current(&self) -> Option<Listed> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn fresh(listed: &Listed, need: Freshness) -> bool {
        match need {
            Freshness::Any => true,
            Freshness::ListedSince(t) => listed.at >= t,
            Freshness::MaxAge(age) => listed.at.elapsed() <= age,
        }
    }

    /// A catalogue at least as fresh as `need`, listing the libraries if needed.
    ///
    /// # Errors
    /// A failed Plex call, or a configured library Plex does not have (permanent: a
    /// configuration to fix, then requeue the dead letters).
    pub async fn catalog(
        &self,
        plex: &PlexClient,
        need: Freshness,
    ) -> Result<Arc<Catalog>, Failure> {
        if let Some(listed) = self.current().filter(|l| Self::fresh(l, need)) {
            return Ok(listed.catalog);
        }
        let _one_at_a_time = self.refresh.lock().await;
        if let Some(listed) = self.current().filter(|l| Self::fresh(l, need)) {
            return Ok(listed.catalog);
        }
        let started = Instant::now();
        let catalog = Arc::new(self.list(plex).await?);
        tracing::debug!(
            items = catalog.items(),
            took_ms = started.elapsed().as_millis() as u64,
            "listed the Plex libraries"
        );
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(Listed {
            catalog: Arc::clone(&catalog),
            at: started,
        });
        Ok(catalog)
    }

    async fn list(&self, plex: &PlexClient) -> Result<Catalog, Failure> {
        let sections = self.sections(plex).await?;
        let mut catalog = Catalog::default();
        for section in sections {
            let mut start = 0;
            loop {
                let page = plex.items_page(&section.key, start, self.page_size).await?;
                let got = page.metadata.len() as u64;
                catalog.add(&section.key, &page.metadata);
                start += got;
                // Plex gives `totalSize` for a paged listing; without it, a full page
                // means there may be more.
                let more = match page.total_size {
                    Some(total) => start < total,
                    None => got == self.page_size,
                };
                if got == 0 || !more {
                    break;
                }
            }
        }
        Ok(catalog)
    }

    /// The sections to list: those named in the configuration, or every movie library.
    async fn sections(&self, plex: &PlexClient) -> Result<Vec<Section>, Failure> {
        let all = plex.sections().await?;
        if self.libraries.is_empty() {
            return Ok(all.into_iter().filter(|s| s.kind == "movie").collect());
        }
        let mut chosen = Vec::new();
        for name in &self.libraries {
            match all
                .iter()
                .find(|s| s.title.trim().eq_ignore_ascii_case(name.trim()))
            {
                Some(section) => chosen.push(section.clone()),
                None => {
                    let names: Vec<&str> = all.iter().map(|s| s.title.as_str()).collect();
                    return Err(Failure::permanent(format!(
                        "Plex has no library named `{name}` (stash2plex.plex.libraries); it has: {}",
                        names.join(", ")
                    )));
                }
            }
        }
        Ok(chosen)
    }
}
