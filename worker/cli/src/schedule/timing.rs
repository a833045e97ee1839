//! When a schedule fires: its ticks, and which of them are due after a pause. Pure
//! functions of (timing, what was covered, now), so tests give them any clock.

use std::str::FromStr;
use std::time::Duration;

use croner::Cron;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use tenax_core::Timestamp;

use super::zoned::CronZoned;

/// The most ticks one catch-up enqueues with `catch_up = "all"`: the latest this many
/// missed ticks fire, older ones are skipped (and logged), so a long stop of a fast
/// schedule cannot flood the queue or the write.
pub(crate) const MAX_CATCH_UP: usize = 1_000;

/// The shortest interval: 1 s (cron's own resolution).
const MIN_EVERY: Duration = Duration::from_secs(1);

/// A schedule's ticks.
#[derive(Clone, Debug)]
pub(crate) enum Timing {
    /// The instants a cron expression names, read on the wall clock of `zone`.
    Cron { cron: Box<Cron>, zone: TimeZone },
    /// Every multiple of the interval since the Unix epoch, so ticks do not move when
    /// the daemon restarts.
    Every(Duration),
}

/// What fires after a stop that missed ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CatchUp {
    /// One job, for the latest missed tick. Default.
    #[default]
    One,
    /// One job per missed tick, at most [`MAX_CATCH_UP`] (the latest ones).
    All,
}

impl Timing {
    /// A cron expression (5 fields, or 6 with seconds first) in the IANA time zone
    /// `zone`. Errors name what is wrong and which of the two it is.
    pub(crate) fn cron(expr: &str, zone: &str) -> Result<Timing, (&'static str, String)> {
        let cron = Cron::from_str(expr)
            .map_err(|e| ("cron", format!("{expr:?} is not a cron expression: {e}")))?;
        let zone = TimeZone::get(zone).map_err(|e| {
            (
                "timezone",
                format!("{zone:?} is not a time zone such as \"UTC\" or \"Europe/Paris\": {e}"),
            )
        })?;
        let timing = Timing::Cron {
            cron: Box::new(cron),
            zone,
        };
        if timing.next_after(Timestamp::from_millis(0)).is_none() {
            return Err(("cron", format!("{expr:?} never fires")));
        }
        Ok(timing)
    }

    /// An interval of at least [`MIN_EVERY`], in whole milliseconds.
    pub(crate) fn every(every: Duration) -> Result<Timing, String> {
        if every < MIN_EVERY || !every.subsec_nanos().is_multiple_of(1_000_000) {
            return Err(format!(
                "must be at least 1s, in whole milliseconds, got {}",
                humantime::format_duration(every)
            ));
        }
        Ok(Timing::Every(every))
    }

    /// The first tick strictly after `t`.
    pub(crate) fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        match self {
            Timing::Every(every) => {
                let step = every_ms(*every);
                let next = (t.as_millis() / step).checked_add(1)?.checked_mul(step)?;
                Some(Timestamp::from_millis(next))
            }
            Timing::Cron { cron, zone } => {
                let from = zoned(whole_second(t), zone)?;
                let next = cron.find_next_occurrence(&from, false).ok()?;
                to_timestamp(&next)
            }
        }
    }

    /// The latest tick at or before `t`.
    fn latest_at_or_before(&self, t: Timestamp) -> Option<Timestamp> {
        match self {
            Timing::Every(every) => {
                let step = every_ms(*every);
                Some(Timestamp::from_millis(t.as_millis() / step * step))
            }
            Timing::Cron { cron, zone } => {
                let from = zoned(whole_second(t), zone)?;
                let prev = cron.find_previous_occurrence(&from, true).ok()?;
                to_timestamp(&prev)
            }
        }
    }

    /// The ticks in `(after, upto]` to fire now, oldest first: the latest one with
    /// [`CatchUp::One`], the latest [`MAX_CATCH_UP`] with [`CatchUp::All`].
    pub(crate) fn due(
        &self,
        after: Timestamp,
        upto: Timestamp,
        catch_up: CatchUp,
    ) -> Vec<Timestamp> {
        let limit = match catch_up {
            CatchUp::One => 1,
            CatchUp::All => MAX_CATCH_UP,
        };
        let mut ticks = Vec::new();
        let mut at = upto;
        while ticks.len() < limit {
            match self.latest_at_or_before(at) {
                Some(tick) if tick > after => {
                    ticks.push(tick);
                    // Ticks are whole seconds or more apart: step back below this one.
                    match tick.as_millis().checked_sub(1) {
                        Some(before) => at = Timestamp::from_millis(before),
                        None => break,
                    }
                }
                _ => break,
            }
        }
        ticks.reverse();
        ticks
    }
}

fn every_ms(every: Duration) -> u64 {
    u64::try_from(every.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn whole_second(t: Timestamp) -> Timestamp {
    Timestamp::from_millis(t.as_millis() / 1000 * 1000)
}

fn zoned(t: Timestamp, zone: &TimeZone) -> Option<CronZoned> {
    let ms = i64::try_from(t.as_millis()).ok()?;
    let ts = jiff::Timestamp::from_millisecond(ms).ok()?;
    Some(CronZoned(ts.to_zoned_datetime(zone.clone())))
}

fn to_timestamp(z: &CronZoned) -> Option<Timestamp> {
    u64::try_from(z.0.timestamp().as_millisecond())
        .ok()
        .map(Timestamp::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `2026-03-08T06:30:00Z` and friends, as stored timestamps.
    fn at(text: &str) -> Timestamp {
        let ts: jiff::Timestamp = text.parse().expect("a timestamp");
        Timestamp::from_millis(u64::try_from(ts.as_millisecond()).expect("after 1970"))
    }

    fn utc(t: Timestamp) -> String {
        let ms = i64::try_from(t.as_millis()).expect("in range");
        jiff::Timestamp::from_millisecond(ms)
            .expect("in range")
            .to_string()
    }

    #[test]
    fn an_interval_ticks_on_multiples_of_itself() {
        let every = Timing::every(Duration::from_secs(15 * 60)).expect("valid");
        assert_eq!(
            every.next_after(at("2026-01-01T10:07:12Z")),
            Some(at("2026-01-01T10:15:00Z"))
        );
        // Strictly after: a tick is not its own next.
        assert_eq!(
            every.next_after(at("2026-01-01T10:15:00Z")),
            Some(at("2026-01-01T10:30:00Z"))
        );
        assert!(Timing::every(Duration::from_millis(999)).is_err());
        assert!(Timing::every(Duration::from_micros(1_000_500)).is_err());
    }

    #[test]
    fn a_cron_expression_is_read_on_the_wall_clock_of_its_time_zone() {
        let daily = Timing::cron("30 9 * * *", "Europe/Paris").expect("valid");
        // 09:30 in Paris is 08:30 UTC in winter and 07:30 UTC in summer.
        assert_eq!(
            daily.next_after(at("2026-01-10T12:00:00Z")).map(utc),
            Some("2026-01-11T08:30:00Z".into())
        );
        assert_eq!(
            daily.next_after(at("2026-07-10T12:00:00Z")).map(utc),
            Some("2026-07-11T07:30:00Z".into())
        );
    }

    #[test]
    fn across_a_daylight_saving_change_a_daily_tick_keeps_its_wall_clock_time() {
        // New York springs forward on 2026-03-08 at 02:00 local (07:00 UTC).
        let daily = Timing::cron("0 9 * * *", "America/New_York").expect("valid");
        let before = daily.next_after(at("2026-03-07T00:00:00Z")).expect("tick");
        let after = daily.next_after(before).expect("tick");
        assert_eq!(utc(before), "2026-03-07T14:00:00Z", "09:00 EST");
        assert_eq!(utc(after), "2026-03-08T13:00:00Z", "09:00 EDT");
        assert_eq!(after.since(before), Duration::from_secs(23 * 3600));
        // A time inside the skipped hour: that day's tick fires once, when the clock
        // jumps (03:00 EDT), neither lost nor doubled.
        let skipped = Timing::cron("30 2 * * *", "America/New_York").expect("valid");
        let ticks = skipped.due(
            at("2026-03-07T00:00:00Z"),
            at("2026-03-10T00:00:00Z"),
            CatchUp::All,
        );
        let shown: Vec<String> = ticks.iter().map(|t| utc(*t)).collect();
        assert_eq!(
            shown,
            [
                "2026-03-07T07:30:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-09T06:30:00Z"
            ]
        );
    }

    #[test]
    fn a_bad_expression_or_zone_names_which_key_is_wrong() {
        let (key, message) = Timing::cron("61 * * * *", "UTC").expect_err("bad minute");
        assert_eq!(key, "cron");
        assert!(message.contains("61 * * * *"), "{message}");
        let (key, message) = Timing::cron("0 * * * *", "Mars/Olympus").expect_err("bad zone");
        assert_eq!(key, "timezone");
        assert!(message.contains("Mars/Olympus"), "{message}");
        let (key, _) = Timing::cron("0 0 30 2 *", "UTC").expect_err("never");
        assert_eq!(key, "cron");
    }

    #[test]
    fn after_downtime_one_catch_up_fires_the_latest_missed_tick() {
        let every = Timing::every(Duration::from_secs(60)).expect("valid");
        let covered = at("2026-01-01T10:00:00Z");
        let now = at("2026-01-01T13:20:30Z");
        assert_eq!(
            every.due(covered, now, CatchUp::One),
            vec![at("2026-01-01T13:20:00Z")]
        );
        assert!(
            every.due(now, now, CatchUp::One).is_empty(),
            "nothing missed"
        );
        let hourly = Timing::cron("0 * * * *", "UTC").expect("valid");
        assert_eq!(
            hourly.due(covered, now, CatchUp::One),
            vec![at("2026-01-01T13:00:00Z")]
        );
    }

    #[test]
    fn catch_up_all_fires_every_missed_tick_up_to_the_bound() {
        let hourly = Timing::cron("0 * * * *", "UTC").expect("valid");
        let ticks = hourly.due(
            at("2026-01-01T10:00:00Z"),
            at("2026-01-01T13:20:00Z"),
            CatchUp::All,
        );
        let expected = ["11:00", "12:00", "13:00"].map(|h| at(&format!("2026-01-01T{h}:00Z")));
        assert_eq!(ticks, expected);
        // Two days of one-second ticks: only the latest MAX_CATCH_UP.
        let fast = Timing::every(Duration::from_secs(1)).expect("valid");
        let now = at("2026-01-03T00:00:00Z");
        let ticks = fast.due(at("2026-01-01T00:00:00Z"), now, CatchUp::All);
        assert_eq!(ticks.len(), MAX_CATCH_UP);
        assert_eq!(ticks.last(), Some(&now));
        assert!(
            ticks
                .windows(2)
                .all(|w| w[1].since(w[0]) == Duration::from_secs(1))
        );
    }
}
