//! The time-of-day × weekday heat map: when in the week cravings run high. Each cell with
//! check-ins prints its mean craving as a number (the shade only repeats it), its tooltip gives
//! the count, and empty cells stay blank, so the picture reads without colour.

use super::svg::{num, Svg};

/// One hour of one weekday with check-ins.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatCell {
    /// 0 = Monday … 6 = Sunday, the patient's local time.
    pub weekday: i64,
    /// Hour 0–23, local.
    pub hour: i64,
    /// Check-ins in this cell.
    pub count: i64,
    /// Their mean craving, 0–10.
    pub mean: f64,
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LEFT: f64 = 44.0;
const TOP: f64 = 40.0;
const CELL_W: f64 = 26.0;
const CELL_H: f64 = 26.0;
const WIDTH: f64 = LEFT + 24.0 * CELL_W + 12.0;
const HEIGHT: f64 = TOP + 7.0 * CELL_H + 52.0;

/// A shade of one hue from pale (craving 0) to dark (craving 10), and the text colour that
/// stays readable on it.
fn shade(mean: f64) -> (String, &'static str) {
    let t = (mean / 10.0).clamp(0.0, 1.0);
    // Lightness from 95 % down to 30 %.
    let lightness = 95.0 - 65.0 * t;
    let text = if lightness < 60.0 {
        "#ffffff"
    } else {
        "#111827"
    };
    (format!("hsl(14, 70%, {}%)", num(lightness)), text)
}

/// Draws the heat map. `data-cells` counts the cells with check-ins.
pub fn heatmap(id: &str, cells: &[HeatCell]) -> String {
    let cells: Vec<&HeatCell> = cells
        .iter()
        .filter(|c| (0..7).contains(&c.weekday) && (0..24).contains(&c.hour) && c.mean.is_finite())
        .collect();
    let busiest = cells
        .iter()
        .max_by(|a, b| a.mean.total_cmp(&b.mean).then(a.count.cmp(&b.count)));
    let desc = match busiest {
        Some(c) => format!(
            "Mean craving by weekday and local hour over {} cells with check-ins; highest on {} at {:02}:00 (mean {}).",
            cells.len(),
            WEEKDAYS.get(usize::try_from(c.weekday).unwrap_or(0)).copied().unwrap_or("?"),
            c.hour,
            num(c.mean)
        ),
        None => "No check-ins with a craving in this range.".to_string(),
    };
    let mut svg = Svg::new(
        id,
        (WIDTH, HEIGHT),
        "Craving by time of day and weekday",
        &desc,
        &[("cells", cells.len().to_string())],
    );

    svg.open("g", &[("class", "axis".into())]);
    svg.label(
        (LEFT + 12.0 * CELL_W, 14.0),
        "middle",
        &[],
        "Hour of day (patient's local time)",
    );
    for hour in (0..24).step_by(3) {
        svg.label(
            (LEFT + (f64::from(hour) + 0.5) * CELL_W, TOP - 8.0),
            "middle",
            &[("font-size", "11".into())],
            &format!("{hour:02}:00"),
        );
    }
    for (row, name) in WEEKDAYS.iter().enumerate() {
        svg.label(
            (LEFT - 8.0, TOP + (row as f64 + 0.5) * CELL_H + 4.0),
            "end",
            &[],
            name,
        );
    }
    svg.close();

    // The empty grid first, then the cells with data on top.
    svg.leaf(
        "rect",
        &[
            ("x", num(LEFT)),
            ("y", num(TOP)),
            ("width", num(24.0 * CELL_W)),
            ("height", num(7.0 * CELL_H)),
            ("fill", "#ffffff".into()),
            ("stroke", "#d1d5db".into()),
        ],
    );
    svg.open(
        "g",
        &[("class", "grid".into()), ("stroke", "#eef0f3".into())],
    );
    for hour in 1..24 {
        let x = LEFT + f64::from(hour) * CELL_W;
        svg.line((x, TOP), (x, TOP + 7.0 * CELL_H), &[]);
    }
    for row in 1..7 {
        let y = TOP + f64::from(row) * CELL_H;
        svg.line((LEFT, y), (LEFT + 24.0 * CELL_W, y), &[]);
    }
    svg.close();

    svg.open(
        "g",
        &[("class", "cells".into()), ("font-size", "10".into())],
    );
    for c in &cells {
        let (x, y) = (
            LEFT + c.hour as f64 * CELL_W,
            TOP + c.weekday as f64 * CELL_H,
        );
        let (fill, text) = shade(c.mean);
        let day = WEEKDAYS
            .get(usize::try_from(c.weekday).unwrap_or(0))
            .copied()
            .unwrap_or("?");
        svg.open(
            "g",
            &[
                ("class", "cell".into()),
                ("data-count", c.count.to_string()),
            ],
        );
        let checkins = if c.count == 1 {
            "1 check-in".to_string()
        } else {
            format!("{} check-ins", c.count)
        };
        svg.text_el(
            "title",
            &[],
            &format!(
                "{day} {:02}:00–{:02}:00: mean craving {}, {checkins}",
                c.hour,
                (c.hour + 1) % 24,
                num(c.mean)
            ),
        );
        svg.leaf(
            "rect",
            &[
                ("x", num(x + 1.0)),
                ("y", num(y + 1.0)),
                ("width", num(CELL_W - 2.0)),
                ("height", num(CELL_H - 2.0)),
                ("fill", fill),
            ],
        );
        svg.label(
            (x + CELL_W / 2.0, y + CELL_H / 2.0 + 3.5),
            "middle",
            &[("fill", text.into())],
            &num(c.mean),
        );
        svg.close();
    }
    svg.close();

    // Legend: the shade scale with its numbers, and what a blank cell means.
    svg.open(
        "g",
        &[("class", "legend".into()), ("font-size", "11".into())],
    );
    let ly = TOP + 7.0 * CELL_H + 20.0;
    svg.label(
        (LEFT, ly + 12.0),
        "start",
        &[],
        "Number in a cell = mean craving (0–10); blank = no check-ins. Shade:",
    );
    let mut x = LEFT + 440.0;
    for v in [0.0, 2.5, 5.0, 7.5, 10.0] {
        let (fill, text) = shade(v);
        svg.leaf(
            "rect",
            &[
                ("x", num(x)),
                ("y", num(ly)),
                ("width", "30".into()),
                ("height", "16".into()),
                ("fill", fill),
                ("stroke", "#d1d5db".into()),
            ],
        );
        svg.label(
            (x + 15.0, ly + 12.0),
            "middle",
            &[("fill", text.into())],
            &num(v),
        );
        x += 32.0;
    }
    svg.close();
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::charts::wellformed::{check, with_class};

    fn cell(weekday: i64, hour: i64, count: i64, mean: f64) -> HeatCell {
        HeatCell {
            weekday,
            hour,
            count,
            mean,
        }
    }

    #[test]
    fn the_heat_map_prints_each_cells_mean_and_labels_weekdays_and_hours() {
        let svg = heatmap(
            "heat",
            &[
                cell(0, 8, 3, 6.333),
                cell(4, 22, 1, 9.0),
                cell(6, 23, 2, 1.0),
                cell(7, 1, 1, 5.0),
                cell(1, 24, 1, 5.0),
            ],
        );
        let elements = check(&svg);
        assert_eq!(
            elements[0].attr("data-cells"),
            Some("3"),
            "out-of-range cells are dropped"
        );
        let cells = with_class(&svg, "cell");
        assert_eq!(cells.len(), 3);
        assert_eq!(cells[0].attr("data-count"), Some("3"));
        let texts: Vec<String> = elements
            .iter()
            .filter(|e| e.tag == "text")
            .map(|e| e.text.clone())
            .collect();
        for expected in [
            "6.3",
            "9",
            "1",
            "Mon",
            "Sun",
            "00:00",
            "21:00",
            "Hour of day (patient's local time)",
        ] {
            assert!(
                texts.iter().any(|t| t == expected),
                "{expected} missing from {texts:?}"
            );
        }
        assert!(elements[1].text.contains("Craving by time of day"));
        assert!(elements[2]
            .text
            .contains("highest on Fri at 22:00 (mean 9)"));
        let titles: Vec<&String> = elements
            .iter()
            .filter(|e| e.tag == "title")
            .map(|e| &e.text)
            .collect();
        assert!(titles
            .iter()
            .any(|t| *t == "Mon 08:00–09:00: mean craving 6.3, 3 check-ins"));
        assert!(titles
            .iter()
            .any(|t| *t == "Sun 23:00–00:00: mean craving 1, 2 check-ins"));
    }

    #[test]
    fn dark_cells_get_light_text() {
        assert_eq!(shade(10.0).1, "#ffffff");
        assert_eq!(shade(0.0).1, "#111827");
    }

    #[test]
    fn an_empty_heat_map_says_so() {
        let svg = heatmap("h", &[]);
        let elements = check(&svg);
        assert_eq!(elements[0].attr("data-cells"), Some("0"));
        assert_eq!(
            elements[2].text,
            "No check-ins with a craving in this range."
        );
    }
}
