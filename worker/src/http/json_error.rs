//! JSON shape errors that never quote the value they are about. serde's own messages do
//! (`invalid type: string "Bearer s3cr3t", expected a map`), and they reach API answers,
//! the command line and logs; a wrong-typed field can hold a credential.

use serde::de::DeserializeOwned;

/// `bytes` as JSON of type `T`, or a message naming the field, what it must be, and the
/// line and column, without quoting any value.
pub fn from_json_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| describe_json_error(&e.path().to_string(), e.inner()))?;
    deserializer
        .end()
        .map_err(|e| describe_json_error(".", &e))?;
    Ok(value)
}

/// `value` as `T`, with the messages of [`from_json_slice`].
pub fn from_json_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| describe_json_error(&e.path().to_string(), e.inner()))
}

/// Says what is wrong with the JSON at `path` (`.` for the whole document) without the
/// value itself: the field, what it must be, and the line and column when known.
pub fn describe_json_error(path: &str, error: &serde_json::Error) -> String {
    let at = if error.line() == 0 {
        String::new()
    } else {
        format!(" (line {}, column {})", error.line(), error.column())
    };
    let text = error.to_string();
    let message = text.strip_suffix(&position(error)).unwrap_or(&text);
    let field = if path.is_empty() || path == "." {
        "the document".to_owned()
    } else {
        format!("`{path}`")
    };
    let said = match error.classify() {
        // Syntax errors say what was expected at a position, not what was found.
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("not valid JSON: {message}")
        }
        serde_json::error::Category::Io => format!("could not be read: {message}"),
        serde_json::error::Category::Data => data_error(&field, message),
    };
    format!("{said}{at}")
}

/// serde's text for a data error, its quoted value left out.
fn data_error(field: &str, message: &str) -> String {
    // serde writes `<what was found, with the value>, expected <what it must be>`; the
    // expectation is a type's description, so the last `, expected ` starts it.
    let expected = message
        .rfind(", expected ")
        .map(|i| &message[i + ", expected ".len()..]);
    let found_value = ["invalid type:", "invalid value:", "unknown variant"]
        .iter()
        .any(|p| message.starts_with(p));
    match (found_value, expected) {
        (true, Some(expected)) if message.starts_with("invalid type:") => {
            format!("{field} must be {expected}")
        }
        (true, Some(expected)) => format!("{field} has a value that is not {expected}"),
        (true, None) => format!("{field} has a value that is not allowed"),
        // These quote field names and sizes, or nothing.
        (false, _)
            if [
                "missing field",
                "unknown field",
                "duplicate field",
                "invalid length",
                "data did not match any variant",
            ]
            .iter()
            .any(|p| message.starts_with(p)) =>
        {
            format!("{field}: {message}")
        }
        // Anything else is a type's own message, which may quote what it was given.
        (false, _) => format!("{field} is not valid"),
    }
}

/// The ` at line L column C` serde_json appends to its messages.
fn position(error: &serde_json::Error) -> String {
    if error.line() == 0 {
        String::new()
    } else {
        format!(" at line {} column {}", error.line(), error.column())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Shape {
        headers: Option<BTreeMap<String, String>>,
        kind: Option<Kind>,
        n: Option<u32>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Http,
    }

    const SECRET: &str = "Bearer s3cr3t, expected x";

    #[test]
    fn a_wrong_typed_field_is_named_with_what_it_must_be_and_its_value_left_out() {
        let text = serde_json::json!({ "headers": SECRET }).to_string();
        let e = from_json_slice::<Shape>(text.as_bytes()).expect_err("wrong type");
        assert_eq!(e, "`headers` must be a map (line 1, column 38)");
        let e = from_json_value::<Shape>(serde_json::json!({ "headers": { "A": [SECRET] } }))
            .expect_err("wrong type");
        assert_eq!(e, "`headers.A` must be a string");
        let e = from_json_value::<Shape>(serde_json::json!({ "kind": SECRET }))
            .expect_err("unknown variant");
        assert_eq!(e, "`kind` has a value that is not `http`");
        let e = from_json_value::<Shape>(serde_json::json!({ "n": -7 })).expect_err("negative");
        assert!(!e.contains("-7") && e.starts_with("`n` "), "{e}");
    }

    #[test]
    fn field_names_and_syntax_errors_are_still_said() {
        let e = from_json_value::<Shape>(serde_json::json!({ "extra": SECRET }))
            .expect_err("unknown field");
        assert!(e.starts_with("`extra`: unknown field `extra`"), "{e}");
        let e = from_json_slice::<Shape>(b"{\"n\": 1,").expect_err("cut short");
        assert!(e.starts_with("not valid JSON: EOF"), "{e}");
        let e = from_json_slice::<Shape>(b"{} x").expect_err("trailing");
        assert!(e.contains("trailing characters"), "{e}");
    }
}
