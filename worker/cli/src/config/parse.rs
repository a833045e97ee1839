//! From text to a [`Config`], keeping where each key was written.
//!
//! The text is read twice: once into toml's spanned tables, which say where every key is,
//! and once through serde with `serde_path_to_error`, which says which key a type error
//! or an unknown key belongs to. No error message is parsed back: the path names the
//! key, the spans give its line, and the valid keys of a table come from the
//! configuration's own serialised form.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_path_to_error::Segment;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::line_column;
use super::extension::Extension;
use super::{Config, ConfigError};

/// A configuration's text, its spans, and which keys the environment or flags set since.
pub(super) struct Source<'a> {
    origin: &'a str,
    text: &'a str,
    root: Spanned<DeTable<'a>>,
    set_by: BTreeMap<&'static str, &'static str>,
}

impl<'a> Source<'a> {
    /// Parses `text` as TOML; a syntax error names its line and column.
    pub(super) fn parse(text: &'a str, origin: &'a str) -> Result<Self, ConfigError> {
        let root = DeTable::parse(text).map_err(|e| {
            let (line, column) = line_column(text, e.span().map_or(0, |s| s.start));
            ConfigError::Parse {
                origin: origin.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        Ok(Source {
            origin,
            text,
            root,
            set_by: BTreeMap::new(),
        })
    }

    /// The configuration the text describes, the application's section (if `app` has
    /// one) parsed by its own type; an unknown key or a value of the wrong type is an
    /// error at that key. An absent section is parsed as an empty table when
    /// `whole` (so a required one is missed), and skipped otherwise.
    pub(super) fn deserialize(&self, app: &Extension, whole: bool) -> Result<Config, ConfigError> {
        let mut root = self.root.clone();
        let mut own = None;
        if let Some(section) = &app.section {
            let name = section.name.as_str();
            let key = root.get_ref().keys().find(|k| k.get_ref() == name).cloned();
            let taken = key.and_then(|key| root.get_mut().remove(&key));
            own = Some((section, taken));
        }
        let mut config: Config =
            serde_path_to_error::deserialize(toml::de::Deserializer::from(root))
                .map_err(|e| self.refused(e, &[], app))?;
        config.kinds.clone_from(&app.kinds);
        if let Some((section, value)) = own
            && (whole || value.is_some())
        {
            let present = value.is_some();
            let value = value.unwrap_or_else(|| Spanned::new(0..0, DeValue::Table(DeTable::new())));
            if present {
                let table = <toml::Table as serde::Deserialize>::deserialize(
                    toml::de::ValueDeserializer::from(value.clone()),
                )
                .unwrap_or_default();
                config.sections.insert(section.name.clone(), table);
            }
            (section.parse)(toml::de::ValueDeserializer::from(value)).map_err(|e| {
                let mut err = self.refused(e, &[&section.name], app);
                if let ConfigError::Invalid { message, .. } = &mut err
                    && !present
                {
                    *message = format!(
                        "is a required section of this application ([{}]): {}",
                        section.name,
                        message.trim_start_matches("is invalid: ")
                    );
                }
                err
            })?;
        }
        Ok(config)
    }

    /// Every variable a `{ env = "NAME" }` table of the text names (a secret's source),
    /// so the loader can look them up before the secrets are read.
    pub(super) fn env_names(&self) -> Vec<String> {
        fn walk(value: &DeValue<'_>, out: &mut Vec<String>) {
            match value {
                DeValue::Table(table) => {
                    let mut entries = table.iter();
                    if let (Some((key, value)), None) = (entries.next(), entries.next())
                        && key.get_ref() == "env"
                        && let DeValue::String(name) = value.get_ref()
                    {
                        out.push(name.to_string());
                    }
                    for (_, value) in table.iter() {
                        walk(value.get_ref(), out);
                    }
                }
                DeValue::Array(items) => {
                    for item in items.iter() {
                        walk(item.get_ref(), out);
                    }
                }
                _ => {}
            }
        }
        let mut names = Vec::new();
        for (_, value) in self.root.get_ref().iter() {
            walk(value.get_ref(), &mut names);
        }
        names
    }

    /// A deserialisation error of the table at `prefix` as a configuration error at
    /// its key: unknown (with the nearest known key) or invalid.
    fn refused(
        &self,
        e: serde_path_to_error::Error<toml::de::Error>,
        prefix: &[&str],
        app: &Extension,
    ) -> ConfigError {
        let path: Vec<String> = prefix
            .iter()
            .map(|p| (*p).to_owned())
            .chain(e.path().iter().filter_map(|segment| match segment {
                Segment::Map { key } => Some(key.clone()),
                Segment::Seq { index } => Some(index.to_string()),
                Segment::Enum { .. } | Segment::Unknown => None,
            }))
            .collect();
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        let inner = e.into_inner();
        let hint = match (&app.section, prefix.is_empty()) {
            (Some(section), false) => section_unknown_key(&path, section.fields),
            (section, true) => unknown_key(&path, section.as_ref().map(|s| s.name.as_str())),
            (None, false) => None,
        };
        match hint {
            Some(hint) => ConfigError::Unknown {
                at: self.at(&path),
                key: dotted(&path),
                hint,
            },
            None => ConfigError::Invalid {
                at: self.at(&path),
                key: dotted(&path),
                message: format!("is invalid: {}", inner.message().trim()),
            },
        }
    }

    /// Records that the environment or a flag (`by`) set `key` after the file.
    pub(super) fn set_by(&mut self, key: &'static str, by: &'static str) {
        self.set_by.insert(key, by);
    }

    /// Where the value of the key at `path` came from: the variable or flag that set it,
    /// else `file:line:column` of the key, else (a default) the file's name.
    pub(super) fn at(&self, path: &[&str]) -> String {
        if let Some(by) = self.set_by.get(path.join(".").as_str()) {
            return (*by).to_owned();
        }
        match self.span(path) {
            Some(span) => {
                let (line, column) = line_column(self.text, span.start);
                format!("{}:{line}:{column}", self.origin)
            }
            None => self.origin.to_owned(),
        }
    }

    /// The span of the key at `path` in the text, if it is there. A number after an
    /// array of tables picks its element (`schedules`, `2`, `cron`).
    fn span(&self, path: &[&str]) -> Option<Range<usize>> {
        let mut table = self.root.get_ref();
        let mut span = None;
        let mut rest = path;
        while let Some((name, tail)) = rest.split_first() {
            let (key, value) = table.iter().find(|(k, _)| k.get_ref() == name)?;
            span = Some(key.span());
            rest = tail;
            let mut value = value.get_ref();
            if let (DeValue::Array(items), Some((index, tail))) = (value, rest.split_first()) {
                let item = items.get(index.parse::<usize>().ok()?)?;
                value = item.get_ref();
                if !item.span().is_empty() {
                    span = Some(item.span());
                }
                rest = tail;
            }
            match value {
                DeValue::Table(inner) if !rest.is_empty() => table = inner,
                _ => break,
            }
        }
        span
    }
}

/// A key path as people write it: `worker.queue`, `schedules[2].cron`.
pub(super) fn dotted(path: &[&str]) -> String {
    let mut out = String::new();
    for name in path {
        if name.parse::<usize>().is_ok() {
            out.push_str(&format!("[{name}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(name);
        }
    }
    out
}

/// If the last key of `path` is not a key of its table: what to say about it (the
/// suggestion, else the valid keys). `None` for a known key, or one in a free-form table
/// such as `worker.timeouts`.
fn unknown_key(path: &[&str], app_section: Option<&str>) -> Option<String> {
    let (name, parent) = path.split_last()?;
    let mut known = known_keys(parent)?;
    if parent.is_empty()
        && let Some(section) = app_section
    {
        known.push(section.to_owned());
    }
    if known.iter().any(|k| k == name) {
        return None;
    }
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    let dotted = |key: &str| dotted(&parent.iter().copied().chain([key]).collect::<Vec<_>>());
    Some(match tenax_policies::nearest_key(name, &known) {
        Some(best) => format!("; did you mean `{}`?", dotted(&best)),
        None => format!("; valid keys here: {}", known.join(", ")),
    })
}

/// In the application's section (`path` starts with its name): if the last key is not
/// one of its type's `fields`, what to say about it. Only its top level is known.
fn section_unknown_key(path: &[&str], fields: Option<&[&str]>) -> Option<String> {
    let [section, name] = path else {
        return None;
    };
    let fields = fields?;
    if fields.contains(name) {
        return None;
    }
    Some(match tenax_policies::nearest_key(name, fields) {
        Some(best) => format!("; did you mean `{section}.{best}`?"),
        None => format!("; valid keys here: {}", fields.join(", ")),
    })
}

/// The keys of the table at `path`, read from a configuration with every optional key
/// set, serialised: the schema is the type itself. `None` for a table whose keys are free
/// (job kinds in `worker.timeouts`) or a path that is not a table.
pub(crate) fn known_keys(path: &[&str]) -> Option<Vec<String>> {
    if path == ["worker", "timeouts"]
        || matches!(path, ["schedules", _, "payload", ..])
        || matches!(path, ["http", "targets", _, "headers", ..])
    {
        return None;
    }
    let mut value = toml::Value::try_from(every_key_set()).ok()?;
    for name in path {
        value = match value {
            // Every element of an array of tables has the keys of the one example.
            toml::Value::Array(items) if name.parse::<usize>().is_ok() => items.first()?.clone(),
            other => other.as_table()?.get(*name)?.clone(),
        };
    }
    Some(value.as_table()?.keys().cloned().collect())
}

/// The default configuration with its optional keys given values, so that every key
/// appears when it is serialised.
pub(super) fn every_key_set() -> Config {
    let mut config = Config {
        policy_file: Some("policy.rhai".into()),
        ..Config::default()
    };
    config.api.token = Some("token".into());
    config.schedules.push(super::ScheduleSection {
        name: "example".into(),
        cron: Some("0 * * * *".into()),
        timezone: Some("UTC".into()),
        every: Some(std::time::Duration::from_secs(60)),
        queue: Some("default".into()),
        kind: "http".into(),
        payload: toml::Table::new(),
        catch_up: crate::schedule::CatchUp::One,
    });
    config.http.targets.push(super::TargetSection {
        base: "http://127.0.0.1:32400/".into(),
        headers: [("X-Token".to_owned(), super::Secret::unread_env("TOKEN"))].into(),
    });
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_keys_come_from_the_configuration_type() {
        let top = known_keys(&[]).expect("the top level is a table");
        for key in [
            "data_dir",
            "policy_file",
            "api",
            "worker",
            "http",
            "store",
            "log",
        ] {
            assert!(top.iter().any(|k| k == key), "{key} in {top:?}");
        }
        let api = known_keys(&["api"]).expect("api is a table");
        assert!(api.iter().any(|k| k == "token"), "{api:?}");
        assert_eq!(known_keys(&["worker", "timeouts"]), None);
        assert_eq!(known_keys(&["data_dir"]), None);
    }

    #[test]
    fn an_unknown_key_gets_the_nearest_known_one_or_the_list() {
        assert_eq!(
            unknown_key(&["worker", "concurency"], None).as_deref(),
            Some("; did you mean `worker.concurrency`?")
        );
        let list = unknown_key(&["telemetry"], None).expect("unknown");
        assert!(
            list.contains("valid keys here") && list.contains("worker"),
            "{list}"
        );
        assert_eq!(unknown_key(&["worker", "concurrency"], None), None);
        assert_eq!(unknown_key(&["worker", "timeouts", "anything"], None), None);
        assert_eq!(
            unknown_key(&["stash2plx"], Some("stash2plex")).as_deref(),
            Some("; did you mean `stash2plex`?")
        );
        assert_eq!(
            section_unknown_key(&["app", "plex_ur"], Some(&["plex_url", "token"])).as_deref(),
            Some("; did you mean `app.plex_url`?")
        );
    }
}
