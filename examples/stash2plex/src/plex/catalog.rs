//! Which Plex item holds a file: the catalogue of the configured libraries' files, and
//! the matching rule.
//!
//! # Why strict matching is the default
//!
//! Editing the wrong item is worse than editing none: it overwrites and locks another
//! video's metadata, and nothing later undoes it. So the only match that is trusted by
//! default is exact: one item whose media part has exactly the scene's file path (after
//! the path mapping). An item whose file merely has the same *name* in another folder is
//! a low-confidence match; it is never edited under strict matching, only reported,
//! because it usually means a missing or wrong path mapping. With strict matching off, a
//! single file-name match (compared without case, as the original plugin did) is taken
//! when no exact one exists; several are never taken either way.

use std::collections::HashMap;

use super::model::Item;
use crate::paths::file_name;

/// One file of one item, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The item's `ratingKey`.
    pub rating_key: String,
    /// The key of its library.
    pub section: String,
    /// The file, as Plex sees it.
    pub file: String,
}

/// How a match was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confidence {
    /// The path is the same.
    Exact,
    /// Only the file name is the same (taken only with strict matching off).
    FileName,
}

/// The outcome of a lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Match {
    /// One item to edit.
    One(Entry, Confidence),
    /// Several items have the file itself: never edited.
    Ambiguous(Vec<Entry>),
    /// No item has the path; these have the same file name (low confidence).
    NameOnly(Vec<Entry>),
    /// No item has the file or its name.
    Missing,
}

/// The files of the configured libraries, by path and by lower-case file name.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    by_path: HashMap<String, Vec<Entry>>,
    by_name: HashMap<String, Vec<Entry>>,
    items: usize,
}

impl Catalog {
    /// Adds the files of `items`, listed from the library `section`.
    pub fn add(&mut self, section: &str, items: &[Item]) {
        for item in items {
            self.items += 1;
            for file in item.files() {
                if file.is_empty() {
                    continue;
                }
                let entry = Entry {
                    rating_key: item.rating_key.clone(),
                    section: section.to_owned(),
                    file: file.to_owned(),
                };
                push_unique(
                    self.by_name
                        .entry(file_name(file).to_lowercase())
                        .or_default(),
                    &entry,
                );
                push_unique(self.by_path.entry(file.to_owned()).or_default(), &entry);
            }
        }
    }

    /// How many items were listed.
    pub fn items(&self) -> usize {
        self.items
    }

    /// The item holding one of `files` (Plex paths, the scene's primary file first), by
    /// the rule of the module doc. An exact match of an earlier file wins.
    pub fn find(&self, files: &[String], strict: bool) -> Match {
        for file in files {
            match self.by_path.get(file).map(Vec::as_slice) {
                Some([one]) => return Match::One(one.clone(), Confidence::Exact),
                Some(many @ [_, _, ..]) => return Match::Ambiguous(many.to_vec()),
                _ => {}
            }
        }
        let mut named: Vec<Entry> = Vec::new();
        for file in files {
            if let Some(entries) = self.by_name.get(&file_name(file).to_lowercase()) {
                for e in entries {
                    push_unique(&mut named, e);
                }
            }
        }
        let distinct_items = {
            let mut keys: Vec<&str> = named.iter().map(|e| e.rating_key.as_str()).collect();
            keys.sort_unstable();
            keys.dedup();
            keys.len()
        };
        match (named.is_empty(), strict, distinct_items) {
            (true, _, _) => Match::Missing,
            (false, false, 1) => Match::One(named.swap_remove(0), Confidence::FileName),
            _ => Match::NameOnly(named),
        }
    }
}

fn push_unique(list: &mut Vec<Entry>, entry: &Entry) {
    if !list.contains(entry) {
        list.push(entry.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plex::model::{Media, Part};

    fn item(key: &str, files: &[&str]) -> Item {
        Item {
            rating_key: key.into(),
            media: vec![Media {
                parts: files
                    .iter()
                    .map(|f| Part {
                        file: (*f).to_owned(),
                    })
                    .collect(),
            }],
            ..Item::default()
        }
    }

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        c.add(
            "1",
            &[
                item("10", &["/m/a/Scene One.mp4"]),
                item("11", &["/m/b/two.mp4"]),
            ],
        );
        c.add(
            "2",
            &[
                item("20", &["/other/Scene ONE.mp4"]),
                item("21", &["/m/b/two.mp4"]),
            ],
        );
        c
    }

    fn paths(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn an_exact_path_is_the_only_trusted_match() {
        let c = catalog();
        let m = c.find(&paths(&["/m/a/Scene One.mp4"]), true);
        assert!(
            matches!(m, Match::One(ref e, Confidence::Exact) if e.rating_key == "10"),
            "{m:?}"
        );
    }

    #[test]
    fn a_file_name_match_is_low_confidence_under_strict_matching() {
        let c = catalog();
        match c.find(&paths(&["/stash/x/TWO.mp4"]), true) {
            Match::NameOnly(entries) => assert_eq!(entries.len(), 2),
            other => panic!("{other:?}"),
        }
        // Two items share the name: never taken, even without strict matching.
        let m = c.find(&paths(&["/stash/scene one.mp4"]), false);
        assert!(matches!(m, Match::NameOnly(ref e) if e.len() == 2), "{m:?}");
    }

    #[test]
    fn without_strict_matching_a_single_name_match_is_taken() {
        let mut c = Catalog::default();
        c.add("1", &[item("10", &["/m/a/Unique.mp4"])]);
        let m = c.find(&paths(&["/stash/unique.MP4"]), false);
        assert!(
            matches!(m, Match::One(ref e, Confidence::FileName) if e.rating_key == "10"),
            "{m:?}"
        );
        assert!(matches!(
            c.find(&paths(&["/stash/unique.MP4"]), true),
            Match::NameOnly(_)
        ));
    }

    #[test]
    fn one_file_in_two_items_is_ambiguous_and_a_later_file_may_match() {
        let c = catalog();
        assert!(
            matches!(c.find(&paths(&["/m/b/two.mp4"]), true), Match::Ambiguous(ref e) if e.len() == 2)
        );
        let m = c.find(&paths(&["/nowhere/zzz.mp4", "/m/a/Scene One.mp4"]), true);
        assert!(matches!(m, Match::One(ref e, _) if e.rating_key == "10"));
        assert_eq!(c.find(&paths(&["/nowhere/zzz.mp4"]), false), Match::Missing);
        assert_eq!(c.items(), 4);
    }
}
