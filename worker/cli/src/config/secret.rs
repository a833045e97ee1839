//! [`Secret`]: a credential the configuration file names but never holds.
//!
//! # Why a secret is never written in the file
//!
//! A configuration file is shared, committed, pasted into bug reports and printed by
//! `config check`; a token written into it travels with all of them. A secret is
//! therefore written as where to find it, `{ env = "PLEX_TOKEN" }` or
//! `{ file = "/run/credentials/plex-token" }` (systemd's `LoadCredential=` and
//! container secrets are files), and a literal string is refused with the reason.
//!
//! The value is read when the configuration is loaded, so a missing variable or file
//! is a configuration error naming the key and its line, before anything runs. It is
//! never shown: `Debug` and `Display` print `***`, and serialising a secret writes
//! where it comes from (`{ env = "PLEX_TOKEN" }`), never the value, so the effective
//! configuration `config check` prints can be shared too.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};

/// What a secret is shown as.
const SHOWN: &str = "***";

/// The shortest value the [`Redactor`] looks for: 6 bytes.
pub(crate) const MIN_REDACTED: usize = 6;

/// A credential read from the environment or a file when the configuration is loaded.
///
/// Use it for any credential in an application's own configuration section:
///
/// ```
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Sync {
///     url: String,
///     token: tenax::Secret,
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let file = dir.path().join("token");
/// std::fs::write(&file, "s3cret\n")?;
/// let text = format!("url = \"http://127.0.0.1:32400\"\ntoken = {{ file = {:?} }}", file);
/// let sync: Sync = toml::from_str(&text)?;
/// assert_eq!(sync.token.expose(), "s3cret"); // the trailing newline is trimmed
/// assert_eq!(format!("{:?}", sync.token), format!("Secret {{ file: {file:?}, value: *** }}"));
///
/// let literal: Result<Sync, _> = toml::from_str("url = \"u\"\ntoken = \"s3cret\"");
/// assert!(literal.is_err_and(|e| e.to_string().contains("env = ")));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    source: SecretSource,
    /// `None` only in a configuration read by a client command, which never uses it.
    value: Option<Arc<str>>,
}

/// Where a secret's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum SecretSource {
    Env(String),
    File(PathBuf),
}

impl Secret {
    /// The value of the environment variable `name`.
    ///
    /// # Errors
    /// The variable is unset, empty or not UTF-8; the message names it.
    pub fn from_env(name: &str) -> Result<Self, String> {
        let source = SecretSource::Env(name.to_owned());
        let value = source.read()?;
        Ok(Secret {
            source,
            value: Some(value),
        })
    }

    /// The contents of the file at `path`, without a trailing newline.
    ///
    /// # Errors
    /// The file cannot be read or is empty; the message names it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, String> {
        let source = SecretSource::File(path.as_ref().to_owned());
        let value = source.read()?;
        Ok(Secret {
            source,
            value: Some(value),
        })
    }

    /// The value, to send where it belongs. Never log or store it.
    pub fn expose(&self) -> &str {
        self.value.as_deref().unwrap_or("")
    }

    /// A secret that names `env` but was never read, for the configuration's key list.
    pub(crate) fn unread_env(name: &str) -> Self {
        Secret {
            source: SecretSource::Env(name.to_owned()),
            value: None,
        }
    }
}

impl SecretSource {
    fn read(&self) -> Result<Arc<str>, String> {
        let value = match self {
            SecretSource::Env(name) => match lookup_env(name) {
                Some(value) if !value.is_empty() => value,
                _ => return Err(format!("the environment variable `{name}` is not set")),
            },
            SecretSource::File(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the secret file {}: {e}", path.display()))?;
                let text = text.strip_suffix('\n').unwrap_or(&text);
                let text = text.strip_suffix('\r').unwrap_or(text);
                if text.is_empty() {
                    return Err(format!("the secret file {} is empty", path.display()));
                }
                text.to_owned()
            }
        };
        Ok(Arc::from(value))
    }
}

/// Never shows the value.
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Secret");
        match &self.source {
            SecretSource::Env(name) => d.field("env", name),
            SecretSource::File(path) => d.field("file", path),
        };
        d.field("value", &format_args!("{SHOWN}")).finish()
    }
}

/// `***`.
impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SHOWN)
    }
}

/// Writes where the value comes from, `{ env = "NAME" }` or `{ file = "PATH" }`,
/// never the value.
impl serde::Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        match &self.source {
            SecretSource::Env(name) => map.serialize_entry("env", name)?,
            SecretSource::File(path) => map.serialize_entry("file", path)?,
        }
        map.end()
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let source = d.deserialize_any(SourceVisitor)?;
        let value = if resolving() {
            let value = source.read().map_err(de::Error::custom)?;
            remember(&value);
            Some(value)
        } else {
            None
        };
        Ok(Secret { source, value })
    }
}

struct SourceVisitor;

impl<'de> Visitor<'de> for SourceVisitor {
    type Value = SecretSource;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{ env = \"NAME\" } or { file = \"PATH\" }")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretSource, E> {
        Err(E::custom(
            "is a secret, and a secret is not written into the configuration file \
             (which is shared and printed): give `{ env = \"NAME\" }` or \
             `{ file = \"PATH\" }` and put the value there",
        ))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretSource, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(
                "is empty: give `{ env = \"NAME\" }` or `{ file = \"PATH\" }`",
            ));
        };
        let source = match key.as_str() {
            "env" => SecretSource::Env(map.next_value()?),
            "file" => SecretSource::File(map.next_value()?),
            other => return Err(de::Error::unknown_field(other, &["env", "file"])),
        };
        if map.next_key::<String>()?.is_some() {
            return Err(de::Error::custom(
                "gives two sources: give `env` or `file`, not both",
            ));
        }
        if matches!(&source, SecretSource::Env(n) if n.is_empty()) {
            return Err(de::Error::custom("names an empty environment variable"));
        }
        Ok(source)
    }
}

/// How secrets are read while a configuration is loaded on this thread.
struct Scope {
    /// Every `{ env = "NAME" }` of the file, looked up beforehand by the loader's
    /// environment (the process's, or a test's).
    env: HashMap<String, Option<String>>,
    /// False for client commands: they read the file for the API's address and never
    /// use a secret, so they need none of them set.
    resolve: bool,
    /// Every value read, for the [`Redactor`].
    read: Vec<Arc<str>>,
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// Runs `f` (a deserialisation) with secrets read from `env` (names the loader looked
/// up), or not read at all when `resolve` is false; returns its result and a
/// [`Redactor`] of every value read. Outside such a scope a secret reads the process's
/// environment.
pub(crate) fn scoped<T>(
    env: HashMap<String, Option<String>>,
    resolve: bool,
    f: impl FnOnce() -> T,
) -> (T, Redactor) {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            SCOPE.with(|s| s.borrow_mut().take());
        }
    }
    SCOPE.with(|s| {
        *s.borrow_mut() = Some(Scope {
            env,
            resolve,
            read: Vec::new(),
        });
    });
    let _reset = Reset;
    let result = f();
    let read = SCOPE.with(|s| {
        s.borrow_mut()
            .as_mut()
            .map(|scope| std::mem::take(&mut scope.read))
    });
    (result, Redactor::new(read.unwrap_or_default()))
}

fn remember(value: &Arc<str>) {
    SCOPE.with(|s| {
        if let Some(scope) = s.borrow_mut().as_mut() {
            scope.read.push(Arc::clone(value));
        }
    });
}

/// Replaces the configuration's secret values in text about to be shown, stored or
/// logged: a downstream that echoes a credential into an error body, or a handler that
/// quotes its request, does not leak it further. Cheap to clone.
///
/// Values shorter than [`MIN_REDACTED`] bytes are left alone: they would match inside
/// ordinary words (a token `t` would blank every `t` of every log line), and a value
/// that short is no credential's protection anyway.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    values: Arc<Vec<Arc<str>>>,
}

impl Redactor {
    fn new(mut values: Vec<Arc<str>>) -> Self {
        values.retain(|v| v.len() >= MIN_REDACTED);
        // Longest first, so a secret holding another is replaced whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Redactor {
            values: Arc::new(values),
        }
    }

    /// The same, redacting `value` too (a secret the configuration holds otherwise,
    /// such as the API token).
    pub(crate) fn with(self, value: &str) -> Self {
        let mut values: Vec<Arc<str>> = self.values.iter().cloned().collect();
        values.push(Arc::from(value));
        Redactor::new(values)
    }

    /// Whether there is nothing to redact.
    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret value replaced by `***`.
    pub(crate) fn redact<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        let mut out = std::borrow::Cow::Borrowed(text);
        for value in self.values.iter() {
            if out.contains(&**value) {
                out = std::borrow::Cow::Owned(out.replace(&**value, SHOWN));
            }
        }
        out
    }
}

/// Every configuration has the same redactor as far as equality goes: it is derived
/// from the secrets, which are compared themselves.
impl PartialEq for Redactor {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} values)", self.values.len())
    }
}

fn resolving() -> bool {
    SCOPE.with(|s| s.borrow().as_ref().is_none_or(|scope| scope.resolve))
}

fn lookup_env(name: &str) -> Option<String> {
    let scoped = SCOPE.with(|s| {
        s.borrow()
            .as_ref()
            .map(|scope| scope.env.get(name).cloned().flatten())
    });
    match scoped {
        Some(found) => found,
        None => std::env::var(name).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, serde::Serialize, Debug)]
    struct Holder {
        token: Secret,
    }

    fn with_env<T>(pairs: &[(&str, &str)], f: impl FnOnce() -> T) -> T {
        let env = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
            .collect();
        scoped(env, true, f).0
    }

    #[test]
    fn an_env_secret_is_read_and_shown_redacted_and_serialised_as_its_source() {
        let holder: Holder = with_env(&[("T_TOKEN", "s3cret")], || {
            toml::from_str("token = { env = \"T_TOKEN\" }")
        })
        .expect("set");
        assert_eq!(holder.token.expose(), "s3cret");
        assert_eq!(holder.token.to_string(), "***");
        let shown = format!("{holder:?}");
        assert!(
            !shown.contains("s3cret") && shown.contains("T_TOKEN"),
            "{shown}"
        );
        let written = toml::to_string(&holder).expect("serialises");
        assert!(!written.contains("s3cret"), "{written}");
        assert!(written.contains("env = \"T_TOKEN\""), "{written}");
    }

    #[test]
    fn a_missing_variable_a_literal_and_two_sources_are_refused_with_reasons() {
        let missing = with_env(&[], || {
            toml::from_str::<Holder>("token = { env = \"NOPE\" }")
        })
        .expect_err("unset");
        assert!(
            missing.to_string().contains("`NOPE` is not set"),
            "{missing}"
        );
        let literal =
            with_env(&[], || toml::from_str::<Holder>("token = \"s3cret\"")).expect_err("literal");
        // The message alone: toml's `Display` quotes the line, which the configuration's
        // own errors never do.
        let text = literal.message();
        assert!(
            text.contains("not written into the configuration file"),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
        let two = with_env(&[("A", "x")], || {
            toml::from_str::<Holder>("token = { env = \"A\", file = \"/f\" }")
        })
        .expect_err("two sources");
        assert!(two.to_string().contains("not both"), "{two}");
        let other = with_env(&[], || {
            toml::from_str::<Holder>("token = { vault = \"x\" }")
        })
        .expect_err("unknown source");
        assert!(other.to_string().contains("vault"), "{other}");
    }

    #[test]
    fn a_file_secret_loses_its_trailing_newline_and_an_empty_one_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\r\n").expect("write");
        let secret = Secret::from_file(&path).expect("readable");
        assert_eq!(secret.expose(), "s3cret");
        std::fs::write(&path, "\n").expect("write");
        assert!(
            Secret::from_file(&path)
                .expect_err("empty")
                .contains("empty")
        );
        let gone = Secret::from_file(dir.path().join("gone")).expect_err("missing");
        assert!(gone.contains("cannot read the secret file"), "{gone}");
    }

    #[test]
    fn client_commands_read_no_secret() {
        let (holder, redactor) = scoped(HashMap::new(), false, || {
            toml::from_str::<Holder>("token = { env = \"UNSET_EVERYWHERE\" }")
        });
        let holder = holder.expect("not read");
        assert!(redactor.is_empty());
        assert_eq!(holder.token.expose(), "");
    }

    #[test]
    fn the_redactor_replaces_every_value_read_in_the_scope() {
        let env = [
            ("A".to_owned(), Some("s3cret".to_owned())),
            ("B".to_owned(), Some("s3cret-longer".to_owned())),
        ];
        let (holders, redactor) = scoped(env.into_iter().collect(), true, || {
            let a: Holder = toml::from_str("token = { env = \"A\" }").expect("A");
            let b: Holder = toml::from_str("token = { env = \"B\" }").expect("B");
            (a, b)
        });
        assert_eq!(holders.1.token.expose(), "s3cret-longer");
        assert_eq!(redactor.redact("x s3cret-longer y s3cret"), "x *** y ***");
        assert!(matches!(
            redactor.redact("clean"),
            std::borrow::Cow::Borrowed(_)
        ));
        let short = Redactor::default().with("t");
        assert!(short.is_empty(), "too short to look for");
        assert_eq!(short.redact("tenax is running"), "tenax is running");
    }
}
