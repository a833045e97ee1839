//! Stash: its GraphQL API, read at delivery time.

mod client;
mod scene;

pub use client::StashClient;
pub use scene::{File, Named, Paths, SCENE_FIELDS, Scene};
