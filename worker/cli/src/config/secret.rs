//! A secret the configuration points at but never holds: `{ env = "VAR" }` or
//! `{ file = "path" }`. A literal value is refused, so that a configuration file can be
//! shown, committed and printed by `config check` without leaking it.
//!
//! NOTE: a small private type for `store.password`; if the binary gains a shared secret
//! type for other keys, this one should become it.

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// Where a secret is read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SecretSource {
    /// An environment variable's value.
    Env(String),
    /// A file's contents, without the trailing newline.
    File(PathBuf),
}

impl SecretSource {
    /// The secret's value.
    ///
    /// # Errors
    /// What is missing: the variable unset or empty, the file unreadable or empty.
    pub(crate) fn read(&self) -> Result<String, String> {
        let value = match self {
            SecretSource::Env(var) => std::env::var(var)
                .map_err(|_| format!("reads the environment variable {var}, which is not set"))?,
            SecretSource::File(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("reads {}, which cannot be read: {e}", path.display()))?,
        };
        let value = value.trim_end_matches(['\r', '\n']).to_owned();
        if value.is_empty() {
            return Err(match self {
                SecretSource::Env(var) => {
                    format!("reads the environment variable {var}, which is empty")
                }
                SecretSource::File(path) => format!("reads {}, which is empty", path.display()),
            });
        }
        Ok(value)
    }
}

impl<'de> Deserialize<'de> for SecretSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Source;

        impl<'de> Visitor<'de> for Source {
            type Value = SecretSource;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("{ env = \"VARIABLE\" } or { file = \"path\" }")
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretSource, E> {
                Err(E::custom(
                    "must not be written in the configuration file; give { env = \"VARIABLE\" } \
                     or { file = \"path\" } instead",
                ))
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<SecretSource, M::Error> {
                let mut found = None;
                while let Some(key) = map.next_key::<String>()? {
                    let source = match key.as_str() {
                        "env" => SecretSource::Env(map.next_value()?),
                        "file" => SecretSource::File(map.next_value()?),
                        other => {
                            return Err(de::Error::unknown_field(other, &["env", "file"]));
                        }
                    };
                    if found.replace(source).is_some() {
                        return Err(de::Error::custom("give `env` or `file`, not both"));
                    }
                }
                found.ok_or_else(|| de::Error::custom("give `env` or `file`"))
            }
        }

        d.deserialize_any(Source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        password: SecretSource,
    }

    fn parse(text: &str) -> Result<SecretSource, String> {
        toml::from_str::<T>(text)
            .map(|t| t.password)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_literal_is_refused_and_references_parse() {
        let e = parse("password = \"hunter2\"").unwrap_err();
        assert!(e.contains("must not be written"), "{e}");
        assert_eq!(
            parse("password = { env = \"PG_PW\" }"),
            Ok(SecretSource::Env("PG_PW".into()))
        );
        assert_eq!(
            parse("password = { file = \"/run/pw\" }"),
            Ok(SecretSource::File("/run/pw".into()))
        );
        assert!(parse("password = { env = \"A\", file = \"b\" }").is_err());
        assert!(
            parse("password = { path = \"b\" }")
                .unwrap_err()
                .contains("unknown field")
        );
    }

    #[test]
    fn a_file_secret_loses_its_trailing_newline() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").expect("write");
        assert_eq!(SecretSource::File(path.clone()).read(), Ok("s3cret".into()));
        std::fs::write(&path, "\n").expect("write");
        assert!(
            SecretSource::File(path)
                .read()
                .unwrap_err()
                .contains("empty")
        );
        let unset = SecretSource::Env("TENAX_TEST_SURELY_UNSET_VARIABLE".into());
        assert!(unset.read().unwrap_err().contains("not set"));
    }
}
