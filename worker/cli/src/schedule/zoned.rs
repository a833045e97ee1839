//! croner's view of a zoned time, on the jiff the rest of tenax uses.
//!
//! croner ships adapters for chrono and for an older jiff; its [`CronDateTime`] trait is
//! public so that a caller can bring its own. This is that adapter for jiff 1, so the
//! daemon carries one time library and one copy of the time zone database.

use std::cmp::Ordering;

use croner::errors::CronError;
use croner::{CivilDate, CivilDateTime, CivilTime, CronDateTime, Resolution, Weekday};
use jiff::civil::DateTime;
use jiff::tz::AmbiguousOffset;
use jiff::{SignedDuration, ZonedDateTime as Zoned};

/// A jiff [`Zoned`] that croner can search over.
#[derive(Clone, Debug)]
pub(super) struct CronZoned(pub(super) Zoned);

impl CronDateTime for CronZoned {
    fn to_civil(&self) -> CivilDateTime {
        let d = self.0.datetime();
        // jiff keeps every part in range, so croner may take them unchecked.
        CivilDateTime::new(
            CivilDate::from_parts_unchecked(
                i32::from(d.year()),
                d.month().unsigned_abs().into(),
                d.day().unsigned_abs().into(),
            ),
            CivilTime::from_parts_unchecked(
                d.hour().unsigned_abs().into(),
                d.minute().unsigned_abs().into(),
                d.second().unsigned_abs().into(),
            ),
        )
    }

    fn civil_weekday(&self) -> Weekday {
        Weekday::from_days_from_sunday(
            self.0
                .weekday()
                .to_sunday_zero_offset()
                .unsigned_abs()
                .into(),
        )
    }

    fn resolve_civil(&self, civil: CivilDateTime) -> Result<Resolution<Self>, CronError> {
        let part = |n: u32| i8::try_from(n).map_err(|_| CronError::InvalidDate);
        let year = i16::try_from(civil.year()).map_err(|_| CronError::InvalidDate)?;
        let datetime = DateTime::new(
            year,
            part(civil.month())?,
            part(civil.day())?,
            part(civil.hour())?,
            part(civil.minute())?,
            part(civil.second())?,
            0,
        )
        .map_err(|_| CronError::InvalidDate)?;
        let ambiguous = self.0.time_zone().to_ambiguous_zoned_datetime(datetime);
        Ok(match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { .. } => Resolution::Single(CronZoned(
                ambiguous
                    .unambiguous()
                    .map_err(|_| CronError::InvalidTime)?,
            )),
            AmbiguousOffset::Fold { .. } => {
                let earlier = ambiguous
                    .clone()
                    .earlier()
                    .map_err(|_| CronError::InvalidTime)?;
                let later = ambiguous.later().map_err(|_| CronError::InvalidTime)?;
                Resolution::Ambiguous(CronZoned(earlier), CronZoned(later))
            }
            AmbiguousOffset::Gap { .. } => Resolution::Gap,
        })
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0
            .checked_add(SignedDuration::from_secs(seconds))
            .ok()
            .map(CronZoned)
    }

    fn cmp_instant(&self, other: &Self) -> Ordering {
        self.0.timestamp().cmp(&other.0.timestamp())
    }
}
