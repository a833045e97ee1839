//! The application's state, shared by its handlers: the two clients, the Plex
//! catalogue, the store (for enqueueing and the poster hashes) and the settings.

use std::sync::Arc;
use std::time::Duration;

use tenax_core::JobStore;
use tenax_worker::HandlerError;
use tokio::time::Instant;

use crate::failure::Failure;
use crate::mapping::FieldMap;
use crate::paths::{self, PathMapping};
use crate::plex::{Catalog, Entry, Freshness, Index, Match, PlexClient, model::Item};
use crate::stash::StashClient;

/// The settings of the application, credentials resolved. Built from the `[stash2plex]`
/// section of the configuration file (see [`crate::SyncConfig`]).
#[derive(Clone)]
pub struct Settings {
    /// Stash's URL.
    pub stash_url: String,
    /// Stash's API key, if it has credentials set.
    pub stash_api_key: Option<String>,
    /// Plex's URL.
    pub plex_url: String,
    /// The Plex token.
    pub plex_token: String,
    /// Libraries to look in; empty: every movie library.
    pub libraries: Vec<String>,
    /// Stash paths to Plex paths.
    pub path_mappings: Vec<PathMapping>,
    /// Only exact path matches are edited.
    pub strict_matching: bool,
    /// A scene Plex does not have completes without an edit instead of retrying.
    pub skip_missing: bool,
    /// What to sync.
    pub fields: FieldMap,
    /// Upload the scene's cover as the poster when it changed.
    pub poster: bool,
    /// The limit of one request.
    pub request_timeout: Duration,
    /// The limit of connecting.
    pub connect_timeout: Duration,
    /// Items per page when listing a library.
    pub listing_page_size: u64,
    /// How old a listing reconciliation may use.
    pub listing_max_age: Duration,
    /// A listing this much older than an attempt still counts as new for it, so that
    /// many jobs retrying at once cost one listing per interval, not one each.
    pub listing_min_interval: Duration,
    /// Scenes per reconciliation job.
    pub reconcile_page_size: u32,
}

/// What the handlers share.
pub struct App {
    pub(crate) stash: StashClient,
    pub(crate) plex: PlexClient,
    pub(crate) index: Index,
    pub(crate) store: Arc<dyn JobStore>,
    pub(crate) settings: Settings,
}

/// The outcome of looking a scene's files up in Plex.
pub(crate) enum Located {
    /// The item to edit, as Plex gave it just now.
    Item(Entry, Box<Item>),
    /// Not in Plex, and `skip_missing` says that is fine.
    Skipped(String),
}

impl App {
    /// The application on `store`.
    ///
    /// # Errors
    /// A bad URL or credential, or an HTTP client that cannot be built.
    pub fn new(settings: Settings, store: Arc<dyn JobStore>) -> Result<Arc<Self>, String> {
        let http = crate::http::client(settings.connect_timeout)?;
        let stash = StashClient::new(
            http.clone(),
            &settings.stash_url,
            settings.stash_api_key.as_deref(),
            settings.request_timeout,
        )
        .map_err(|e| format!("stash: {e}"))?;
        let plex = PlexClient::new(
            http,
            &settings.plex_url,
            &settings.plex_token,
            settings.request_timeout,
        )
        .map_err(|e| format!("plex: {e}"))?;
        let index = Index::new(settings.libraries.clone(), settings.listing_page_size);
        Ok(Arc::new(App {
            stash,
            plex,
            index,
            store,
            settings,
        }))
    }

    /// The health probe a half-open breaker asks before it lets a job through: Plex's
    /// identity, then Stash's version; both must answer.
    ///
    /// # Errors
    /// The first that does not, classified as its jobs would be.
    pub async fn probe(&self) -> Result<(), HandlerError> {
        self.plex
            .identity()
            .await
            .map_err(|e| e.to_handler_error(None))?;
        self.stash
            .version()
            .await
            .map_err(|e| e.to_handler_error(None))?;
        Ok(())
    }

    /// Scene files (Stash paths) as Plex sees them.
    pub(crate) fn plex_paths(&self, stash_paths: &[String]) -> Vec<String> {
        stash_paths
            .iter()
            .map(|p| paths::to_plex(p, &self.settings.path_mappings))
            .collect()
    }

    /// The Plex item holding one of `files` (Plex paths), checked against the item
    /// itself. Looks in the current catalogue, then, on a miss or a stale hit, in one
    /// listed after `started` (less `listing_min_interval`; see [`crate::plex::Index`]).
    pub(crate) async fn locate(
        &self,
        files: &[String],
        started: Instant,
    ) -> Result<Located, Failure> {
        let mut last = Match::Missing;
        let recent = started
            .checked_sub(self.settings.listing_min_interval)
            .unwrap_or(started);
        for need in [Freshness::Any, Freshness::ListedSince(recent)] {
            let catalog = self.index.catalog(&self.plex, need).await?;
            last = catalog.find(files, self.settings.strict_matching);
            if let Match::One(entry, _) = &last {
                if let Some(item) = self.checked_item(entry).await? {
                    return Ok(Located::Item(entry.clone(), Box::new(item)));
                }
                last = Match::Missing;
            }
        }
        self.unmatched(last, files)
    }

    /// The item of `entry` if it still holds the entry's file.
    pub(crate) async fn checked_item(&self, entry: &Entry) -> Result<Option<Item>, Failure> {
        Ok(self
            .plex
            .item(&entry.rating_key)
            .await?
            .filter(|item| item.files().any(|f| f == entry.file)))
    }

    /// A catalogue for reconciliation: one listed within `listing_max_age`.
    pub(crate) async fn recent_catalog(&self) -> Result<Arc<Catalog>, Failure> {
        self.index
            .catalog(&self.plex, Freshness::MaxAge(self.settings.listing_max_age))
            .await
    }

    fn unmatched(&self, found: Match, files: &[String]) -> Result<Located, Failure> {
        let file = files.first().map(String::as_str).unwrap_or_default();
        let message = match found {
            // (`One` only arrives here when its item no longer held the file.)
            Match::Missing | Match::One(..) => {
                format!("no item in the Plex libraries has {file} (not scanned yet?)")
            }
            Match::Ambiguous(entries) => {
                return Err(Failure::permanent(format!(
                    "{file} is in {} Plex items ({}); none is edited: keep it in one of \
                     the libraries in stash2plex.plex.libraries",
                    entries.len(),
                    keys(&entries)
                )));
            }
            Match::NameOnly(entries) => format!(
                "no Plex item has {file}; {} item(s) have a file of that name, a \
                 low-confidence match that is not edited ({}): check \
                 stash2plex.path_mappings, or set strict_matching = false",
                entries.len(),
                entries
                    .iter()
                    .map(|e| format!("item {}: {}", e.rating_key, e.file))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        if self.settings.skip_missing {
            return Ok(Located::Skipped(message));
        }
        Err(Failure::not_found(message))
    }
}

fn keys(entries: &[Entry]) -> String {
    entries
        .iter()
        .map(|e| e.rating_key.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
