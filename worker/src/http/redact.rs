//! Secrets in a request are never shown: header values and URL query parameters whose
//! names say they hold credentials are replaced by `***` wherever a request is shown or
//! logged (API answers, the command line, error messages). The job itself keeps them:
//! only what is shown is redacted.
//!
//! # Why by name
//!
//! A value cannot be recognised as secret, but its name usually says so. The list errs
//! on the side of hiding: any name containing `token`, `key`, `secret`, `password`,
//! `pwd`, `auth`, `session`, `cookie`, `signature` or `credential` is redacted, and any
//! with `sig` or `pass` as a whole word (Azure's `sig`, S3's `X-Amz-Signature` and
//! `X-Amz-Credential`), plus the standard credential headers.

use serde_json::Value;

/// What a secret is shown as.
pub const REDACTED: &str = "***";

/// Header names that carry credentials whatever their spelling.
const SECRET_NAMES: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// Parts of a name that mark a credential wherever they appear (compared without case).
const SECRET_PARTS: [&str; 11] = [
    "token",
    "key",
    "secret",
    "password",
    "passwd",
    "pwd",
    "auth",
    "session",
    "cookie",
    "signature",
    "credential",
];

/// Short words that mark a credential only as a whole word of the name (`sig`, `x-sig`,
/// `user_pass`, `userPass`): inside longer words they are harmless (`design`, `compass`).
const SECRET_WORDS: [&str; 2] = ["sig", "pass"];

/// Whether a header or query parameter called `name` holds a secret (case-insensitive).
pub fn is_secret_name(name: &str) -> bool {
    let decoded = percent_decode(name);
    let name = decoded.to_ascii_lowercase();
    SECRET_NAMES.contains(&name.as_str())
        || SECRET_PARTS.iter().any(|p| name.contains(p))
        || words(&decoded).any(|w| SECRET_WORDS.iter().any(|s| w.eq_ignore_ascii_case(s)))
}

/// The words of a name: split at anything not a letter or digit, and where a lower-case
/// letter is followed by an upper-case one.
fn words(name: &str) -> impl Iterator<Item = &str> {
    // (where a word ends, where the next one starts)
    let mut breaks = Vec::new();
    let mut previous_lower = false;
    for (i, c) in name.char_indices() {
        if !c.is_alphanumeric() {
            breaks.push((i, i + c.len_utf8()));
        } else if previous_lower && c.is_uppercase() {
            breaks.push((i, i));
        }
        previous_lower = c.is_lowercase();
    }
    breaks.push((name.len(), name.len()));
    let mut from = 0;
    breaks.into_iter().filter_map(move |(end, next)| {
        let word = &name[from..end];
        from = next;
        (!word.is_empty()).then_some(word)
    })
}

/// `url` with the values of secret query parameters, and the userinfo, replaced by
/// [`REDACTED`]. Works on text that does not parse as a URL too (it is what is shown).
pub fn redact_url(url: &str) -> String {
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let (base, query) = match before_fragment.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (before_fragment, None),
    };
    let mut out = redact_userinfo(base);
    if let Some(query) = query {
        out.push('?');
        out.push_str(&redact_pairs(query));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(&redact_pairs(fragment));
    }
    out
}

/// Redacts, in a JSON payload shaped like an HTTP job's request, the secret `headers`
/// and the `url`'s secret query parameters. Other payloads are left as they are.
pub fn redact_payload(payload: &mut Value) {
    let Some(object) = payload.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(headers)) = object.get_mut("headers") {
        for (name, value) in headers.iter_mut() {
            if is_secret_name(name) {
                *value = Value::from(REDACTED);
            }
        }
    }
    if let Some(Value::String(url)) = object.get_mut("url") {
        *url = redact_url(url);
    }
}

/// Replaces every occurrence of `url` in `text` by its redacted form (for error messages
/// that quote the URL they were about).
pub(crate) fn redact_url_in(text: &str, url: &str) -> String {
    let shown = redact_url(url);
    if shown == url {
        text.to_owned()
    } else {
        text.replace(url, &shown)
    }
}

/// `a=1&token=x` → `a=1&token=***`; `;` separates pairs too.
fn redact_pairs(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    loop {
        let end = rest.find(['&', ';']).unwrap_or(rest.len());
        let pair = &rest[..end];
        match pair.split_once('=') {
            Some((name, _)) if is_secret_name(name) => {
                out.push_str(name);
                out.push('=');
                out.push_str(REDACTED);
            }
            _ => out.push_str(pair),
        }
        if end == rest.len() {
            return out;
        }
        out.push_str(&rest[end..=end]);
        rest = &rest[end + 1..];
    }
}

/// `https://user:pass@host/p` → `https://***@host/p`. The whole userinfo goes: a token
/// is often given as the user name alone (`https://ghp_x@github.com/`).
fn redact_userinfo(base: &str) -> String {
    let Some(scheme_end) = base.find("://").map(|i| i + 3) else {
        return base.to_owned();
    };
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let authority = &base[scheme_end..authority_end];
    let Some(at) = authority.rfind('@') else {
        return base.to_owned();
    };
    format!(
        "{}{REDACTED}{}",
        &base[..scheme_end],
        &base[scheme_end + at..]
    )
}

/// Decodes `%XX` escapes (and `+` as a space), so `X%2DPlex%2DToken` is seen as a token.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credential_headers_and_names_with_secret_words_are_secret() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "Set-Cookie",
            "X-Plex-Token",
            "x-api-key",
            "X-Client-Secret",
            "db_password",
            "X%2DPlex%2DToken",
            "sig",
            "SIG",
            "x-sig",
            "api_sig",
            "X-Amz-Signature",
            "X-Amz-Credential",
            "x-amz-security-token",
            "pass",
            "user_pass",
            "userPass",
            "pwd",
            "db_pwd",
            "credentials",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "X-Tenant",
            "Content-Type",
            "Accept",
            "page",
            "design",
            "signal",
            "sigma",
            "compass",
            "passenger",
            "bypass",
            "X-Amz-SignedHeaders",
            "X-Amz-Date",
            "sv",
            "sp",
            "se",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn secret_query_values_and_passwords_are_redacted_and_the_rest_kept() {
        assert_eq!(
            redact_url("https://h.example/a?x=1&X-Plex-Token=abc;api_key=d#f"),
            "https://h.example/a?x=1&X-Plex-Token=***;api_key=***#f"
        );
        assert_eq!(
            redact_url("https://u:pw@h.example/p?q"),
            "https://***@h.example/p?q"
        );
        assert_eq!(
            redact_url("https://ghp_abc123@github.com/x"),
            "https://***@github.com/x",
            "a user name alone is a token as often as not"
        );
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(redact_url("https://h/?token"), "https://h/?token");
    }

    #[test]
    fn a_request_debug_prints_its_secrets_redacted() {
        let request = crate::http::HttpRequest::get("https://h.example/a?token=s3cret&n=1")
            .header("Authorization", "Bearer s3cret")
            .header("X-Tenant", "acme");
        let shown = format!("{request:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("token=***") && shown.contains("acme"),
            "{shown}"
        );
    }

    #[test]
    fn a_payload_keeps_its_shape_with_the_secrets_replaced() {
        let mut payload = json!({
            "url": "https://h.example/a?token=s3cret",
            "headers": { "Authorization": "Bearer s3cret", "X-Tenant": "acme" },
            "json": { "n": 1 }
        });
        redact_payload(&mut payload);
        assert_eq!(
            payload,
            json!({
                "url": "https://h.example/a?token=***",
                "headers": { "Authorization": "***", "X-Tenant": "acme" },
                "json": { "n": 1 }
            })
        );
        let mut other = json!([1, 2]);
        redact_payload(&mut other);
        assert_eq!(other, json!([1, 2]));
    }
}
