//! A Stash scene's metadata as Plex fields: which fields, and their values.
//!
//! Stash is the source of truth for every field it syncs: an empty studio or description
//! clears Plex's. The one exception is the title: a scene without one keeps Plex's (the
//! file name Plex chose is better than nothing).

use crate::fields::{SyncField, TagField};
use crate::plex::Desired;
use crate::stash::{Named, Scene};

/// What to sync and where lists go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldMap {
    /// The fields synced.
    pub fields: Vec<SyncField>,
    /// Where performers go.
    pub performers_as: TagField,
    /// Where tags go.
    pub tags_as: TagField,
}

impl Default for FieldMap {
    fn default() -> Self {
        FieldMap {
            fields: SyncField::ALL.to_vec(),
            performers_as: TagField::Actor,
            tags_as: TagField::Genre,
        }
    }
}

impl FieldMap {
    /// The Plex values `scene` asks for.
    pub fn desired(&self, scene: &Scene) -> Desired {
        let on = |f: SyncField| self.fields.contains(&f);
        let mut desired = Desired::default();
        if on(SyncField::Title) {
            desired.title = scene
                .title
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
        }
        if on(SyncField::Date) {
            desired.date = Some(
                scene
                    .date
                    .as_deref()
                    .and_then(plex_date)
                    .unwrap_or_default(),
            );
        }
        if on(SyncField::Studio) {
            desired.studio = Some(
                scene
                    .studio
                    .as_ref()
                    .map(|s| s.name.trim().to_owned())
                    .unwrap_or_default(),
            );
        }
        if on(SyncField::Summary) {
            desired.summary = Some(text(scene.details.as_deref().unwrap_or("")));
        }
        if on(SyncField::Performers) {
            desired
                .tags
                .push((self.performers_as, names(&scene.performers)));
        }
        if on(SyncField::Tags) {
            desired.tags.push((self.tags_as, names(&scene.tags)));
        }
        desired
    }
}

/// A Stash date as Plex takes it: `YYYY-MM-DD`; a year or a month alone gets the first
/// day; anything else is no date.
pub fn plex_date(date: &str) -> Option<String> {
    let parts: Vec<&str> = date.trim().split('-').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [y] if digits(y, 4) => Some(format!("{y}-01-01")),
        [y, m] if digits(y, 4) && digits(m, 2) => Some(format!("{y}-{m}-01")),
        [y, m, d] if digits(y, 4) && digits(m, 2) && digits(d, 2) => Some(format!("{y}-{m}-{d}")),
        _ => None,
    }
}

/// Text with Windows line ends made Unix ones and the ends trimmed, so that an unchanged
/// description compares equal to what Plex stored.
fn text(s: &str) -> String {
    s.replace("\r\n", "\n").trim().to_owned()
}

/// Names, trimmed, without empties or repeats, in Stash's order.
fn names(list: &[Named]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for n in list {
        let name = n.name.trim();
        if !name.is_empty() && !out.iter().any(|o| o == name) {
            out.push(name.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(n: &str) -> Named {
        Named { name: n.into() }
    }

    #[test]
    fn a_scene_becomes_every_plex_field() {
        let scene = Scene {
            id: "4".into(),
            title: Some(" Ünïcode 🎬 title ".into()),
            details: Some("line one\r\nline two\n".into()),
            date: Some("2023-07".into()),
            studio: Some(named("Studio")),
            performers: vec![named("Ann"), named("Ann"), named(" ")],
            tags: vec![named("b"), named("a")],
            ..Scene::default()
        };
        let d = FieldMap::default().desired(&scene);
        assert_eq!(d.title.as_deref(), Some("Ünïcode 🎬 title"));
        assert_eq!(d.summary.as_deref(), Some("line one\nline two"));
        assert_eq!(d.date.as_deref(), Some("2023-07-01"));
        assert_eq!(d.studio.as_deref(), Some("Studio"));
        assert_eq!(
            d.tags,
            [
                (TagField::Actor, vec!["Ann".to_owned()]),
                (TagField::Genre, vec!["b".to_owned(), "a".to_owned()])
            ]
        );
    }

    #[test]
    fn empty_values_clear_except_the_title_and_unsynced_fields_stay_out() {
        let map = FieldMap {
            fields: vec![SyncField::Title, SyncField::Studio, SyncField::Tags],
            performers_as: TagField::Actor,
            tags_as: TagField::Label,
        };
        let d = map.desired(&Scene::default());
        assert_eq!(d.title, None);
        assert_eq!(d.studio.as_deref(), Some(""));
        assert_eq!(d.summary, None);
        assert_eq!(d.date, None);
        assert_eq!(d.tags, [(TagField::Label, vec![])]);
    }

    #[test]
    fn dates_are_completed_or_dropped() {
        assert_eq!(plex_date("2024").as_deref(), Some("2024-01-01"));
        assert_eq!(plex_date("2024-02-29").as_deref(), Some("2024-02-29"));
        assert_eq!(plex_date("24-1-1"), None);
        assert_eq!(plex_date("soon"), None);
    }
}
