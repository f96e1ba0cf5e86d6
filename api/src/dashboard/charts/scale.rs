//! Mapping data to chart coordinates, and choosing tick marks a person can read at a glance
//! (1, 2 or 5 times a power of ten; whole weeks or months for dates).

use crate::calendar::civil_from_days;

/// A linear map from a data interval onto a pixel interval (either may be reversed: the y axis
/// grows downwards in SVG).
#[derive(Debug, Clone, Copy)]
pub struct Linear {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Linear {
    /// Maps `[d0, d1]` onto `[r0, r1]`. An empty domain maps everything to the middle.
    pub fn new((d0, d1): (f64, f64), (r0, r1): (f64, f64)) -> Self {
        Self { d0, d1, r0, r1 }
    }

    /// The pixel position of `v`.
    pub fn at(&self, v: f64) -> f64 {
        let span = self.d1 - self.d0;
        if span == 0.0 || !span.is_finite() {
            return (self.r0 + self.r1) / 2.0;
        }
        self.r0 + (v - self.d0) / span * (self.r1 - self.r0)
    }
}

/// A step of 1, 2 or 5 × 10ⁿ that cuts `[0, max]` into at most `count` intervals.
pub fn nice_step(max: f64, count: usize) -> f64 {
    let count = count.max(1) as f64;
    if !(max.is_finite() && max > 0.0) {
        return 1.0;
    }
    let raw = max / count;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| max / step <= count)
        .unwrap_or(10.0 * magnitude)
}

/// Ticks `0, step, 2·step, …` up to the first one at or above `max`.
pub fn ticks_to(max: f64, count: usize) -> Vec<f64> {
    let step = nice_step(max, count);
    let mut ticks = vec![0.0];
    let mut i = 1.0;
    while ticks.last().is_some_and(|t| *t < max) && ticks.len() <= count + 1 {
        ticks.push(step * i);
        i += 1.0;
    }
    ticks
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `3 Mar` for a day number.
pub fn short_date(day: i64) -> String {
    let (_, month, d) = civil_from_days(day);
    let name = MONTHS
        .get(usize::try_from(month).unwrap_or(1).saturating_sub(1))
        .copied()
        .unwrap_or("?");
    format!("{d} {name}")
}

/// Day numbers in `[from, to]` to label on a date axis: every day for a week or less, then
/// every Monday, every other Monday, or the first of each month (or quarter), so that no more
/// than about eight labels crowd the axis.
pub fn date_ticks(from: i64, to: i64) -> Vec<i64> {
    if to < from {
        return Vec::new();
    }
    let span = to - from + 1;
    if span <= 8 {
        return (from..=to).collect();
    }
    // Day 0 (1970-01-01) was a Thursday, so Mondays are the days ≡ 4 (mod 7).
    let first_monday = from + (4 - from).rem_euclid(7);
    let weekly = |every: i64| -> Vec<i64> {
        (first_monday..=to)
            .step_by(usize::try_from(every).unwrap_or(7))
            .collect()
    };
    if span <= 8 * 7 {
        return weekly(7);
    }
    if span <= 16 * 7 {
        return weekly(14);
    }
    let months_apart = if span <= 250 {
        1
    } else if span <= 750 {
        3
    } else {
        12
    };
    (from..=to)
        .filter(|d| {
            let (_, month, day) = civil_from_days(*d);
            day == 1 && (month - 1) % months_apart == 0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::days_from_civil;

    #[test]
    fn a_linear_scale_maps_ends_and_middle_and_survives_an_empty_domain() {
        let y = Linear::new((0.0, 10.0), (200.0, 0.0));
        assert_eq!(y.at(0.0), 200.0);
        assert_eq!(y.at(10.0), 0.0);
        assert_eq!(y.at(5.0), 100.0);
        assert_eq!(Linear::new((3.0, 3.0), (0.0, 100.0)).at(3.0), 50.0);
    }

    #[test]
    fn ticks_are_round_numbers_covering_the_maximum() {
        assert_eq!(ticks_to(10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks_to(13.5, 5), vec![0.0, 5.0, 10.0, 15.0]);
        assert_eq!(ticks_to(0.0, 5), vec![0.0]);
        assert_eq!(ticks_to(f64::NAN, 5), vec![0.0]);
    }

    #[test]
    fn date_ticks_fall_on_mondays_or_first_days_and_stay_few() {
        let from = days_from_civil(2026, 3, 1); // a Sunday
        let monday = days_from_civil(2026, 3, 2);
        let four_weeks = date_ticks(from, from + 27);
        assert_eq!(four_weeks.first(), Some(&monday));
        assert!(four_weeks.iter().all(|d| (d - monday) % 7 == 0));
        assert_eq!(date_ticks(from, from + 5).len(), 6);
        let half_year = date_ticks(from, from + 182);
        assert!(half_year.len() <= 8, "{half_year:?}");
        assert!(half_year.iter().all(|d| civil_from_days(*d).2 == 1));
        assert!(date_ticks(from, from + 3650).len() <= 11);
        assert!(date_ticks(from + 1, from).is_empty());
    }

    #[test]
    fn short_dates_name_the_month() {
        assert_eq!(short_date(days_from_civil(2026, 3, 2)), "2 Mar");
        assert_eq!(short_date(days_from_civil(2025, 12, 31)), "31 Dec");
    }
}
