//! What an item should look like, and the one edit that makes it so.
//!
//! The plan is pure: it compares the wanted values with the item Plex gave and sends
//! only the fields that differ or are not locked yet. Every field it sends is locked
//! (`title.locked=1`, `genre.locked=1`, ...) so that Plex's agents and "refresh
//! metadata" leave it alone. An item that already matches gets no request at all, so a
//! repeated job, or a reconciliation, changes nothing.

use super::encode;
use super::model::{Item, Tag};
use crate::fields::TagField;

/// The values an item should have; `None` leaves a field alone, `Some("")` clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Desired {
    /// `title`.
    pub title: Option<String>,
    /// `originallyAvailableAt`, `YYYY-MM-DD`.
    pub date: Option<String>,
    /// `studio`.
    pub studio: Option<String>,
    /// `summary`.
    pub summary: Option<String>,
    /// List fields and their whole wanted contents.
    pub tags: Vec<(TagField, Vec<String>)>,
}

/// The edit for one item: its query parameters and the fields it touches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// `field.value=...`, `field.locked=1`, `tag[i].tag.tag=...`, ...
    pub params: Vec<(String, String)>,
    /// The fields edited, for logs and tests.
    pub fields: Vec<&'static str>,
}

impl Plan {
    /// Whether the item already is as wanted.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Adds a lock of `field` without a value (the poster's `thumb` after an upload).
    pub fn lock(&mut self, field: &'static str) {
        self.params
            .push((format!("{field}.locked"), "1".to_owned()));
        self.fields.push(field);
    }
}

/// The edit that turns `item` into `desired`.
pub fn plan(desired: &Desired, item: &Item) -> Plan {
    let mut plan = Plan::default();
    let scalars = [
        ("title", desired.title.as_deref(), Some(item.title.as_str())),
        (
            "originallyAvailableAt",
            desired.date.as_deref(),
            item.originally_available_at.as_deref(),
        ),
        ("studio", desired.studio.as_deref(), item.studio.as_deref()),
        (
            "summary",
            desired.summary.as_deref(),
            item.summary.as_deref(),
        ),
    ];
    for (field, want, have) in scalars {
        let Some(want) = want else { continue };
        if have.unwrap_or("") == want && item.is_locked(field) {
            continue;
        }
        plan.params
            .push((format!("{field}.value"), want.to_owned()));
        plan.params
            .push((format!("{field}.locked"), "1".to_owned()));
        plan.fields.push(field);
    }
    for (field, want) in &desired.tags {
        let have: Vec<&str> = current(item, *field)
            .iter()
            .map(|t| t.tag.as_str())
            .collect();
        if same_set(&have, want) && item.is_locked(field.name()) {
            continue;
        }
        let name = field.name();
        for (i, tag) in want.iter().enumerate() {
            plan.params
                .push((format!("{name}[{i}].tag.tag"), tag.clone()));
        }
        let gone: Vec<&str> = have
            .iter()
            .copied()
            .filter(|h| !want.iter().any(|w| w == h))
            .collect();
        if !gone.is_empty() {
            plan.params
                .push((format!("{name}[].tag.tag-"), encode::removal_list(gone)));
        }
        plan.params.push((format!("{name}.locked"), "1".to_owned()));
        plan.fields.push(name);
    }
    plan
}

/// The item's current tags of `field`.
fn current(item: &Item, field: TagField) -> &[Tag] {
    match field {
        TagField::Actor => &item.roles,
        TagField::Genre => &item.genres,
        TagField::Collection => &item.collections,
        TagField::Label => &item.labels,
    }
}

fn same_set(have: &[&str], want: &[String]) -> bool {
    let mut a: Vec<&str> = have.to_vec();
    let mut b: Vec<&str> = want.iter().map(String::as_str).collect();
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plex::model::Field;

    fn tag(t: &str) -> Tag {
        Tag { tag: t.into() }
    }

    fn locked(names: &[&str]) -> Vec<Field> {
        names
            .iter()
            .map(|n| Field {
                name: (*n).into(),
                locked: true,
            })
            .collect()
    }

    fn desired() -> Desired {
        Desired {
            title: Some("Ça & là".into()),
            date: Some("2024-02-03".into()),
            studio: Some("Studio".into()),
            summary: Some(String::new()),
            tags: vec![
                (TagField::Actor, vec!["Ann".into(), "Bo".into()]),
                (TagField::Genre, vec![]),
            ],
        }
    }

    #[test]
    fn a_fresh_item_gets_every_field_and_lock_in_one_edit() {
        let item = Item {
            rating_key: "7".into(),
            title: "file".into(),
            summary: Some("old".into()),
            genres: vec![tag("Old genre"), tag("x,y")],
            ..Item::default()
        };
        let p = plan(&desired(), &item);
        assert_eq!(
            p.fields,
            [
                "title",
                "originallyAvailableAt",
                "studio",
                "summary",
                "actor",
                "genre"
            ]
        );
        let get = |k: &str| {
            p.params
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("title.value"), Some("Ça & là"));
        assert_eq!(get("summary.value"), Some(""));
        assert_eq!(get("actor[0].tag.tag"), Some("Ann"));
        assert_eq!(get("actor[1].tag.tag"), Some("Bo"));
        assert_eq!(get("genre[].tag.tag-"), Some("Old%20genre,x%2Cy"));
        for field in &p.fields {
            assert_eq!(get(&format!("{field}.locked")), Some("1"), "{field} locked");
        }
    }

    #[test]
    fn an_item_already_as_wanted_and_locked_gets_no_edit() {
        let item = Item {
            rating_key: "7".into(),
            title: "Ça & là".into(),
            originally_available_at: Some("2024-02-03".into()),
            studio: Some("Studio".into()),
            summary: None,
            roles: vec![tag("Bo"), tag("Ann")],
            fields: locked(&[
                "title",
                "originallyAvailableAt",
                "studio",
                "summary",
                "actor",
                "genre",
            ]),
            ..Item::default()
        };
        assert!(plan(&desired(), &item).is_empty());
        // The same values without the locks: edited, to lock them.
        let unlocked = Item {
            fields: locked(&["title"]),
            ..item
        };
        let p = plan(&desired(), &unlocked);
        assert_eq!(
            p.fields,
            [
                "originallyAvailableAt",
                "studio",
                "summary",
                "actor",
                "genre"
            ]
        );
    }

    #[test]
    fn fields_left_out_of_the_desire_are_not_touched() {
        let want = Desired {
            title: Some("T".into()),
            ..Desired::default()
        };
        let p = plan(&want, &Item::default());
        assert_eq!(p.fields, ["title"]);
        assert_eq!(p.params.len(), 2);
    }
}
