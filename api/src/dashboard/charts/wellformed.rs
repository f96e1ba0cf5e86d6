//! A small XML well-formedness checker for the chart tests: one root element, tags that nest
//! and match, quoted and unique attributes, only the five predefined entities (or numeric
//! references), no stray `<` or `&`. It returns every element with its attributes so tests can
//! count points and markers in the document a browser would parse. Test-only: the charts never
//! parse XML at run time, so no XML crate is linked into the server for this.

/// One element of the document, in document order.
#[derive(Debug, Clone)]
pub struct Element {
    /// Tag name.
    pub tag: String,
    /// Attributes, unescaped.
    pub attrs: Vec<(String, String)>,
    /// Concatenated text directly inside the element, unescaped.
    pub text: String,
}

impl Element {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the `class` attribute holds `class`.
    pub fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_whitespace().any(|c| c == class))
    }
}

fn unescape(text: &str, doc: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let Some(end) = rest[i..].find(';') else {
            panic!("unterminated entity in {text:?} of {doc}");
        };
        let name = &rest[i + 1..i + end];
        let c = match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            n if n.starts_with("#x") => u32::from_str_radix(&n[2..], 16)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or_else(|| panic!("bad reference &{n}; in {doc}")),
            n if n.starts_with('#') => n[1..]
                .parse::<u32>()
                .ok()
                .and_then(char::from_u32)
                .unwrap_or_else(|| panic!("bad reference &{n}; in {doc}")),
            n => panic!("unknown entity &{n}; in {doc}"),
        };
        out.push(c);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    out
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')
}

fn parse_attrs(mut s: &str, doc: &str) -> Vec<(String, String)> {
    let mut attrs: Vec<(String, String)> = Vec::new();
    loop {
        let trimmed = s.trim_start();
        if trimmed.is_empty() {
            return attrs;
        }
        assert!(
            trimmed.len() < s.len(),
            "attributes must be separated by whitespace near {s:?} in {doc}"
        );
        let Some(eq) = trimmed.find('=') else {
            panic!("attribute without a value near {trimmed:?} in {doc}");
        };
        let name = &trimmed[..eq];
        assert!(
            !name.is_empty() && name.chars().all(is_name_char),
            "bad attribute name {name:?} in {doc}"
        );
        let after = &trimmed[eq + 1..];
        let quote = after
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
            .unwrap_or_else(|| panic!("unquoted attribute {name} in {doc}"));
        let Some(close) = after[1..].find(quote) else {
            panic!("unterminated attribute {name} in {doc}");
        };
        let raw = &after[1..1 + close];
        assert!(!raw.contains('<'), "raw < in attribute {name} of {doc}");
        assert!(
            !attrs.iter().any(|(k, _)| k == name),
            "duplicate attribute {name} in {doc}"
        );
        attrs.push((name.to_string(), unescape(raw, doc)));
        s = &after[close + 2..];
    }
}

/// Parses `doc`, panicking with the reason if it is not well-formed XML; returns its elements.
pub fn check(doc: &str) -> Vec<Element> {
    let mut elements: Vec<Element> = Vec::new();
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut roots = 0;
    let mut rest = doc;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            assert!(
                rest.trim().is_empty() && stack.is_empty(),
                "text outside the root: {rest:?}"
            );
            break;
        };
        let text = &rest[..lt];
        if stack.is_empty() {
            assert!(text.trim().is_empty(), "text outside the root: {text:?}");
        } else if let Some((_, index)) = stack.last() {
            let unescaped = unescape(text, doc);
            elements[*index].text.push_str(&unescaped);
        }
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            let Some(end) = after.find("-->") else {
                panic!("unterminated comment in {doc}");
            };
            rest = &after[end + 3..];
            continue;
        }
        let Some(gt) = rest.find('>') else {
            panic!("unterminated tag in {doc}");
        };
        let inner = &rest[1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = inner.strip_prefix('/') {
            let Some((open, _)) = stack.pop() else {
                panic!("closing </{name}> with nothing open in {doc}");
            };
            assert_eq!(open, name.trim(), "mismatched tags in {doc}");
            continue;
        }
        let (inner, empty) = match inner.strip_suffix('/') {
            Some(i) => (i, true),
            None => (inner, false),
        };
        let name_end = inner.find(char::is_whitespace).unwrap_or(inner.len());
        let tag = &inner[..name_end];
        assert!(
            !tag.is_empty() && tag.chars().all(is_name_char),
            "bad tag name {tag:?} in {doc}"
        );
        if stack.is_empty() {
            roots += 1;
            assert_eq!(roots, 1, "more than one root element in {doc}");
        }
        elements.push(Element {
            tag: tag.to_string(),
            attrs: parse_attrs(&inner[name_end..], doc),
            text: String::new(),
        });
        if !empty {
            stack.push((tag.to_string(), elements.len() - 1));
        }
    }
    assert!(stack.is_empty(), "unclosed elements {stack:?} in {doc}");
    assert_eq!(roots, 1, "no root element in {doc:?}");
    elements
}

/// The elements of `doc` that carry `class`.
pub fn with_class(doc: &str, class: &str) -> Vec<Element> {
    check(doc)
        .into_iter()
        .filter(|e| e.has_class(class))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checker_accepts_a_well_formed_document() {
        let els = check("<svg a=\"1\"><g class=\"x y\"><text>a &amp; b</text></g><rect/></svg>");
        assert_eq!(els.len(), 4);
        assert_eq!(els[2].text, "a & b");
        assert!(els[1].has_class("y"));
    }

    #[test]
    #[should_panic(expected = "mismatched")]
    fn the_checker_rejects_crossed_tags() {
        check("<svg><g><text></g></text></svg>");
    }

    #[test]
    #[should_panic(expected = "entity")]
    fn the_checker_rejects_a_raw_ampersand() {
        check("<svg><text>a & b</text></svg>");
    }

    #[test]
    #[should_panic(expected = "raw <")]
    fn the_checker_rejects_a_raw_angle_bracket_in_an_attribute() {
        check("<svg a=\"<\"></svg>");
    }

    #[test]
    #[should_panic(expected = "unclosed")]
    fn the_checker_rejects_an_unclosed_element() {
        check("<svg><g>");
    }
}
