//! Which metadata is synced, and into which Plex field each list goes.

use serde::Deserialize;

/// A piece of a scene's metadata that can be synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncField {
    /// Stash `title` to Plex `title` (an empty Stash title leaves Plex's alone).
    Title,
    /// Stash `date` to Plex `originallyAvailableAt`.
    Date,
    /// Stash studio name to Plex `studio`.
    Studio,
    /// Stash `details` to Plex `summary`.
    Summary,
    /// Stash performers to the Plex tag field of `performers_as`.
    Performers,
    /// Stash tags to the Plex tag field of `tags_as`.
    Tags,
}

impl SyncField {
    /// Every field, the default of `fields`.
    pub const ALL: [SyncField; 6] = [
        SyncField::Title,
        SyncField::Date,
        SyncField::Studio,
        SyncField::Summary,
        SyncField::Performers,
        SyncField::Tags,
    ];
}

/// A Plex list field ("tag" field) of a movie item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagField {
    /// The cast (`Role` in answers, `actor` in edits).
    Actor,
    /// Genres.
    Genre,
    /// Collections.
    Collection,
    /// Labels.
    Label,
}

impl TagField {
    /// The field's name in edits and locks: `actor`, `genre`, `collection`, `label`.
    pub const fn name(self) -> &'static str {
        match self {
            TagField::Actor => "actor",
            TagField::Genre => "genre",
            TagField::Collection => "collection",
            TagField::Label => "label",
        }
    }
}
