//! Plex: its HTTP API, the in-memory catalogue of its files, and the edits.

mod catalog;
mod client;
mod edit;
pub mod encode;
mod index;
pub mod model;

pub use catalog::{Catalog, Confidence, Entry, Match};
pub use client::{MOVIE_TYPE, PlexClient};
pub use edit::{Desired, Plan, plan};
pub use index::{Freshness, Index};
