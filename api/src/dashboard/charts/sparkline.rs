//! The caseload's small craving sparkline: one value per day, drawn as a line on the 0–10
//! craving scale with a dot on the latest day, in a box small enough for a table cell. Days
//! without a check-in are gaps in the line, not zeros: a quiet day is not a calm day.

use super::svg::{escape, num, points};

const WIDTH: f64 = 84.0;
const HEIGHT: f64 = 22.0;
const PAD: f64 = 3.0;

/// An inline SVG sparkline of daily craving values (oldest first, `None` for a day without a
/// check-in) on the 0–10 scale. Its `aria-label` reads the values out, so the picture is never
/// the only way to learn them; `data-points` counts the days with a value.
pub fn sparkline(values: &[Option<f64>]) -> String {
    let n = values.len();
    let step = if n > 1 {
        (WIDTH - 2.0 * PAD) / (n - 1) as f64
    } else {
        0.0
    };
    let at = |i: usize, v: f64| {
        let x = if n > 1 {
            PAD + step * i as f64
        } else {
            WIDTH / 2.0
        };
        let y = HEIGHT - PAD - v.clamp(0.0, 10.0) / 10.0 * (HEIGHT - 2.0 * PAD);
        (x, y)
    };
    let finite = |v: &Option<f64>| v.filter(|v| v.is_finite());
    let spoken: Vec<String> = values
        .iter()
        .map(|v| finite(v).map_or_else(|| "none".to_string(), num))
        .collect();
    let count = values.iter().filter(|v| finite(v).is_some()).count();
    let label = format!("Daily craving, oldest first: {}", spoken.join(", "));
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"sparkline\" viewBox=\"0 0 {} {}\" \
         width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"{}\" data-points=\"{count}\">",
        num(WIDTH),
        num(HEIGHT),
        num(WIDTH),
        num(HEIGHT),
        escape(&label),
    );
    out.push_str(&format!(
        "<line x1=\"{p}\" y1=\"{b}\" x2=\"{w}\" y2=\"{b}\" stroke=\"#d1d5db\"/>",
        p = num(PAD),
        w = num(WIDTH - PAD),
        b = num(HEIGHT - PAD)
    ));
    // Consecutive days with values form one segment; a missing day breaks the line.
    let mut segment: Vec<(f64, f64)> = Vec::new();
    let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match finite(v) {
            Some(v) => segment.push(at(i, v)),
            None if !segment.is_empty() => segments.push(std::mem::take(&mut segment)),
            None => {}
        }
    }
    if !segment.is_empty() {
        segments.push(segment);
    }
    for s in &segments {
        if s.len() > 1 {
            out.push_str(&format!(
                "<polyline points=\"{}\" fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"1.5\"/>",
                points(s)
            ));
        } else if let Some((x, y)) = s.first() {
            out.push_str(&format!(
                "<circle cx=\"{}\" cy=\"{}\" r=\"1.5\" fill=\"#1f5fa8\"/>",
                num(*x),
                num(*y)
            ));
        }
    }
    if let Some((i, v)) = values
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, v)| finite(v).map(|v| (i, v)))
    {
        let (x, y) = at(i, v);
        out.push_str(&format!(
            "<circle class=\"latest\" cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"#1f5fa8\"/>",
            num(x),
            num(y)
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::charts::wellformed::check;

    #[test]
    fn a_sparkline_breaks_at_days_without_a_check_in_and_reads_its_values_out() {
        let svg = sparkline(&[
            Some(3.0),
            Some(4.5),
            None,
            Some(7.0),
            Some(6.0),
            None,
            Some(2.0),
        ]);
        let elements = check(&svg);
        assert_eq!(elements[0].attr("data-points"), Some("5"));
        assert_eq!(
            elements[0].attr("aria-label"),
            Some("Daily craving, oldest first: 3, 4.5, none, 7, 6, none, 2")
        );
        assert_eq!(elements.iter().filter(|e| e.tag == "polyline").count(), 2);
        assert_eq!(elements.iter().filter(|e| e.has_class("latest")).count(), 1);
    }

    #[test]
    fn a_sparkline_of_nothing_or_one_value_is_still_a_valid_picture() {
        let empty = sparkline(&[]);
        assert_eq!(check(&empty)[0].attr("data-points"), Some("0"));
        let one = sparkline(&[None, Some(f64::NAN), Some(12.0)]);
        let elements = check(&one);
        assert_eq!(elements[0].attr("data-points"), Some("1"));
        assert!(!one.contains("NaN"));
        // Out-of-scale values are clamped into the box.
        let latest = elements
            .iter()
            .find(|e| e.has_class("latest"))
            .map(|e| e.attr("cy"));
        assert_eq!(latest, Some(Some("3")));
    }
}
