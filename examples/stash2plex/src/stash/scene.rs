//! A Stash scene as its GraphQL API answers, with the fields this application syncs.

use serde::Deserialize;

/// The fields asked for each scene (`findScene` and `findScenes` alike).
pub const SCENE_FIELDS: &str = "id title details date updated_at \
    studio { name } performers { name } tags { name } files { path } paths { screenshot }";

/// A scene.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Scene {
    /// Its id (an integer, sent as a string as GraphQL `ID`s are).
    pub id: String,
    /// Title; may be empty.
    #[serde(default)]
    pub title: Option<String>,
    /// Description; Plex calls it the summary.
    #[serde(default)]
    pub details: Option<String>,
    /// Release date, `YYYY-MM-DD` (older scenes may hold only a year or a month).
    #[serde(default)]
    pub date: Option<String>,
    /// When it last changed (RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Its studio.
    #[serde(default)]
    pub studio: Option<Named>,
    /// Its performers.
    #[serde(default)]
    pub performers: Vec<Named>,
    /// Its tags.
    #[serde(default)]
    pub tags: Vec<Named>,
    /// Its files, the primary one first.
    #[serde(default)]
    pub files: Vec<File>,
    /// URLs Stash serves for it.
    #[serde(default)]
    pub paths: Option<Paths>,
}

impl Scene {
    /// The paths of its files, the primary one first.
    pub fn file_paths(&self) -> Vec<String> {
        self.files.iter().map(|f| f.path.clone()).collect()
    }

    /// The URL of its screenshot (the cover), if Stash gave one.
    pub fn screenshot(&self) -> Option<&str> {
        self.paths
            .as_ref()
            .and_then(|p| p.screenshot.as_deref())
            .filter(|s| !s.is_empty())
    }
}

/// A studio, performer or tag: only its name is synced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Named {
    /// The name.
    pub name: String,
}

/// A video file of a scene.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct File {
    /// Its path as Stash sees it.
    pub path: String,
}

/// URLs of a scene's generated media.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Paths {
    /// The screenshot (cover image).
    #[serde(default)]
    pub screenshot: Option<String>,
}
