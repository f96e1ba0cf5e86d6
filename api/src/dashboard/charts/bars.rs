//! Horizontal bars for rankings: triggers by how often they come up, coping skills by how much
//! they lower a craving. Each bar prints its value and a note (e.g. how many times) at its end,
//! so the ranking reads as a table would; negative values (a skill after which cravings rose)
//! grow left of the zero line and are drawn hatched as well as in another colour.

use super::scale::{nice_step, Linear};
use super::svg::{num, Svg};

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// What the bar is (a trigger or skill tag); escaped when written, shortened if long.
    pub label: String,
    /// Its length.
    pub value: f64,
    /// Printed after the value, e.g. `12 check-ins`.
    pub note: String,
}

/// A ranking, drawn in the order given.
#[derive(Debug, Clone)]
pub struct BarChart<'a> {
    /// Element id.
    pub id: &'a str,
    /// Chart title (read by screen readers; the page shows its own heading).
    pub title: &'a str,
    /// The value axis label with its unit, e.g. `Mean craving drop (points, 0–10 scale)`.
    pub axis: &'a str,
    /// The bars, best first.
    pub bars: &'a [Bar],
}

const WIDTH: f64 = 620.0;
const LABEL_W: f64 = 150.0;
const LEFT: f64 = LABEL_W + 10.0;
const RIGHT: f64 = WIDTH - 140.0;
const TOP: f64 = 12.0;
const ROW: f64 = 24.0;
const MAX_LABEL_CHARS: usize = 22;

fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_string();
    }
    let mut short: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    short.push('…');
    short
}

/// Draws the ranking. `data-bars` counts the bars.
pub fn bar_chart(chart: &BarChart<'_>) -> String {
    let bars: Vec<&Bar> = chart.bars.iter().filter(|b| b.value.is_finite()).collect();
    let lo = bars.iter().map(|b| b.value).fold(0.0_f64, f64::min);
    let hi = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let step = nice_step((hi - lo).max(1.0), 5);
    let (lo, hi) = ((lo / step).floor() * step, (hi / step).ceil() * step);
    let hi = if hi == lo { lo + step } else { hi };
    let x = Linear::new((lo, hi), (LEFT, RIGHT));
    let rows = bars.len().max(1) as f64;
    let bottom = TOP + rows * ROW;
    let height = bottom + 44.0;
    let desc = if bars.is_empty() {
        "Nothing to rank in this range.".to_string()
    } else {
        bars.iter()
            .map(|b| format!("{}: {} ({})", b.label, num(b.value), b.note))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut svg = Svg::new(
        chart.id,
        (WIDTH, height),
        chart.title,
        &desc,
        &[("bars", bars.len().to_string())],
    );
    let hatch = format!("{}-hatch", chart.id);
    svg.hatch_pattern(&hatch, "#fde2d8", "#b45309", 3.0);

    // Value axis.
    svg.open("g", &[("class", "axis".into())]);
    let mut tick = lo;
    while tick <= hi + step / 2.0 {
        let tx = x.at(tick);
        svg.line(
            (tx, TOP),
            (tx, bottom),
            &[(
                "stroke",
                if tick == 0.0 { "#374151" } else { "#e5e7eb" }.into(),
            )],
        );
        svg.label((tx, bottom + 16.0), "middle", &[], &num(tick));
        tick += step;
    }
    svg.label(
        ((LEFT + RIGHT) / 2.0, bottom + 36.0),
        "middle",
        &[],
        chart.axis,
    );
    svg.close();

    if bars.is_empty() {
        svg.label(
            (LEFT, TOP + ROW / 2.0 + 4.0),
            "start",
            &[("class", "empty".into())],
            "Nothing to rank in this range",
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + i as f64 * ROW;
        let (x0, x1) = (x.at(0.0), x.at(b.value));
        let negative = b.value < 0.0;
        svg.open(
            "g",
            &[(
                "class",
                if negative { "bar negative" } else { "bar" }.into(),
            )],
        );
        svg.text_el(
            "title",
            &[],
            &format!("{}: {} ({})", b.label, num(b.value), b.note),
        );
        svg.label(
            (LABEL_W, y + ROW / 2.0 + 4.0),
            "end",
            &[],
            &shorten(&b.label),
        );
        svg.leaf(
            "rect",
            &[
                ("x", num(x0.min(x1))),
                ("y", num(y + 4.0)),
                ("width", num((x1 - x0).abs().max(1.0))),
                ("height", num(ROW - 8.0)),
                (
                    "fill",
                    if negative {
                        format!("url(#{hatch})")
                    } else {
                        "#1f5fa8".into()
                    },
                ),
                (
                    "stroke",
                    if negative { "#b45309" } else { "#1f5fa8" }.into(),
                ),
            ],
        );
        let sign = if b.value > 0.0 && lo < 0.0 { "+" } else { "" };
        svg.label(
            (x0.max(x1) + 6.0, y + ROW / 2.0 + 4.0),
            "start",
            &[],
            &format!("{sign}{} · {}", num(b.value), b.note),
        );
        svg.close();
    }
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::charts::wellformed::{check, with_class};

    fn bar(label: &str, value: f64, note: &str) -> Bar {
        Bar {
            label: label.into(),
            value,
            note: note.into(),
        }
    }

    #[test]
    fn a_ranking_draws_every_bar_in_order_with_its_value_and_note() {
        let bars = [
            bar("stress", 12.0, "12 check-ins"),
            bar("boredom", 7.0, "7 check-ins"),
            bar("payday", 1.0, "1 check-in"),
        ];
        let svg = bar_chart(&BarChart {
            id: "triggers",
            title: "Triggers",
            axis: "Check-ins naming it",
            bars: &bars,
        });
        let elements = check(&svg);
        assert_eq!(elements[0].attr("data-bars"), Some("3"));
        let drawn = with_class(&svg, "bar");
        assert_eq!(drawn.len(), 3);
        let texts: Vec<String> = elements
            .iter()
            .filter(|e| e.tag == "text")
            .map(|e| e.text.clone())
            .collect();
        let stress = texts.iter().position(|t| t == "stress");
        let boredom = texts.iter().position(|t| t == "boredom");
        assert!(stress < boredom, "{texts:?}");
        assert!(texts.iter().any(|t| t == "12 · 12 check-ins"));
        assert!(texts.iter().any(|t| t == "Check-ins naming it"));
        assert!(texts.iter().any(|t| t == "0"));
    }

    #[test]
    fn negative_values_are_hatched_and_signed() {
        let bars = [
            bar("urge surfing", 2.5, "4 times"),
            bar("doomscrolling", -1.0, "2 times"),
        ];
        let svg = bar_chart(&BarChart {
            id: "skills",
            title: "Skills",
            axis: "Mean craving drop (points)",
            bars: &bars,
        });
        let negative = with_class(&svg, "negative");
        assert_eq!(negative.len(), 1);
        assert!(svg.contains("url(#skills-hatch)"));
        assert!(svg.contains(">+2.5 · 4 times<"));
        assert!(svg.contains(">-1 · 2 times<"));
    }

    #[test]
    fn labels_are_escaped_and_long_ones_shortened() {
        let long = "a very long trigger name that goes on & on";
        let bars = [
            bar("<script>", 1.0, "1 check-in"),
            bar(long, 2.0, "2 check-ins"),
        ];
        let svg = bar_chart(&BarChart {
            id: "t",
            title: "T",
            axis: "n",
            bars: &bars,
        });
        check(&svg);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains(">a very long trigger n…<"));
        assert!(
            svg.contains("on &amp; on"),
            "the full label stays in the tooltip"
        );
    }

    #[test]
    fn an_empty_ranking_says_so() {
        let svg = bar_chart(&BarChart {
            id: "t",
            title: "T",
            axis: "n",
            bars: &[],
        });
        assert_eq!(check(&svg)[0].attr("data-bars"), Some("0"));
        assert_eq!(with_class(&svg, "empty").len(), 1);
    }
}
