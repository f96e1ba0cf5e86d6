//! Times as a counselor reads them: in the patient's own time zone (their program track's, or
//! the UTC offset of their latest check-in), and "3 h ago" next to it.

use crate::db::DbConnection;
use crate::error::ApiError;
use crate::repo::{tracks, trends};
use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;

/// The zone a patient's times are shown in: their current track's time zone, else the UTC
/// offset their phone recorded with the latest check-in, else UTC.
pub fn zone_of(conn: &mut DbConnection, patient: &str) -> Result<TimeZone, ApiError> {
    if let Some(track) = tracks::current_track_of(conn, patient)? {
        if let Ok(tz) = TimeZone::get(&track.time_zone) {
            return Ok(tz);
        }
    }
    Ok(trends::last_checkin(conn, patient)?
        .and_then(|l| i32::try_from(l.tz_offset_min * 60).ok())
        .and_then(|secs| Offset::from_seconds(secs).ok())
        .map_or(TimeZone::UTC, TimeZone::fixed))
}

/// `Tue 24 Nov 18:00` in `tz`.
pub fn date_time(at_ms: i64, tz: &TimeZone) -> String {
    Timestamp::from_millisecond(at_ms)
        .map(|t| {
            t.to_zoned(tz.clone())
                .strftime("%a %-d %b %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| "—".into())
}

/// `2026-11-24T18:00` in `tz`, the value of an `<input type="datetime-local">`.
pub fn input_value(at_ms: i64, tz: &TimeZone) -> String {
    Timestamp::from_millisecond(at_ms)
        .map(|t| {
            t.to_zoned(tz.clone())
                .strftime("%Y-%m-%dT%H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// Reads an `<input type="datetime-local">` value (`2026-11-24T18:00`) as a time in `tz`.
pub fn parse_input(text: &str, tz: &TimeZone) -> Option<i64> {
    let dt: jiff::civil::DateTime = text.trim().parse().ok()?;
    let zoned = tz.to_ambiguous_zoned(dt).compatible().ok()?;
    Some(zoned.timestamp().as_millisecond())
}

/// How long ago `at_ms` was, in the largest whole unit: `just now`, `5 min ago`, `3 h ago`,
/// `2 days ago`; a future time reads `in …`.
pub fn relative(now_ms: i64, at_ms: i64) -> String {
    let (future, delta) = if at_ms > now_ms {
        (true, at_ms - now_ms)
    } else {
        (false, now_ms - at_ms)
    };
    let minutes = delta / 60_000;
    let text = match minutes {
        0 => return "just now".into(),
        1..=59 => format!("{minutes} min"),
        60..=2_879 => format!("{} h", minutes / 60),
        _ => format!("{} days", minutes / 1_440),
    };
    if future {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn relative_times_use_the_largest_whole_unit() {
        let now = 1_000_000_000_000;
        assert_eq!(relative(now, now - 30_000), "just now");
        assert_eq!(relative(now, now - 5 * 60_000), "5 min ago");
        assert_eq!(relative(now, now - 3 * 3_600_000), "3 h ago");
        assert_eq!(relative(now, now - 3 * 86_400_000), "3 days ago");
        assert_eq!(relative(now, now + 26 * 3_600_000), "in 26 h");
    }

    #[test]
    fn a_local_input_round_trips_through_the_zone_across_daylight_saving() {
        let tz = TimeZone::get("America/New_York").unwrap();
        // 18:00 in New York in July is 22:00 UTC; in December 23:00 UTC.
        let july = parse_input("2026-07-01T18:00", &tz).unwrap();
        assert_eq!(july % 86_400_000, 22 * 3_600_000);
        let december = parse_input("2026-12-01T18:00", &tz).unwrap();
        assert_eq!(december % 86_400_000, 23 * 3_600_000);
        assert_eq!(input_value(december, &tz), "2026-12-01T18:00");
        assert_eq!(date_time(december, &tz), "Tue 1 Dec 18:00");
        assert_eq!(parse_input("yesterday", &tz), None);
    }
}
