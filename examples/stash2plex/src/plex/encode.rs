//! The query string of a Plex edit, encoded as python-plexapi encodes it: keys as they
//! are (`genre[0].tag.tag`), values percent-encoded with nothing kept but the unreserved
//! characters, so a space is `%20` (never `+`) and a `&` in a title cannot end a value.

/// `s` with every byte outside `A-Z a-z 0-9 - . _ ~` as `%XX`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `key=value&...`, values encoded.
pub fn query(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of `field[].tag.tag-`, which removes tags: each name encoded, joined with
/// commas (the whole value is encoded once more in the query, as Plex expects).
pub fn removal_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_encoded_and_keys_are_not() {
        let params = vec![
            (
                "title.value".to_owned(),
                "Tom & Jerry: 100% «été»".to_owned(),
            ),
            ("genre[0].tag.tag".to_owned(), "a b".to_owned()),
        ];
        assert_eq!(
            query(&params),
            "title.value=Tom%20%26%20Jerry%3A%20100%25%20%C2%AB%C3%A9t%C3%A9%C2%BB&genre[0].tag.tag=a%20b"
        );
    }

    #[test]
    fn a_removal_list_encodes_each_name_and_keeps_its_commas() {
        assert_eq!(removal_list(["a,b", "c d"]), "a%2Cb,c%20d");
    }
}
