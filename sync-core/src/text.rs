//! Which characters text may hold: the one rule for every string that reaches a database, on
//! the phone (before an op is queued) and on the server (before anything is stored).
//!
//! Free text (a note, a title) may hold any Unicode scalar value except the control characters
//! (Unicode general category `Cc`: U+0000–U+001F and U+007F–U+009F) other than tab, line feed
//! and carriage return. A one-line text (a name, an email, a purpose) holds no control character
//! at all. Control characters are refused, not cleaned: NUL cannot be stored in a PostgreSQL
//! text at all, the others are invisible to the person reading the text (terminal escapes, bell,
//! backspace), and silently changing what a patient wrote is worse than saying why it was not
//! taken. Lone UTF-16 surrogates (`"\ud800"` in JSON) are not Unicode scalar values and never
//! become a Rust `str`: the JSON decoder refuses them first.

/// May free text hold `c`? Everything but the `Cc` controls, tab, line feed and carriage
/// return excepted.
pub fn allowed_in_text(c: char) -> bool {
    !c.is_control() || matches!(c, '\t' | '\n' | '\r')
}

/// May a one-line text (a name, an email, a purpose) hold `c`? Everything but the `Cc`
/// controls.
pub fn allowed_in_line(c: char) -> bool {
    !c.is_control()
}

/// Does `s` hold only characters free text may hold (see [`allowed_in_text`])?
pub fn is_free_text(s: &str) -> bool {
    // Most text holds no byte below 0x20, no DEL and no 0xC2 (the lead byte of U+0080–U+00BF,
    // the C1 controls among them): one pass over the bytes, which the compiler vectorises,
    // settles it. Only text with such a byte (a line break, a tab, an accented Latin-1
    // character) is judged character by character.
    let plain = s
        .bytes()
        .fold(true, |ok, b| ok & (b >= 0x20) & (b != 0x7f) & (b != 0xc2));
    plain || s.chars().all(allowed_in_text)
}

/// Does `s` hold no control character at all (see [`allowed_in_line`])?
pub fn is_one_line(s: &str) -> bool {
    s.chars().all(allowed_in_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_line_feed_and_carriage_return_are_the_only_controls_free_text_holds() {
        assert!(is_free_text("first line\nsecond\tcolumn\r\n"));
        assert!(is_free_text(
            "émoji 🙂, ünïcödé, \u{200b} and \u{feff} are text"
        ));
        assert!(is_free_text(""));
        // Characters whose UTF-8 starts with 0xC2 but that are not controls.
        assert!(is_free_text(
            "\u{a0}non-breaking, \u{a9} copyright, \u{bf}qué?"
        ));
        for bad in [
            "a\u{0}b",
            "\u{7}",
            "\u{1b}[31m",
            "\u{7f}",
            "\u{85}",
            "\u{9f}",
            "x\u{8}",
        ] {
            assert!(!is_free_text(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_one_line_text_holds_no_control_at_all() {
        assert!(is_one_line("Dana Ortiz-Núñez"));
        for bad in ["a\tb", "a\nb", "a\rb", "a\u{0}b", "\u{85}"] {
            assert!(!is_one_line(bad), "{bad:?}");
        }
    }
}
