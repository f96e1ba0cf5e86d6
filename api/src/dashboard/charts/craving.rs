//! The craving chart of the patient page: per local day the mean craving (a dot) and the
//! highest (a whisker up to a cap), the 7-day rolling mean (a thick line), lapses (triangles on
//! a dotted day line) and sessions (a lane of squares below the plot: filled when attended,
//! crossed when missed, hollow when not yet marked). Every series differs by shape or stroke,
//! not only colour, and the legend says which is which in words.

use super::scale::{date_ticks, short_date, Linear};
use super::svg::{num, points, Svg};

/// One local day with check-ins.
#[derive(Debug, Clone, PartialEq)]
pub struct DayPoint {
    /// Day number (days since 1970-01-01, the patient's local date).
    pub day: i64,
    /// Check-ins that day.
    pub count: i64,
    /// Mean craving, 0–10.
    pub mean: f64,
    /// Highest craving, 0–10.
    pub max: f64,
    /// Check-in-weighted mean of the 7 days ending this day.
    pub rolling_mean_7d: f64,
}

/// What became of a session, as its marker shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionMark {
    /// Attended (on time, late or leaving early): a filled square.
    Attended,
    /// Absent: a hollow square with a cross.
    Missed,
    /// Excused: a hollow square with a dash.
    Excused,
    /// Not marked yet (or still ahead): a hollow square.
    Open,
}

impl SessionMark {
    /// From a session's stored attendance value.
    pub fn from_attendance(attendance: Option<&str>) -> Self {
        match attendance {
            Some("attended" | "late" | "left_early") => SessionMark::Attended,
            Some("absent") => SessionMark::Missed,
            Some("excused") => SessionMark::Excused,
            _ => SessionMark::Open,
        }
    }

    fn word(self) -> &'static str {
        match self {
            SessionMark::Attended => "attended",
            SessionMark::Missed => "missed",
            SessionMark::Excused => "excused",
            SessionMark::Open => "not marked",
        }
    }
}

/// One session on the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionPoint {
    /// Local day it starts on.
    pub day: i64,
    /// Its attendance.
    pub mark: SessionMark,
    /// What to call it in the tooltip (its kind, e.g. `group`); escaped when written.
    pub label: String,
}

/// Everything the craving chart draws.
#[derive(Debug, Clone)]
pub struct CravingChart<'a> {
    /// Element id (also the prefix of the title and description ids).
    pub id: &'a str,
    /// First local day shown.
    pub from: i64,
    /// Last local day shown (inclusive).
    pub to: i64,
    /// Days with check-ins, any order.
    pub days: &'a [DayPoint],
    /// Local days of lapses (one entry per lapse).
    pub lapses: &'a [i64],
    /// Sessions in the range.
    pub sessions: &'a [SessionPoint],
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 312.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = WIDTH - 16.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 236.0;
const LANE: f64 = 254.0;
const MAX_SCALE: f64 = 10.0;

const MEAN_COLOUR: &str = "#1f5fa8";
const MAX_COLOUR: &str = "#6b7280";
const ROLLING_COLOUR: &str = "#b45309";
const LAPSE_COLOUR: &str = "#b91c1c";
const SESSION_COLOUR: &str = "#166534";

fn stroke(colour: &str, width: f64) -> [(&'static str, String); 2] {
    [("stroke", colour.into()), ("stroke-width", num(width))]
}

/// A square marker centred on `(x, y)` whose fill and inner stroke say what became of a
/// session. `title` is the tooltip; the legend's samples have none and no `session` class.
fn session_marker(svg: &mut Svg, (x, y): (f64, f64), mark: SessionMark, title: Option<&str>) {
    let half = 5.0;
    let fill = match mark {
        SessionMark::Attended => SESSION_COLOUR,
        _ => "#ffffff",
    };
    let class = match title {
        Some(_) => format!("session session-{}", mark.word().replace(' ', "-")),
        None => "legend-session".into(),
    };
    svg.open("g", &[("class", class)]);
    if let Some(title) = title {
        svg.text_el("title", &[], title);
    }
    svg.leaf(
        "rect",
        &[
            ("x", num(x - half)),
            ("y", num(y - half)),
            ("width", num(2.0 * half)),
            ("height", num(2.0 * half)),
            ("fill", fill.into()),
            ("stroke", SESSION_COLOUR.into()),
            ("stroke-width", "1.5".into()),
        ],
    );
    match mark {
        SessionMark::Missed => {
            svg.line(
                (x - half, y - half),
                (x + half, y + half),
                &stroke(SESSION_COLOUR, 1.5),
            );
            svg.line(
                (x - half, y + half),
                (x + half, y - half),
                &stroke(SESSION_COLOUR, 1.5),
            );
        }
        SessionMark::Excused => {
            svg.line((x - half, y), (x + half, y), &stroke(SESSION_COLOUR, 1.5));
        }
        SessionMark::Attended | SessionMark::Open => {}
    }
    svg.close();
}

/// An upward triangle centred on `(x, y)`.
fn triangle(x: f64, y: f64, size: f64) -> String {
    points(&[
        (x, y - size),
        (x + size, y + size * 0.8),
        (x - size, y + size * 0.8),
    ])
}

fn legend(svg: &mut Svg) {
    svg.open(
        "g",
        &[("class", "legend".into()), ("font-size", "11".into())],
    );
    let y = 16.0;
    let mut x = LEFT;
    // Daily mean: dot.
    svg.leaf(
        "circle",
        &[
            ("cx", num(x + 4.0)),
            ("cy", num(y - 4.0)),
            ("r", "3.5".into()),
            ("fill", MEAN_COLOUR.into()),
        ],
    );
    svg.label((x + 12.0, y), "start", &[], "daily mean");
    x += 88.0;
    // Daily max: whisker with cap.
    svg.line((x + 4.0, y - 10.0), (x + 4.0, y), &stroke(MAX_COLOUR, 1.0));
    svg.line((x, y - 10.0), (x + 8.0, y - 10.0), &stroke(MAX_COLOUR, 1.5));
    svg.label((x + 12.0, y), "start", &[], "daily max");
    x += 82.0;
    // Rolling mean: thick line.
    svg.line(
        (x, y - 4.0),
        (x + 18.0, y - 4.0),
        &stroke(ROLLING_COLOUR, 3.0),
    );
    svg.label((x + 22.0, y), "start", &[], "7-day mean");
    x += 94.0;
    // Lapse: triangle.
    svg.leaf(
        "polygon",
        &[
            ("points", triangle(x + 5.0, y - 5.0, 5.0)),
            ("fill", LAPSE_COLOUR.into()),
        ],
    );
    svg.label((x + 14.0, y), "start", &[], "lapse");
    x += 56.0;
    for (mark, name, width) in [
        (SessionMark::Attended, "session attended", 116.0),
        (SessionMark::Missed, "missed", 60.0),
        (SessionMark::Excused, "excused", 64.0),
        (SessionMark::Open, "not marked", 0.0),
    ] {
        session_marker(svg, (x + 5.0, y - 4.0), mark, None);
        svg.label((x + 14.0, y), "start", &[], name);
        x += width;
    }
    svg.close();
}

/// Draws the chart. `data-points` counts the daily points drawn, `data-lapses` the lapses and
/// `data-sessions` the sessions, so a browser test can check them without parsing geometry.
pub fn craving_chart(chart: &CravingChart<'_>) -> String {
    let (from, to) = (chart.from, chart.to.max(chart.from));
    let mut days: Vec<&DayPoint> = chart
        .days
        .iter()
        .filter(|d| d.day >= from && d.day <= to && d.mean.is_finite() && d.max.is_finite())
        .collect();
    days.sort_by_key(|d| d.day);
    let mut lapse_days: Vec<i64> = chart
        .lapses
        .iter()
        .copied()
        .filter(|d| *d >= from && *d <= to)
        .collect();
    lapse_days.sort_unstable();
    let sessions: Vec<&SessionPoint> = chart
        .sessions
        .iter()
        .filter(|s| s.day >= from && s.day <= to)
        .collect();

    let x = Linear::new((from as f64 - 0.5, to as f64 + 0.5), (LEFT, RIGHT));
    let y = Linear::new((0.0, MAX_SCALE), (BOTTOM, TOP));
    let desc = format!(
        "Craving intensity from {} to {}: {} days with check-ins, {} lapses, {} sessions.",
        short_date(from),
        short_date(to),
        days.len(),
        lapse_days.len(),
        sessions.len()
    );
    let mut svg = Svg::new(
        chart.id,
        (WIDTH, HEIGHT),
        "Craving intensity per day",
        &desc,
        &[
            ("points", days.len().to_string()),
            ("lapses", lapse_days.len().to_string()),
            ("sessions", sessions.len().to_string()),
            ("from", crate::calendar::format_day(from)),
            ("to", crate::calendar::format_day(to)),
        ],
    );
    legend(&mut svg);

    // Axes and grid.
    svg.open("g", &[("class", "axis y-axis".into())]);
    for tick in [0.0, 2.0, 4.0, 6.0, 8.0, 10.0] {
        let ty = y.at(tick);
        svg.line((LEFT, ty), (RIGHT, ty), &[("stroke", "#e5e7eb".into())]);
        svg.label((LEFT - 6.0, ty + 4.0), "end", &[], &num(tick));
    }
    svg.label(
        (14.0, (TOP + BOTTOM) / 2.0),
        "middle",
        &[(
            "transform",
            format!("rotate(-90 14 {})", num((TOP + BOTTOM) / 2.0)),
        )],
        "Craving (0–10)",
    );
    svg.close();
    svg.open("g", &[("class", "axis x-axis".into())]);
    svg.line((LEFT, BOTTOM), (RIGHT, BOTTOM), &stroke("#374151", 1.0));
    svg.line((LEFT, TOP), (LEFT, BOTTOM), &stroke("#374151", 1.0));
    for tick in date_ticks(from, to) {
        let tx = x.at(tick as f64);
        svg.line(
            (tx, LANE + 10.0),
            (tx, LANE + 14.0),
            &stroke("#374151", 1.0),
        );
        svg.label((tx, LANE + 27.0), "middle", &[], &short_date(tick));
    }
    svg.label(
        ((LEFT + RIGHT) / 2.0, HEIGHT - 10.0),
        "middle",
        &[],
        "Date (patient's local day)",
    );
    svg.label(
        (LEFT - 6.0, LANE + 4.0),
        "end",
        &[("font-size", "10".into())],
        "sessions",
    );
    svg.close();

    if days.is_empty() {
        svg.label(
            ((LEFT + RIGHT) / 2.0, (TOP + BOTTOM) / 2.0),
            "middle",
            &[("class", "empty".into())],
            "No check-ins with a craving in this range",
        );
    }

    // Lapses: a dotted line through the plot and a triangle at its top.
    svg.open("g", &[("class", "lapses".into())]);
    let mut i = 0;
    while i < lapse_days.len() {
        let day = lapse_days[i];
        let n = lapse_days[i..].iter().take_while(|d| **d == day).count();
        i += n;
        let lx = x.at(day as f64);
        svg.open(
            "g",
            &[("class", "lapse".into()), ("data-count", n.to_string())],
        );
        let what = if n == 1 {
            "lapse".to_string()
        } else {
            format!("{n} lapses")
        };
        svg.text_el("title", &[], &format!("{}: {what}", short_date(day)));
        svg.line(
            (lx, TOP),
            (lx, BOTTOM),
            &[
                ("stroke", LAPSE_COLOUR.into()),
                ("stroke-dasharray", "2 3".into()),
            ],
        );
        svg.leaf(
            "polygon",
            &[
                ("points", triangle(lx, TOP - 2.0, 6.0)),
                ("fill", LAPSE_COLOUR.into()),
            ],
        );
        if n > 1 {
            svg.label(
                (lx + 8.0, TOP + 2.0),
                "start",
                &[("font-size", "10".into())],
                &format!("×{n}"),
            );
        }
        svg.close();
    }
    svg.close();

    // Sessions lane.
    svg.open("g", &[("class", "sessions".into())]);
    let mut previous: Option<(i64, f64)> = None;
    for s in &sessions {
        // Two sessions on one day sit side by side.
        let shift = match previous {
            Some((day, shift)) if day == s.day => shift + 12.0,
            _ => 0.0,
        };
        previous = Some((s.day, shift));
        let title = format!(
            "{}: {} session, {}",
            short_date(s.day),
            s.label,
            s.mark.word()
        );
        session_marker(
            &mut svg,
            (x.at(s.day as f64) + shift, LANE),
            s.mark,
            Some(&title),
        );
    }
    svg.close();

    // Whiskers to the daily max.
    svg.open("g", &[("class", "max".into())]);
    for d in &days {
        let (px, top) = (x.at(d.day as f64), y.at(d.max.clamp(0.0, MAX_SCALE)));
        svg.line(
            (px, y.at(d.mean.clamp(0.0, MAX_SCALE))),
            (px, top),
            &stroke(MAX_COLOUR, 1.0),
        );
        svg.line((px - 3.0, top), (px + 3.0, top), &stroke(MAX_COLOUR, 1.5));
    }
    svg.close();

    // Rolling mean: one thick line.
    if days.len() > 1 {
        let coords: Vec<(f64, f64)> = days
            .iter()
            .filter(|d| d.rolling_mean_7d.is_finite())
            .map(|d| {
                (
                    x.at(d.day as f64),
                    y.at(d.rolling_mean_7d.clamp(0.0, MAX_SCALE)),
                )
            })
            .collect();
        let mut attrs = vec![
            ("class", "rolling".to_string()),
            ("points", points(&coords)),
            ("fill", "none".into()),
        ];
        attrs.extend(stroke(ROLLING_COLOUR, 3.0));
        svg.leaf("polyline", &attrs);
    }

    // Daily means: thin connecting line and one dot per day.
    svg.open("g", &[("class", "means".into())]);
    if days.len() > 1 {
        let coords: Vec<(f64, f64)> = days
            .iter()
            .map(|d| (x.at(d.day as f64), y.at(d.mean.clamp(0.0, MAX_SCALE))))
            .collect();
        let mut attrs = vec![("points", points(&coords)), ("fill", "none".to_string())];
        attrs.extend(stroke(MEAN_COLOUR, 1.0));
        svg.leaf("polyline", &attrs);
    }
    for d in &days {
        svg.open(
            "circle",
            &[
                ("class", "point".into()),
                ("cx", num(x.at(d.day as f64))),
                ("cy", num(y.at(d.mean.clamp(0.0, MAX_SCALE)))),
                ("r", "3.5".into()),
                ("fill", MEAN_COLOUR.into()),
                ("data-date", crate::calendar::format_day(d.day)),
            ],
        );
        let checkins = if d.count == 1 {
            "1 check-in".to_string()
        } else {
            format!("{} check-ins", d.count)
        };
        svg.text_el(
            "title",
            &[],
            &format!(
                "{}: mean {}, max {}, 7-day mean {} ({checkins})",
                short_date(d.day),
                num(d.mean),
                num(d.max),
                num(d.rolling_mean_7d)
            ),
        );
        svg.close();
    }
    svg.close();
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::days_from_civil;
    use crate::dashboard::charts::wellformed::{check, with_class};

    fn day(day: i64, mean: f64) -> DayPoint {
        DayPoint {
            day,
            count: 2,
            mean,
            max: mean + 1.0,
            rolling_mean_7d: mean,
        }
    }

    fn sample() -> (i64, Vec<DayPoint>, Vec<i64>, Vec<SessionPoint>) {
        let from = days_from_civil(2026, 3, 1);
        let days = vec![
            day(from, 4.0),
            day(from + 2, 6.5),
            day(from + 3, 3.0),
            day(from + 40, 2.0),
        ];
        let lapses = vec![from + 2, from + 2, from + 9, from - 3];
        let sessions = vec![
            SessionPoint {
                day: from + 1,
                mark: SessionMark::Attended,
                label: "group".into(),
            },
            SessionPoint {
                day: from + 1,
                mark: SessionMark::Missed,
                label: "individual".into(),
            },
            SessionPoint {
                day: from + 20,
                mark: SessionMark::Open,
                label: "<b>".into(),
            },
        ];
        (from, days, lapses, sessions)
    }

    #[test]
    fn the_craving_chart_draws_one_point_per_day_in_range_and_counts_its_markers() {
        let (from, days, lapses, sessions) = sample();
        let svg = craving_chart(&CravingChart {
            id: "craving",
            from,
            to: from + 27,
            days: &days,
            lapses: &lapses,
            sessions: &sessions,
        });
        let elements = check(&svg);
        let root = &elements[0];
        assert_eq!(root.tag, "svg");
        assert_eq!(root.attr("id"), Some("craving"));
        assert_eq!(
            root.attr("data-points"),
            Some("3"),
            "the day 40 days out is outside"
        );
        assert_eq!(
            root.attr("data-lapses"),
            Some("3"),
            "the lapse before the range is outside"
        );
        assert_eq!(root.attr("data-sessions"), Some("3"));
        assert_eq!(with_class(&svg, "point").len(), 3);
        let lapse_marks = with_class(&svg, "lapse");
        assert_eq!(lapse_marks.len(), 2, "two lapses on one day share a marker");
        assert_eq!(lapse_marks[0].attr("data-count"), Some("2"));
        assert_eq!(with_class(&svg, "session").len(), 3);
        assert_eq!(with_class(&svg, "session-attended").len(), 1);
        assert_eq!(with_class(&svg, "session-missed").len(), 1);
        // Every mark the chart can draw is in the legend.
        assert_eq!(with_class(&svg, "legend-session").len(), 4);
        assert_eq!(with_class(&svg, "rolling").len(), 1);
    }

    #[test]
    fn the_craving_chart_labels_its_axes_with_units_and_escapes_session_labels() {
        let (from, days, lapses, sessions) = sample();
        let svg = craving_chart(&CravingChart {
            id: "craving",
            from,
            to: from + 27,
            days: &days,
            lapses: &lapses,
            sessions: &sessions,
        });
        let texts: Vec<String> = check(&svg)
            .into_iter()
            .filter(|e| e.tag == "text")
            .map(|e| e.text)
            .collect();
        assert!(texts.iter().any(|t| t == "Craving (0–10)"));
        assert!(texts.iter().any(|t| t == "Date (patient's local day)"));
        assert!(
            texts.iter().any(|t| t == "2 Mar"),
            "a Monday tick: {texts:?}"
        );
        assert!(texts.iter().any(|t| t == "10"));
        assert!(svg.contains("&lt;b&gt; session"));
        assert!(!svg.contains("<b>"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn an_empty_range_still_draws_axes_and_says_there_is_nothing() {
        let svg = craving_chart(&CravingChart {
            id: "c",
            from: 100,
            to: 90,
            days: &[DayPoint {
                day: 100,
                count: 1,
                mean: f64::NAN,
                max: 1.0,
                rolling_mean_7d: 1.0,
            }],
            lapses: &[],
            sessions: &[],
        });
        let elements = check(&svg);
        assert_eq!(elements[0].attr("data-points"), Some("0"));
        assert_eq!(with_class(&svg, "empty").len(), 1);
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn attendance_values_map_to_marker_shapes() {
        assert_eq!(
            SessionMark::from_attendance(Some("late")),
            SessionMark::Attended
        );
        assert_eq!(
            SessionMark::from_attendance(Some("left_early")),
            SessionMark::Attended
        );
        assert_eq!(
            SessionMark::from_attendance(Some("absent")),
            SessionMark::Missed
        );
        assert_eq!(
            SessionMark::from_attendance(Some("excused")),
            SessionMark::Excused
        );
        assert_eq!(SessionMark::from_attendance(None), SessionMark::Open);
    }
}
