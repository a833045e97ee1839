//! The `Retry-After` header: delta-seconds or an HTTP-date.
//!
//! An HTTP-date is measured from the response's own `Date` header when it has one, so a
//! downstream whose clock is off by minutes still gets the pause it asked for; only
//! without `Date` is it measured from our clock.

use std::time::{Duration, SystemTime};

/// How long the downstream asks us to wait, or `None` if the header is malformed.
/// A date in the past asks for no wait at all (`Some(Duration::ZERO)`).
pub(crate) fn parse(value: &str, date: Option<&str>, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let reference = date
        .and_then(|d| httpdate::parse_http_date(d.trim()).ok())
        .unwrap_or(now);
    Some(at.duration_since(reference).unwrap_or(Duration::ZERO))
}

/// How long a response's `Retry-After` asks us to wait (delta-seconds, or an HTTP-date
/// measured from its `Date`); `None` without a well-formed header.
pub fn from_headers(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    use reqwest::header::{DATE, RETRY_AFTER};
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    let date = headers.get(DATE).and_then(|d| d.to_str().ok());
    parse(value, date, SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// 1994-11-06 08:49:37 UTC, the example of RFC 9110.
    const RFC_EXAMPLE: u64 = 784_111_777;

    #[test]
    fn delta_seconds() {
        assert_eq!(parse("120", None, at(0)), Some(Duration::from_secs(120)));
        assert_eq!(parse(" 0 ", None, at(0)), Some(Duration::ZERO));
        assert_eq!(parse("-5", None, at(0)), None);
        assert_eq!(parse("1.5", None, at(0)), None);
        assert_eq!(parse("99999999999999999999999", None, at(0)), None);
    }

    #[test]
    fn http_date_against_the_clock() {
        let value = "Sun, 06 Nov 1994 08:49:37 GMT";
        let now = at(RFC_EXAMPLE - 90);
        assert_eq!(parse(value, None, now), Some(Duration::from_secs(90)));
    }

    #[test]
    fn http_date_against_the_date_header() {
        let value = "Sun, 06 Nov 1994 08:49:37 GMT";
        let date = "Sun, 06 Nov 1994 08:49:07 GMT";
        // Our clock is a day off; the downstream's own Date decides.
        let now = at(RFC_EXAMPLE + 86_400);
        assert_eq!(parse(value, Some(date), now), Some(Duration::from_secs(30)));
        // A malformed Date falls back to our clock.
        assert_eq!(
            parse(value, Some("yesterday"), at(RFC_EXAMPLE - 5)),
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn past_dates_ask_for_no_wait_and_garbage_for_nothing() {
        let value = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(
            parse(value, None, at(RFC_EXAMPLE + 60)),
            Some(Duration::ZERO)
        );
        assert_eq!(parse("soon", None, at(0)), None);
        assert_eq!(parse("", None, at(0)), None);
    }
}
