//! Calendar days as the read models store them: whole days since 1970-01-01 in the patient's
//! local time (the UTC offset the phone recorded with each check-in), and their `YYYY-MM-DD` form.

use std::ops::RangeInclusive;

/// The years a date may name wherever a request carries one (a date query parameter, a track's
/// start date, a time bound in milliseconds): one range, documented in openapi.yaml. It keeps
/// every date the server parses or answers with inside what `YYYY-MM-DD` (and a generated
/// client's date type) can hold.
pub const DATE_YEARS: RangeInclusive<i64> = 1900..=2999;

/// The first day of [`DATE_YEARS`], 1900-01-01, as a day number.
pub fn first_day() -> i64 {
    days_from_civil(*DATE_YEARS.start(), 1, 1)
}

/// The last day of [`DATE_YEARS`], 2999-12-31, as a day number.
pub fn last_day() -> i64 {
    days_from_civil(*DATE_YEARS.end(), 12, 31)
}

/// The instants of [`DATE_YEARS`] in milliseconds since the epoch: from 1900-01-01T00:00Z up to
/// 3000-01-01T00:00Z (so an exclusive upper bound can take in the whole of 2999).
pub fn instant_range_ms() -> RangeInclusive<i64> {
    first_day() * 86_400_000..=(last_day() + 1) * 86_400_000
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` of a day number.
pub fn format_day(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A text that is not a date [`parse_day`] accepts. Day arithmetic knows nothing of HTTP: the
/// layer that parses a request turns this into its own error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{field} must be a date like 2026-03-31, in the years {}–{}",
    DATE_YEARS.start(),
    DATE_YEARS.end()
)]
pub struct InvalidDay {
    /// The name of the field that held it.
    pub field: String,
}

/// Parses `YYYY-MM-DD` into a day number; anything else (including 2026-02-30, and a year
/// outside [`DATE_YEARS`]) is refused.
pub fn parse_day(text: &str, field: &str) -> Result<i64, InvalidDay> {
    let invalid = || InvalidDay {
        field: field.to_string(),
    };
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(invalid());
    }
    let (y, m, d): (i64, u32, u32) = (
        y.parse().map_err(|_| invalid())?,
        m.parse().map_err(|_| invalid())?,
        d.parse().map_err(|_| invalid())?,
    );
    if !DATE_YEARS.contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return Err(invalid());
    }
    let days = days_from_civil(y, m, d);
    if civil_from_days(days) != (y, m, d) {
        return Err(invalid());
    }
    Ok(days)
}

/// The local day number of an instant at a UTC offset.
pub fn local_day(at_ms: i64, offset_min: i64) -> i64 {
    (at_ms + offset_min * 60_000).div_euclid(86_400_000)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip_across_centuries_and_leap_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 3, 2), 20_514);
        for days in [-800_000, -1, 0, 59, 11_016, 20_513, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_day(20_514), "2026-03-02");
    }

    #[test]
    fn only_real_dates_parse() {
        assert_eq!(
            parse_day("2024-02-29", "from").unwrap(),
            days_from_civil(2024, 2, 29)
        );
        for bad in [
            "2026-02-30",
            "2025-02-29",
            "2026-13-01",
            "2026-1-01",
            "yesterday",
            "2026-01-01-01",
            "0000-01-10",
            "1899-12-31",
            "3000-01-01",
        ] {
            assert!(parse_day(bad, "from").is_err(), "{bad}");
        }
        assert_eq!(parse_day("1900-01-01", "from").unwrap(), first_day());
        assert_eq!(parse_day("2999-12-31", "to").unwrap(), last_day());
    }

    #[test]
    fn the_instant_range_spans_the_date_years_exactly() {
        let range = instant_range_ms();
        assert_eq!(*range.start(), -2_208_988_800_000);
        assert_eq!(*range.end(), 32_503_680_000_000);
    }
}
