//! Plex's JSON answers (with `Accept: application/json`), as far as this application
//! reads them. Every answer is wrapped in a `MediaContainer`; lists are named after the
//! XML elements they replace (`Directory`, `Metadata`, `Media`, `Part`, `Genre`, `Role`)
//! and are left out when empty.

use serde::{Deserialize, Deserializer};

/// `{"MediaContainer": ...}`.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    /// The answer.
    #[serde(rename = "MediaContainer")]
    pub container: T,
}

/// `GET /identity`: who the server is. Answered without a token.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// The server's stable id.
    #[serde(default)]
    pub machine_identifier: String,
    /// Its version.
    #[serde(default)]
    pub version: String,
}

/// `GET /library/sections`.
#[derive(Debug, Default, Deserialize)]
pub struct Sections {
    /// The libraries.
    #[serde(rename = "Directory", default)]
    pub directories: Vec<Section>,
}

/// One library.
#[derive(Clone, Debug, Deserialize)]
pub struct Section {
    /// Its key in URLs (`/library/sections/{key}`), e.g. `"1"`.
    pub key: String,
    /// Its name as people see it.
    pub title: String,
    /// `movie`, `show`, `artist` or `photo`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A page of items: `GET /library/sections/{key}/all` or `/library/metadata/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Items {
    /// Items in this answer.
    #[serde(default)]
    pub size: u64,
    /// Items in the whole listing, when it was asked in pages.
    #[serde(default)]
    pub total_size: Option<u64>,
    /// The items.
    #[serde(rename = "Metadata", default)]
    pub metadata: Vec<Item>,
}

/// A movie (or other video) item.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// Its id in URLs (`/library/metadata/{ratingKey}`); a string in JSON.
    #[serde(deserialize_with = "string_or_number")]
    pub rating_key: String,
    /// Its library; present on `/library/metadata/{id}`.
    #[serde(
        rename = "librarySectionID",
        default,
        deserialize_with = "opt_string_or_number"
    )]
    pub library_section_id: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Studio.
    #[serde(default)]
    pub studio: Option<String>,
    /// Release date, `YYYY-MM-DD`.
    #[serde(default)]
    pub originally_available_at: Option<String>,
    /// The files.
    #[serde(rename = "Media", default)]
    pub media: Vec<Media>,
    /// Genres.
    #[serde(rename = "Genre", default)]
    pub genres: Vec<Tag>,
    /// Cast (edited as `actor`).
    #[serde(rename = "Role", default)]
    pub roles: Vec<Tag>,
    /// Collections.
    #[serde(rename = "Collection", default)]
    pub collections: Vec<Tag>,
    /// Labels.
    #[serde(rename = "Label", default)]
    pub labels: Vec<Tag>,
    /// Field locks; only locked fields are listed.
    #[serde(rename = "Field", default)]
    pub fields: Vec<Field>,
}

impl Item {
    /// Every file of the item.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.media
            .iter()
            .flat_map(|m| m.parts.iter())
            .map(|p| p.file.as_str())
    }

    /// Whether the field named `name` (`title`, `genre`, `thumb`, ...) is locked.
    pub fn is_locked(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.name == name && f.locked)
    }
}

/// One version of an item's video.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Media {
    /// Its files.
    #[serde(rename = "Part", default)]
    pub parts: Vec<Part>,
}

/// One file.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Part {
    /// The path as Plex sees it.
    #[serde(default)]
    pub file: String,
}

/// A tag of a list field.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Tag {
    /// Its text.
    pub tag: String,
}

/// A field's lock.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Field {
    /// The field (`title`, `summary`, `genre`, ...).
    pub name: String,
    /// Whether agents leave it alone.
    #[serde(default)]
    pub locked: bool,
}

/// Plex sends ids as strings, section ids as numbers; take either.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(match Id::deserialize(d)? {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    })
}

fn opt_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    string_or_number(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_reads_as_plex_sends_it() -> anyhow::Result<()> {
        let json = r#"{"MediaContainer":{"size":1,"librarySectionID":1,"Metadata":[{
            "ratingKey":"1049","key":"/library/metadata/1049","type":"movie","title":"Zoolander",
            "librarySectionID":1,"studio":"Paramount","summary":"Funny",
            "originallyAvailableAt":"2001-09-27","addedAt":1408525217,
            "Media":[{"id":827,"Part":[{"id":827,"file":"/m/Zoolander (2001).mkv","size":4}]}],
            "Genre":[{"tag":"Comedy"}],"Role":[{"tag":"Ben Stiller","role":"Derek"}],
            "Field":[{"locked":true,"name":"title"}]}]}}"#;
        let items: Envelope<Items> = serde_json::from_str(json)?;
        let item = &items.container.metadata[0];
        assert_eq!(item.rating_key, "1049");
        assert_eq!(item.library_section_id.as_deref(), Some("1"));
        assert_eq!(
            item.files().collect::<Vec<_>>(),
            ["/m/Zoolander (2001).mkv"]
        );
        assert!(item.is_locked("title") && !item.is_locked("summary"));
        assert_eq!(item.roles[0].tag, "Ben Stiller");
        Ok(())
    }
}
