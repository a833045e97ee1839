//! stash2plex: Stash scene metadata synced to Plex, as an application hosted by the
//! tenax daemon.
//!
//! A Stash plugin enqueues `{"scene_id": ...}` on every scene change; the daemon's
//! worker runs [`PlexSync`] for each job: it reads the scene from Stash (at delivery
//! time, so a job that waited syncs the latest data), finds the Plex item holding the
//! same file, edits and locks the fields that differ and uploads the cover when it
//! changed. Failures are sorted into tenax's classes ([`classify`]), so a Plex still
//! scanning retries slowly, a Plex that is down opens the breaker, and a wrong token
//! goes to the dead letters at once. [`PlexReconcile`], run by a schedule, queues the
//! scenes whose Plex item drifted.

#![forbid(unsafe_code)]

mod app;
pub mod classify;
mod config;
mod failure;
pub mod fields;
mod http;
pub mod mapping;
pub mod paths;
pub mod payload;
pub mod plex;
pub mod poster;
mod reconcile;
pub mod stash;
mod sync;

pub use app::{App, Settings};
pub use config::SyncConfig;
pub use failure::Failure;
pub use reconcile::{PlexReconcile, RECONCILE_KIND};
pub use sync::{PlexSync, SYNC_KIND};
