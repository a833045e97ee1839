//! Durations as scripts write them and as people read them.
//!
//! Scripts give durations as strings (`"5s"`, `"10m"`, `"1h 30m"`, `"250ms"`, anything
//! `humantime` parses) or as integer milliseconds. Floats are refused: `2.5` could mean
//! seconds or milliseconds, and a policy should not be ambiguous.

use std::time::Duration;

/// Parses a duration string such as `"5s"` or `"1h 30m"`.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!("{text:?} is not a duration ({e}); write it like \"250ms\", \"5s\", \"10m\" or \"1h 30m\"")
    })
}

/// A duration from integer milliseconds; negative values are refused.
pub(crate) fn from_millis(ms: i64) -> Result<Duration, String> {
    u64::try_from(ms)
        .map(Duration::from_millis)
        .map_err(|_| format!("{ms} ms is negative"))
}

/// Whole milliseconds, saturating at `i64::MAX` (about 292 million years).
pub(crate) fn to_millis_i64(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A compact rendering for tables: `250ms`, `2.5s`, `1m 17.5s`, `10m`, `2h 5m`, `1d 2h`.
/// Rounded to the millisecond.
pub fn format(d: Duration) -> String {
    let total_ms = d.as_millis();
    if total_ms < 1000 {
        return format!("{total_ms}ms");
    }
    let days = total_ms / 86_400_000;
    let hours = total_ms / 3_600_000 % 24;
    let minutes = total_ms / 60_000 % 60;
    let seconds_ms = total_ms % 60_000;
    let mut parts = Vec::with_capacity(4);
    if days > 0 {
        parts.push(format!("{days}d"));
    }
    if hours > 0 {
        parts.push(format!("{hours}h"));
    }
    if minutes > 0 {
        parts.push(format!("{minutes}m"));
    }
    if seconds_ms > 0 {
        let whole = seconds_ms / 1000;
        let frac = seconds_ms % 1000;
        if frac == 0 {
            parts.push(format!("{whole}s"));
        } else {
            let frac = format!("{frac:03}");
            parts.push(format!("{whole}.{}s", frac.trim_end_matches('0')));
        }
    }
    parts.join(" ")
}

/// Serde helper: a duration as an exact, parseable string such as `"1m 30s"`.
pub(crate) fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn formats_compactly() {
        let cases = [
            (0, "0ms"),
            (250, "250ms"),
            (2_500, "2.5s"),
            (5_000, "5s"),
            (77_500, "1m 17.5s"),
            (600_000, "10m"),
            (7_500_000, "2h 5m"),
            (93_600_000, "1d 2h"),
            (1_234, "1.234s"),
        ];
        for (ms, text) in cases {
            assert_eq!(format(Duration::from_millis(ms)), text);
        }
    }

    #[test]
    fn parses_strings_and_millis() {
        assert_eq!(parse("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse("1h 30m").unwrap(), Duration::from_secs(5400));
        assert!(parse("-5s").is_err());
        assert!(parse("soon").is_err());
        assert_eq!(from_millis(250).unwrap(), Duration::from_millis(250));
        assert!(from_millis(-1).is_err());
    }
}
