//! What an application adds to the configuration file: its own section, parsed by its
//! own type as strictly as the rest, and its job kinds (which schedules may name).
//!
//! The section's type is the application's, so it is kept behind a function: the
//! daemon builder hands in one that deserialises the section and keeps the value for
//! the handlers. The file's positions stay ours, so an error in the section names its
//! key, line and column like any other.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

/// What `deserialize` of a section reports: the error and the key path where it is.
pub(crate) type SectionError = serde_path_to_error::Error<toml::de::Error>;

/// Deserialises the application's section and keeps the value.
pub(crate) type ParseSection =
    Arc<dyn for<'a> Fn(toml::de::ValueDeserializer<'a>) -> Result<(), SectionError> + Send + Sync>;

/// An application's part of the configuration. The default is `tenax` alone.
#[derive(Clone, Default)]
pub(crate) struct Extension {
    /// `[NAME]`, parsed by the application's type.
    pub(crate) section: Option<Section>,
    /// The application's job kinds, beside `http`.
    pub(crate) kinds: Vec<String>,
}

/// The application's section.
#[derive(Clone)]
pub(crate) struct Section {
    /// The table's name in the file.
    pub(crate) name: String,
    /// The keys its type accepts, for "did you mean"; `None` when the type does not
    /// say (a map, or a struct with flattened fields): serde's own message stands then.
    pub(crate) fields: Option<&'static [&'static str]>,
    pub(crate) parse: ParseSection,
}

impl fmt::Debug for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extension")
            .field("section", &self.section.as_ref().map(|s| &s.name))
            .field("kinds", &self.kinds)
            .finish()
    }
}

/// The field names of `T` when it is a struct deriving `Deserialize`: asked of serde
/// itself, by a deserializer that only listens for the struct's field list.
pub(crate) fn fields_of<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    let mut fields = None;
    let _ = T::deserialize(Listener(&mut fields));
    fields
}

struct Listener<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for Listener<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only the field list is asked for"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("only the field list is asked for"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct App {
        plex_url: String,
        #[serde(default)]
        libraries: Vec<String>,
    }

    #[test]
    fn a_structs_fields_are_asked_of_serde() {
        assert_eq!(fields_of::<App>(), Some(&["plex_url", "libraries"][..]));
        assert_eq!(
            fields_of::<std::collections::BTreeMap<String, String>>(),
            None
        );
    }
}
