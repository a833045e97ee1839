//! Best-effort positions for errors found after evaluation.
//!
//! Validation runs on the evaluated map, which carries no positions. To still point the
//! operator at a line, this finds the key path in the source text: each segment of
//! `classes.transient.cap` is searched as a whole word after the previous one, outside
//! comments. A script that builds its map in a computed way may get a less precise
//! position (the deepest segment found), never a wrong file.

/// 1-based (line, column) of the deepest segment of `path` found in `source`.
pub(crate) fn locate(source: &str, path: &[&str]) -> Option<(usize, usize)> {
    let code = code_mask(source);
    let mut from = 0;
    let mut found = None;
    for segment in path {
        match find_word(source, &code, segment, from) {
            Some(at) => {
                found = Some(at);
                from = at + segment.len();
            }
            None => break,
        }
    }
    found.map(|offset| line_column(source, offset))
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn find_word(source: &str, code: &[bool], word: &str, from: usize) -> Option<usize> {
    let bytes = source.as_bytes();
    let mut start = from;
    while let Some(rel) = source.get(start..)?.find(word) {
        let at = start + rel;
        let end = at + word.len();
        let before_ok = at == 0 || !is_ident(bytes[at - 1]);
        let after_ok = end >= bytes.len() || !is_ident(bytes[end]);
        if before_ok && after_ok && code[at] {
            return Some(at);
        }
        start = at + 1;
        while !source.is_char_boundary(start) {
            start += 1;
        }
    }
    None
}

/// For every byte: true when it is code or string content, false inside a comment.
fn code_mask(source: &str) -> Vec<bool> {
    let bytes = source.as_bytes();
    let mut mask = vec![true; bytes.len()];
    let mut i = 0;
    let mut in_string: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(quote) = in_string {
            if b == b'\\' {
                i += 2;
                continue;
            }
            if b == quote {
                in_string = None;
            }
            i += 1;
            continue;
        }
        match (b, bytes.get(i + 1)) {
            (b'"' | b'`', _) => in_string = Some(b),
            (b'/', Some(b'/')) => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    mask[i] = false;
                    i += 1;
                }
                continue;
            }
            (b'/', Some(b'*')) => {
                let end = source[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |e| i + 2 + e + 2);
                mask[i..end].fill(false);
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    mask
}

fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    let column = source[line_start..offset].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "// classes: not here\n#{\n  classes: #{\n    transient: #{ base: \"5s\", max_retry: 5 },\n  },\n}\n";

    #[test]
    fn finds_nested_keys_outside_comments() {
        assert_eq!(locate(SCRIPT, &["classes"]), Some((3, 3)));
        assert_eq!(
            locate(SCRIPT, &["classes", "transient", "max_retry"]),
            Some((4, 31))
        );
    }

    #[test]
    fn falls_back_to_the_deepest_segment_found() {
        assert_eq!(
            locate(SCRIPT, &["classes", "transient", "cap"]),
            Some((4, 5))
        );
        assert_eq!(locate(SCRIPT, &["breaker"]), None);
    }

    #[test]
    fn survives_odd_text() {
        assert_eq!(locate("\"unterminated // x", &["x"]), Some((1, 18)));
        assert_eq!(locate("/* open", &["open"]), None);
        assert_eq!(locate("é base", &["base"]), Some((1, 3)));
    }
}
