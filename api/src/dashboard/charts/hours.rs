//! The IOP hours ledger as a picture: per week, the hours scheduled (a hatched outline) and the
//! hours attended (a solid bar with its number on top), against the weekly minimum of the level
//! of care (a dashed line labelled 9 h for adults, 6 h for adolescents). A finished week whose
//! attended hours fell short also gets a triangle under it, so shortfalls show without colour.

use super::scale::{short_date, ticks_to, Linear};
use super::svg::{num, points, Svg};

/// One week of the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct HoursWeek {
    /// Day number of the week's Monday.
    pub week_start: i64,
    /// Hours scheduled that week.
    pub scheduled_hours: f64,
    /// Hours attended that week.
    pub attended_hours: f64,
    /// Whether the week is over (only finished weeks can fall short).
    pub ended: bool,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = WIDTH - 16.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 226.0;

const SCHEDULED: &str = "#6b7280";
const ATTENDED: &str = "#166534";
const MINIMUM: &str = "#b91c1c";

/// Draws the ledger. `minimum_hours` is the weekly minimum and `population` names whom it
/// applies to (`adult`, `adolescent`). `data-weeks` counts the weeks and `data-short` the
/// finished weeks below the minimum.
pub fn hours_chart(id: &str, weeks: &[HoursWeek], minimum_hours: f64, population: &str) -> String {
    let clean = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
    let top_value = weeks
        .iter()
        .map(|w| clean(w.scheduled_hours).max(clean(w.attended_hours)))
        .fold(clean(minimum_hours) * 1.3, f64::max)
        .max(1.0);
    let ticks = ticks_to(top_value, 6);
    let y_max = ticks.last().copied().unwrap_or(top_value);
    let y = Linear::new((0.0, y_max), (BOTTOM, TOP));
    let n = weeks.len().max(1) as f64;
    let slot = (RIGHT - LEFT) / n;
    let bar = (slot * 0.36).min(24.0);
    let short: Vec<&HoursWeek> = weeks
        .iter()
        .filter(|w| w.ended && clean(w.attended_hours) < minimum_hours)
        .collect();
    let desc = format!(
        "Scheduled and attended hours in {} against the {} h weekly minimum; {} below it.",
        count(weeks.len(), "week", "weeks"),
        num(minimum_hours),
        count(short.len(), "finished week", "finished weeks")
    );
    let mut svg = Svg::new(
        id,
        (WIDTH, HEIGHT),
        "IOP hours per week",
        &desc,
        &[
            ("weeks", weeks.len().to_string()),
            ("short", short.len().to_string()),
            ("minimum", num(minimum_hours)),
        ],
    );
    let hatch = format!("{id}-hatch");
    svg.hatch_pattern(&hatch, "#ffffff", "#c7cbd1", 2.0);

    // Legend.
    svg.open(
        "g",
        &[("class", "legend".into()), ("font-size", "11".into())],
    );
    let ly = 16.0;
    svg.leaf(
        "rect",
        &[
            ("x", num(LEFT)),
            ("y", num(ly - 10.0)),
            ("width", "12".into()),
            ("height", "12".into()),
            ("fill", format!("url(#{hatch})")),
            ("stroke", SCHEDULED.into()),
        ],
    );
    svg.label((LEFT + 16.0, ly), "start", &[], "scheduled");
    svg.leaf(
        "rect",
        &[
            ("x", num(LEFT + 90.0)),
            ("y", num(ly - 10.0)),
            ("width", "12".into()),
            ("height", "12".into()),
            ("fill", ATTENDED.into()),
        ],
    );
    svg.label((LEFT + 106.0, ly), "start", &[], "attended (hours on top)");
    svg.line(
        (LEFT + 250.0, ly - 4.0),
        (LEFT + 274.0, ly - 4.0),
        &[
            ("stroke", MINIMUM.into()),
            ("stroke-width", "2".into()),
            ("stroke-dasharray", "6 4".into()),
        ],
    );
    svg.label((LEFT + 278.0, ly), "start", &[], "weekly minimum");
    svg.leaf(
        "polygon",
        &[
            (
                "points",
                points(&[
                    (LEFT + 384.0, ly - 10.0),
                    (LEFT + 396.0, ly - 10.0),
                    (LEFT + 390.0, ly),
                ]),
            ),
            ("fill", MINIMUM.into()),
        ],
    );
    svg.label(
        (LEFT + 400.0, ly),
        "start",
        &[],
        "finished week below the minimum",
    );
    svg.close();

    // Axes.
    svg.open("g", &[("class", "axis".into())]);
    for t in &ticks {
        let ty = y.at(*t);
        svg.line((LEFT, ty), (RIGHT, ty), &[("stroke", "#e5e7eb".into())]);
        svg.label((LEFT - 6.0, ty + 4.0), "end", &[], &num(*t));
    }
    svg.line(
        (LEFT, BOTTOM),
        (RIGHT, BOTTOM),
        &[("stroke", "#374151".into())],
    );
    svg.label(
        (14.0, (TOP + BOTTOM) / 2.0),
        "middle",
        &[(
            "transform",
            format!("rotate(-90 14 {})", num((TOP + BOTTOM) / 2.0)),
        )],
        "Hours per week",
    );
    // At most about ten week labels.
    let every = weeks.len().div_ceil(10).max(1);
    for (i, w) in weeks.iter().enumerate().step_by(every) {
        svg.label(
            (LEFT + (i as f64 + 0.5) * slot, BOTTOM + 30.0),
            "middle",
            &[],
            &short_date(w.week_start),
        );
    }
    svg.label(
        ((LEFT + RIGHT) / 2.0, HEIGHT - 10.0),
        "middle",
        &[],
        "Week starting (Monday, local time)",
    );
    svg.close();

    if weeks.is_empty() {
        svg.label(
            ((LEFT + RIGHT) / 2.0, (TOP + BOTTOM) / 2.0),
            "middle",
            &[("class", "empty".into())],
            "No weeks in this range",
        );
    }

    for (i, w) in weeks.iter().enumerate() {
        let centre = LEFT + (i as f64 + 0.5) * slot;
        let (scheduled, attended) = (clean(w.scheduled_hours), clean(w.attended_hours));
        let below = w.ended && attended < minimum_hours;
        svg.open(
            "g",
            &[
                (
                    "class",
                    if below { "week below-minimum" } else { "week" }.into(),
                ),
                ("data-week", crate::calendar::format_day(w.week_start)),
            ],
        );
        svg.text_el(
            "title",
            &[],
            &format!(
                "Week of {}: {} h scheduled, {} h attended{}",
                short_date(w.week_start),
                num(scheduled),
                num(attended),
                if below { ", below the minimum" } else { "" }
            ),
        );
        svg.leaf(
            "rect",
            &[
                ("class", "scheduled".into()),
                ("x", num(centre - bar - 1.0)),
                ("y", num(y.at(scheduled))),
                ("width", num(bar)),
                ("height", num(BOTTOM - y.at(scheduled))),
                ("fill", format!("url(#{hatch})")),
                ("stroke", SCHEDULED.into()),
            ],
        );
        svg.leaf(
            "rect",
            &[
                ("class", "attended".into()),
                ("x", num(centre + 1.0)),
                ("y", num(y.at(attended))),
                ("width", num(bar)),
                ("height", num(BOTTOM - y.at(attended))),
                ("fill", ATTENDED.into()),
            ],
        );
        if slot >= 22.0 {
            svg.label(
                (centre + 1.0 + bar / 2.0, y.at(attended) - 4.0),
                "middle",
                &[("font-size", "10".into())],
                &num(attended),
            );
        }
        if below {
            let ty = BOTTOM + 6.0;
            svg.leaf(
                "polygon",
                &[
                    (
                        "points",
                        points(&[(centre - 5.0, ty), (centre + 5.0, ty), (centre, ty + 8.0)]),
                    ),
                    ("fill", MINIMUM.into()),
                ],
            );
        }
        svg.close();
    }

    // The minimum line goes on top of the bars.
    let my = y.at(clean(minimum_hours));
    svg.open("g", &[("class", "minimum".into())]);
    svg.line(
        (LEFT, my),
        (RIGHT, my),
        &[
            ("stroke", MINIMUM.into()),
            ("stroke-width", "2".into()),
            ("stroke-dasharray", "6 4".into()),
        ],
    );
    svg.label(
        (RIGHT - 4.0, my - 6.0),
        "end",
        &[
            ("fill", MINIMUM.into()),
            ("font-weight", "bold".into()),
            // A white halo keeps the label readable where it crosses a bar.
            ("stroke", "#ffffff".into()),
            ("stroke-width", "4".into()),
            ("paint-order", "stroke".into()),
        ],
        &format!("minimum {} h/week ({population})", num(minimum_hours)),
    );
    svg.close();
    svg.finish()
}

/// `1 week`, `3 weeks`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::days_from_civil;
    use crate::dashboard::charts::wellformed::{check, with_class};

    fn week(start: i64, scheduled: f64, attended: f64, ended: bool) -> HoursWeek {
        HoursWeek {
            week_start: start,
            scheduled_hours: scheduled,
            attended_hours: attended,
            ended,
        }
    }

    #[test]
    fn one_week_is_one_week() {
        assert_eq!(
            count(1, "finished week", "finished weeks"),
            "1 finished week"
        );
        assert_eq!(
            count(0, "finished week", "finished weeks"),
            "0 finished weeks"
        );
    }

    #[test]
    fn the_ledger_draws_each_week_and_marks_finished_weeks_below_the_minimum() {
        let monday = days_from_civil(2026, 3, 2);
        let weeks = [
            week(monday, 9.0, 9.0, true),
            week(monday + 7, 9.0, 6.0, true),
            week(monday + 14, 9.0, 0.0, false),
        ];
        let svg = hours_chart("iop", &weeks, 9.0, "adult");
        let elements = check(&svg);
        assert_eq!(elements[0].attr("data-weeks"), Some("3"));
        assert_eq!(
            elements[0].attr("data-short"),
            Some("1"),
            "the week still running is not short"
        );
        assert_eq!(with_class(&svg, "week").len(), 3);
        assert_eq!(with_class(&svg, "below-minimum").len(), 1);
        assert_eq!(with_class(&svg, "attended").len(), 3);
        let texts: Vec<String> = elements
            .iter()
            .filter(|e| e.tag == "text")
            .map(|e| e.text.clone())
            .collect();
        assert!(texts.iter().any(|t| t == "minimum 9 h/week (adult)"));
        assert!(texts.iter().any(|t| t == "Hours per week"));
        assert!(texts.iter().any(|t| t == "2 Mar"));
        assert!(
            texts.iter().any(|t| t == "6"),
            "attended hours on top of the bar"
        );
    }

    #[test]
    fn the_minimum_line_sits_at_its_value_on_the_axis() {
        let svg = hours_chart("iop", &[week(0, 3.0, 3.0, true)], 6.0, "adolescent");
        let elements = check(&svg);
        let minimum = elements
            .iter()
            .skip_while(|e| !e.has_class("minimum"))
            .nth(1)
            .and_then(|line| line.attr("y1").map(str::to_string));
        // Ticks run 0..8 for a 6 h minimum (× 1.3 = 7.8), so 6 h sits at 3/4 of the height.
        let expected = num(BOTTOM - (BOTTOM - TOP) * 6.0 / 8.0);
        assert_eq!(minimum, Some(expected));
        assert!(svg.contains("minimum 6 h/week (adolescent)"));
    }

    #[test]
    fn a_long_ledger_stays_valid_and_labels_few_weeks() {
        let weeks: Vec<HoursWeek> = (0..106).map(|i| week(i * 7, 9.0, f64::NAN, true)).collect();
        let svg = hours_chart("iop", &weeks, 9.0, "adult");
        assert!(!svg.contains("NaN"));
        let elements = check(&svg);
        let label_y = num(BOTTOM + 30.0);
        let week_labels = elements
            .iter()
            .filter(|e| e.tag == "text" && e.attr("y") == Some(label_y.as_str()))
            .count();
        assert_eq!(week_labels, 10, "every 11th of 106 weeks");
    }
}
