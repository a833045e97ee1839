//! Times for people: the local date and time, and how far from now ("in 3m", "5m ago").

use std::time::{Duration, SystemTime};

use serde_json::Value;

/// An RFC 3339 time from an answer, as local time with its distance from now; `-` when
/// absent, and the text as given when it does not parse.
pub(crate) fn when(value: &Value) -> String {
    let Some(text) = value.as_str() else {
        return "-".to_owned();
    };
    match text.parse::<jiff::Timestamp>() {
        Ok(t) => at(t, SystemTime::now()),
        Err(_) => text.to_owned(),
    }
}

/// Unix milliseconds as [`when`] shows them.
pub(crate) fn from_millis(ms: u64) -> String {
    let t = i64::try_from(ms)
        .ok()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
    match t {
        Some(t) => at(t, SystemTime::now()),
        None => ms.to_string(),
    }
}

fn at(t: jiff::Timestamp, now: SystemTime) -> String {
    let local = t.to_zoned_datetime(jiff::tz::TimeZone::system());
    let shown = local.strftime("%Y-%m-%d %H:%M:%S %Z");
    match SystemTime::try_from(t) {
        Ok(then) => format!("{shown} ({})", relative(then, now)),
        Err(_) => shown.to_string(),
    }
}

/// "in 3m", "5m ago", "now": the largest whole unit only (s, m, h, d).
pub(crate) fn relative(then: SystemTime, now: SystemTime) -> String {
    let (d, future) = match then.duration_since(now) {
        Ok(d) => (d, true),
        Err(e) => (e.duration(), false),
    };
    if d < Duration::from_secs(1) {
        return "now".to_owned();
    }
    let s = d.as_secs();
    let short = match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    };
    if future {
        format!("in {short}")
    } else {
        format!("{short} ago")
    }
}
