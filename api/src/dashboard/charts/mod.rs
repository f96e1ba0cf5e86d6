//! The dashboard's charts: small, pure functions from numbers to SVG text, drawn on the server
//! so pages need no JavaScript and no front-end build.
//!
//! Why our own module instead of a plotting crate: the charts are few and simple, but each must
//! be readable without colour (shapes, patterns, printed numbers), carry a title and a spoken
//! description, expose counts (`data-points`, `data-lapses`, …) that browser tests check, and
//! escape every piece of text that came from a phone. A few hundred tested lines do that more
//! plainly than bending a general plotting library, and add nothing to the build.
//!
//! Every chart is one `<svg>` element with an `id` chosen by the caller, `role="img"`, a
//! `<title>` and a `<desc>`; it scales to its container through its `viewBox`.

pub mod bars;
pub mod craving;
pub mod heatmap;
pub mod hours;
pub mod scale;
pub mod sparkline;
pub mod svg;
#[cfg(test)]
pub mod wellformed;

pub use bars::{bar_chart, Bar, BarChart};
pub use craving::{craving_chart, CravingChart, DayPoint, SessionMark, SessionPoint};
pub use heatmap::{heatmap, HeatCell};
pub use hours::{hours_chart, HoursWeek};
pub use sparkline::sparkline;

#[cfg(test)]
mod tests {
    use super::*;
    use wellformed::check;

    /// A small deterministic generator (xorshift), so the test needs no crate and never flakes.
    struct Numbers(u64);

    impl Numbers {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        /// Mostly ordinary values, sometimes the ones that break naive charts.
        fn value(&mut self) -> f64 {
            match self.next() % 12 {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => -3.0,
                3 => 1e9,
                4 => 0.0,
                n => (n as f64) * 1.37 % 10.0,
            }
        }

        fn day(&mut self) -> i64 {
            20_000 + (self.next() % 120) as i64 - 10
        }
    }

    #[test]
    fn every_chart_stays_well_formed_and_free_of_nan_whatever_numbers_it_is_given() {
        let mut n = Numbers(0x9E37_79B9_7F4A_7C15);
        for round in 0..200 {
            let len = (n.next() % 40) as usize;
            let days: Vec<DayPoint> = (0..len)
                .map(|_| DayPoint {
                    day: n.day(),
                    count: (n.next() % 5) as i64,
                    mean: n.value(),
                    max: n.value(),
                    rolling_mean_7d: n.value(),
                })
                .collect();
            let lapses: Vec<i64> = (0..n.next() % 4).map(|_| n.day()).collect();
            let sessions: Vec<SessionPoint> = (0..n.next() % 6)
                .map(|i| SessionPoint {
                    day: n.day(),
                    mark: SessionMark::from_attendance(
                        ["absent", "late", "excused", "?"]
                            .get(i as usize % 4)
                            .copied(),
                    ),
                    label: "group & <more>".into(),
                })
                .collect();
            let (from, to) = (n.day(), n.day());
            let cells: Vec<HeatCell> = (0..len)
                .map(|_| HeatCell {
                    weekday: (n.next() % 9) as i64 - 1,
                    hour: (n.next() % 26) as i64 - 1,
                    count: 1,
                    mean: n.value(),
                })
                .collect();
            let bars: Vec<Bar> = (0..len % 12)
                .map(|i| Bar {
                    label: format!("t{i}\"'"),
                    value: n.value(),
                    note: "n".into(),
                })
                .collect();
            let weeks: Vec<HoursWeek> = (0..len % 20)
                .map(|i| HoursWeek {
                    week_start: 20_000 + 7 * i as i64,
                    scheduled_hours: n.value(),
                    attended_hours: n.value(),
                    ended: i % 2 == 0,
                })
                .collect();
            let spark: Vec<Option<f64>> = (0..len % 15)
                .map(|_| (n.next() % 3 != 0).then(|| n.value()))
                .collect();
            let minimum = n.value();
            for svg in [
                craving_chart(&CravingChart {
                    id: "c",
                    from,
                    to,
                    days: &days,
                    lapses: &lapses,
                    sessions: &sessions,
                }),
                heatmap("h", &cells),
                bar_chart(&BarChart {
                    id: "b",
                    title: "B",
                    axis: "x",
                    bars: &bars,
                }),
                hours_chart("w", &weeks, minimum, "adult"),
                sparkline(&spark),
            ] {
                check(&svg);
                assert!(
                    !svg.contains("NaN") && !svg.contains("inf"),
                    "round {round}: {svg}"
                );
            }
        }
    }
}
