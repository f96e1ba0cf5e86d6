//! The few pieces every chart shares: XML escaping, compact number formatting and a writer that
//! makes it hard to emit a malformed element.
//!
//! Charts are built as strings rather than through a plotting crate because they are small, must
//! be accessible (titles, descriptions, shapes as well as colours) and must never carry an
//! unescaped byte of text that came from a patient's phone: one writer that escapes every
//! attribute value and every text node is easier to audit than a library's many entry points.

use std::fmt::Write as _;

/// Escapes text for use in XML text nodes and double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newlines are not allowed in XML 1.0 at all.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate or value with at most one decimal and no trailing `.0`; non-finite numbers
/// (which no chart should ever be handed) become `0` so the document stays valid.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let rounded = (v * 10.0).round() / 10.0;
    let text = format!("{rounded:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    if text == "-0" {
        "0".into()
    } else {
        text.to_string()
    }
}

/// Writes one SVG document. Attribute values and text are escaped here, never by callers.
#[derive(Debug)]
pub struct Svg {
    out: String,
    open: Vec<&'static str>,
}

impl Svg {
    /// Starts a document `width` × `height` units large that scales to its container. `id` and
    /// `title` identify the chart to tests and to screen readers; `desc` says in words what it
    /// shows. `data` adds `data-*` attributes (name without the prefix) that tests count.
    pub fn new(
        id: &str,
        (width, height): (f64, f64),
        title: &str,
        desc: &str,
        data: &[(&str, String)],
    ) -> Self {
        let mut svg = Self {
            out: String::with_capacity(4096),
            open: Vec::new(),
        };
        let title_id = format!("{id}-title");
        let desc_id = format!("{id}-desc");
        let mut attrs: Vec<(&str, String)> = vec![
            ("xmlns", "http://www.w3.org/2000/svg".into()),
            ("id", id.into()),
            ("class", "chart".into()),
            ("viewBox", format!("0 0 {} {}", num(width), num(height))),
            ("role", "img".into()),
            ("aria-labelledby", format!("{title_id} {desc_id}")),
            ("font-family", "system-ui, sans-serif".into()),
            ("font-size", "12".into()),
        ];
        let data_names: Vec<String> = data.iter().map(|(k, _)| format!("data-{k}")).collect();
        for ((_, v), name) in data.iter().zip(&data_names) {
            attrs.push((name.as_str(), v.clone()));
        }
        svg.open("svg", &attrs);
        svg.text_el("title", &[("id", title_id)], title);
        svg.text_el("desc", &[("id", desc_id)], desc);
        svg
    }

    fn attrs(&mut self, attrs: &[(&str, String)]) {
        for (k, v) in attrs {
            // Writing to a String cannot fail.
            let _ = write!(self.out, " {k}=\"{}\"", escape(v));
        }
    }

    /// Opens an element that [`Svg::close`] ends.
    pub fn open(&mut self, tag: &'static str, attrs: &[(&str, String)]) {
        self.out.push('<');
        self.out.push_str(tag);
        self.attrs(attrs);
        self.out.push('>');
        self.open.push(tag);
    }

    /// Closes the innermost open element.
    pub fn close(&mut self) {
        if let Some(tag) = self.open.pop() {
            let _ = write!(self.out, "</{tag}>");
        }
    }

    /// An empty element.
    pub fn leaf(&mut self, tag: &str, attrs: &[(&str, String)]) {
        self.out.push('<');
        self.out.push_str(tag);
        self.attrs(attrs);
        self.out.push_str("/>");
    }

    /// An element holding only text.
    pub fn text_el(&mut self, tag: &str, attrs: &[(&str, String)], text: &str) {
        self.out.push('<');
        self.out.push_str(tag);
        self.attrs(attrs);
        let _ = write!(self.out, ">{}</{tag}>", escape(text));
    }

    /// A `<text>` at `(x, y)` with the given anchor (`start`, `middle`, `end`) and extra
    /// attributes.
    pub fn label(
        &mut self,
        (x, y): (f64, f64),
        anchor: &str,
        extra: &[(&str, String)],
        text: &str,
    ) {
        let mut attrs: Vec<(&str, String)> =
            vec![("x", num(x)), ("y", num(y)), ("text-anchor", anchor.into())];
        attrs.extend(extra.iter().cloned());
        self.text_el("text", &attrs, text);
    }

    /// A straight line.
    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), extra: &[(&str, String)]) {
        let mut attrs: Vec<(&str, String)> = vec![
            ("x1", num(x1)),
            ("y1", num(y1)),
            ("x2", num(x2)),
            ("y2", num(y2)),
        ];
        attrs.extend(extra.iter().cloned());
        self.leaf("line", &attrs);
    }

    /// Defines (in `<defs>`) a diagonal hatch pattern named `id`: `stroke` lines on
    /// `background`, so a hatched shape reads as different without relying on colour.
    pub fn hatch_pattern(&mut self, id: &str, background: &str, stroke: &str, stroke_width: f64) {
        self.open("defs", &[]);
        self.open(
            "pattern",
            &[
                ("id", id.to_string()),
                ("width", "6".into()),
                ("height", "6".into()),
                ("patternUnits", "userSpaceOnUse".into()),
                ("patternTransform", "rotate(45)".into()),
            ],
        );
        self.leaf(
            "rect",
            &[
                ("width", "6".into()),
                ("height", "6".into()),
                ("fill", background.to_string()),
            ],
        );
        self.line(
            (0.0, 0.0),
            (0.0, 6.0),
            &[
                ("stroke", stroke.to_string()),
                ("stroke-width", num(stroke_width)),
            ],
        );
        self.close();
        self.close();
    }

    /// Closes every open element and returns the document.
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

/// `points="x,y x,y …"` of a polyline.
pub fn points(coords: &[(f64, f64)]) -> String {
    coords
        .iter()
        .map(|(x, y)| format!("{},{}", num(*x), num(*y)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_every_character_xml_reserves() {
        assert_eq!(
            escape(r#"<b onload="x">Tom & 'Jerry'</b>"#),
            "&lt;b onload=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/b&gt;"
        );
        assert_eq!(escape("bell\u{7}"), "bell\u{FFFD}");
        assert_eq!(escape("tab\tok"), "tab\tok");
    }

    #[test]
    fn numbers_are_short_and_never_nan() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(6.4321), "6.4");
        assert_eq!(num(-0.01), "0");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(f64::INFINITY), "0");
        assert_eq!(num(-2.25), "-2.3");
    }

    #[test]
    fn the_writer_escapes_attributes_and_text_and_closes_what_it_opened() {
        let mut svg = Svg::new(
            "c\"1",
            (100.0, 50.0),
            "A <title>",
            "desc & more",
            &[("points", "3".into())],
        );
        svg.open("g", &[("class", "x'y".into())]);
        svg.label((1.0, 2.0), "start", &[], "a<b");
        let doc = svg.finish();
        assert!(doc.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"c&quot;1\""));
        assert!(doc.contains("data-points=\"3\""));
        assert!(doc.contains("<title id=\"c&quot;1-title\">A &lt;title&gt;</title>"));
        assert!(doc.contains("class=\"x&#39;y\""));
        assert!(doc.contains(">a&lt;b</text>"));
        assert!(doc.ends_with("</g></svg>"));
        crate::dashboard::charts::wellformed::check(&doc);
    }
}
