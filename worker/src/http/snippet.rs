//! The start of a failed response's body, for the error message, read with a bound.
//!
//! Error pages are often huge (a proxy's HTML, a stack trace), and a downstream that is
//! failing is the last one we want to wait on for megabytes. So the body is read chunk
//! by chunk only until the snippet is full or `max_response_bytes` is reached, and the
//! rest is dropped unread.

use reqwest::{Response, StatusCode};

/// The first bytes of `response`'s body: until the collapsed text exceeds `want`
/// bytes, `limit` bytes are read, or the body ends. The flag says whether it ended.
/// A body that breaks off mid-way counts as ended: the status already said what
/// happened, the snippet is only a hint.
pub(crate) async fn read_prefix(
    response: &mut Response,
    want: usize,
    limit: usize,
) -> (Vec<u8>, bool) {
    let mut buf = Vec::new();
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) | Err(_) => return (buf, true),
        };
        let room = limit - buf.len();
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if chunk.len() >= room || collapsed_len(&buf) > want {
            return (buf, false);
        }
    }
}

/// Reads and discards up to `limit` bytes, so a small body leaves the connection
/// reusable; a larger one is dropped and its connection closed.
pub(crate) async fn drain(response: &mut Response, limit: usize) {
    let mut read = 0;
    while read < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            Ok(None) | Err(_) => return,
        }
    }
}

/// The message of a failed response: `HTTP 503 Service Unavailable: <snippet>`.
pub(crate) fn status_message(status: StatusCode, snippet: &str) -> String {
    let mut message = format!("HTTP {}", status.as_u16());
    if let Some(reason) = status.canonical_reason() {
        message.push(' ');
        message.push_str(reason);
    }
    if !snippet.is_empty() {
        message.push_str(": ");
        message.push_str(snippet);
    }
    message
}

/// `bytes` as text (UTF-8, lossy), runs of whitespace collapsed to one space, cut to at
/// most `max` bytes on a character boundary. A cut, or a body that did not end, is
/// marked with `…`.
pub(crate) fn snippet(bytes: &[u8], ended: bool, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    let bytes = if ended {
        bytes
    } else {
        without_partial_char(bytes)
    };
    let mut text = collapse(&String::from_utf8_lossy(bytes));
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.truncate(text.trim_end().len());
        text.push('…');
    } else if !ended && !text.is_empty() {
        text.push('…');
    }
    text
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The length [`collapse`] would give, without building it.
fn collapsed_len(bytes: &[u8]) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let words = text.split_whitespace();
    words.fold(0, |len, word| len + usize::from(len > 0) + word.len())
}

/// `bytes` without a UTF-8 sequence cut off at its end.
fn without_partial_char(bytes: &[u8]) -> &[u8] {
    match std::str::from_utf8(bytes) {
        Err(e) if e.error_len().is_none() => &bytes[..e.valid_up_to()],
        _ => bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_collapses_and_short_text_stays_whole() {
        assert_eq!(
            snippet(b"  upstream\n\n\tdown  ", true, 256),
            "upstream down"
        );
        assert_eq!(
            collapsed_len(b"  upstream\n\n\tdown  "),
            "upstream down".len()
        );
        assert_eq!(snippet(b"", true, 256), "");
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary() {
        assert_eq!(snippet(b"abcdefgh", true, 4), "abcd…");
        // "é" is two bytes; a cut after 3 bytes would split the second one.
        assert_eq!(snippet("éééé".as_bytes(), true, 3), "é…");
        assert_eq!(snippet(b"ab cd", true, 3), "ab…");
    }

    #[test]
    fn an_unfinished_body_is_marked_and_loses_its_partial_char() {
        let cut = &"ok é".as_bytes()[..4];
        assert_eq!(snippet(cut, false, 256), "ok…");
        assert_eq!(snippet(b"\xff\xfe", true, 256), "\u{fffd}\u{fffd}");
        assert_eq!(snippet(b"anything", true, 0), "");
    }

    #[test]
    fn status_messages_name_the_reason_when_there_is_one() {
        let unavailable = StatusCode::SERVICE_UNAVAILABLE;
        assert_eq!(
            status_message(unavailable, "down"),
            "HTTP 503 Service Unavailable: down"
        );
        let odd = StatusCode::from_u16(599).expect("a valid status");
        assert_eq!(status_message(odd, ""), "HTTP 599");
    }
}
