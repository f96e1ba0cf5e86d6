//! Document schemas as data: the static tables a phone and the server both validate against.
//! Each kind's table is generated from its declaration in [`crate::kinds`]; this module holds
//! the field types, the catalogs kinds share, and validation.
//!
//! Every field has a type and a range ([`FieldType`]). Representations:
//! - times are integer milliseconds since the Unix epoch, UTC ([`FieldType::TimestampMs`]), with
//!   the patient's UTC offset in minutes beside them (`tz_offset_min`) so the server can
//!   precompute the patient's local day and hour at write time;
//! - durations are whole minutes (`duration_min`);
//! - scales (intensity, craving, mood, helpfulness) are small integers;
//! - sets are LWW element sets: one boolean register per element, named `field/<element>`;
//! - any scalar field may be set to `null`, which clears it. `_deleted` is a boolean in every kind.
//!
//! Fields marked [`FieldSpec::patient_text`] hold free text a patient wrote: a server must never
//! log their values. Custom set elements (`custom:…`) are also patient words and appear in field
//! *names*, so log [`FieldSpec::name`], never `Op::field`.
//!
//! Validation does not allocate unless it rejects.

use serde_json::Value;

pub use crate::field::*;
use crate::op::{DocKind, Op};
use crate::reject::{RejectCode, Rejection};

pub use crate::kinds::fields;
pub use crate::kinds::plan::PHASES;
pub use crate::kinds::session::{ATTENDANCE, RSVPS, SESSION_KINDS, SESSION_STATUSES};

/// Fields of a craving check-in.
pub use crate::kinds::checkin::FIELDS as CHECKIN;
/// Fields of a coping-skill exercise.
pub use crate::kinds::exercise::FIELDS as EXERCISE;
/// Fields of a treatment plan.
pub use crate::kinds::plan::FIELDS as PLAN;
/// Fields of a scheduled treatment session.
pub use crate::kinds::session::FIELDS as SESSION;

/// Resolves an op's field name to its spec and, for a set, its element.
///
/// `triggers/stress` → (`triggers` spec, `Some("stress")`); `intensity` → (spec, `None`).
pub fn lookup(kind: DocKind, field: &str) -> Result<(&'static FieldSpec, Option<&str>), Rejection> {
    if field == DELETED {
        return Ok((&DELETED_SPEC, None));
    }
    let (base, element) = match field.split_once('/') {
        Some((b, e)) => (b, Some(e)),
        None => (field, None),
    };
    let spec = fields(kind)
        .iter()
        .find(|s| s.name == base)
        .ok_or_else(|| Rejection::new(RejectCode::UnknownField, unknown_field_msg(kind)))?;
    match (&spec.ty, element) {
        (FieldType::Set(_), None) => Err(Rejection::new(
            RejectCode::UnknownField,
            format!(
                "{} is a set: write one element at a time as {}/<element>",
                spec.name, spec.name
            ),
        )),
        (FieldType::Set(_), Some(_)) | (_, None) => Ok((spec, element)),
        (_, Some(_)) => Err(Rejection::new(
            RejectCode::UnknownField,
            format!("{} is not a set field", spec.name),
        )),
    }
}

fn unknown_field_msg(kind: DocKind) -> String {
    let names: Vec<&str> = fields(kind).iter().map(|s| s.name).collect();
    format!(
        "unknown field for {}; known: {}, {DELETED}",
        kind.as_str(),
        names.join(", ")
    )
}

/// Checks an op against its schema: envelope (UUID v7 id, `device_seq` ≥ 1), field name, type
/// and range. Does not check who may write it: see [`crate::policy::may_write`].
pub fn validate(op: &Op) -> Result<(), Rejection> {
    validate_op(op).map(|_| ())
}

/// [`validate`], returning the field spec on success.
pub fn validate_op(op: &Op) -> Result<&'static FieldSpec, Rejection> {
    if op.id.get_version_num() != 7 {
        return Err(Rejection::new(
            RejectCode::InvalidOpId,
            "op id must be a UUID v7",
        ));
    }
    if op.device_seq == 0 {
        return Err(Rejection::new(
            RejectCode::InvalidDeviceSeq,
            "device_seq starts at 1",
        ));
    }
    validate_value(op.kind, &op.field, &op.value)
}

/// Checks one `(field, value)` pair of `kind`; returns the field spec.
pub fn validate_value(
    kind: DocKind,
    field: &str,
    value: &Value,
) -> Result<&'static FieldSpec, Rejection> {
    let (spec, element) = lookup(kind, field)?;
    check(spec, element, value)?;
    Ok(spec)
}

fn wrong_type(spec: &FieldSpec, want: &str) -> Rejection {
    Rejection::new(
        RejectCode::WrongType,
        format!("{} must be {want}", spec.name),
    )
}

fn out_of_range(spec: &FieldSpec, min: i64, max: i64) -> Rejection {
    Rejection::new(
        RejectCode::OutOfRange,
        format!("{} must be between {min} and {max}", spec.name),
    )
}

fn check(spec: &FieldSpec, element: Option<&str>, value: &Value) -> Result<(), Rejection> {
    if let FieldType::Set(el) = &spec.ty {
        let e = element.unwrap_or_default();
        if !el.accepts(e) {
            let what = match el {
                SetElement::Tag(c) => c.name,
                SetElement::TimeOfDay => "time of day (HH:MM)",
            };
            return Err(Rejection::new(
                RejectCode::InvalidSetElement,
                format!(
                    "{} elements must be a built-in {what} or {CUSTOM_PREFIX}<1-{CUSTOM_MAX_LEN} of a-z 0-9 _ ->",
                    spec.name
                ),
            ));
        }
        return match value {
            Value::Bool(_) => Ok(()),
            _ => Err(wrong_type(spec, "true (member) or false (removed)")),
        };
    }
    if value.is_null() {
        // null clears a scalar; the tombstone is always an explicit boolean.
        return if spec.name == DELETED {
            Err(wrong_type(spec, "a boolean"))
        } else {
            Ok(())
        };
    }
    match &spec.ty {
        FieldType::Bool => match value {
            Value::Bool(_) => Ok(()),
            _ => Err(wrong_type(spec, "a boolean")),
        },
        FieldType::Int { min, max } => check_int(spec, value, *min, *max),
        FieldType::TimestampMs => check_int(spec, value, MIN_TIMESTAMP_MS, MAX_TIMESTAMP_MS),
        FieldType::Enum(allowed) => {
            let s = value.as_str().ok_or_else(|| wrong_type(spec, "a string"))?;
            if allowed.contains(&s) {
                Ok(())
            } else {
                Err(Rejection::new(
                    RejectCode::UnknownEnumValue,
                    format!("{} must be one of: {}", spec.name, allowed.join(", ")),
                ))
            }
        }
        FieldType::Tag(c) => {
            let s = value.as_str().ok_or_else(|| wrong_type(spec, "a string"))?;
            if c.accepts(s) {
                Ok(())
            } else {
                Err(Rejection::new(
                    RejectCode::UnknownEnumValue,
                    format!(
                        "{} must be a built-in {} or {CUSTOM_PREFIX}<1-{CUSTOM_MAX_LEN} of a-z 0-9 _ ->",
                        spec.name, c.name
                    ),
                ))
            }
        }
        FieldType::Text { max_chars } => {
            let s = value.as_str().ok_or_else(|| wrong_type(spec, "a string"))?;
            // Bytes bound chars from above: only count chars when it could matter.
            if s.len() > *max_chars && s.chars().count() > *max_chars {
                Err(Rejection::new(
                    RejectCode::TooLong,
                    format!("{} is at most {max_chars} characters", spec.name),
                ))
            } else if !crate::text::is_free_text(s) {
                Err(Rejection::new(
                    RejectCode::ControlCharacter,
                    format!(
                        "{} may not hold control characters other than tab, line feed and carriage return",
                        spec.name
                    ),
                ))
            } else {
                Ok(())
            }
        }
        FieldType::HttpsUrl { max_len } => {
            let s = value.as_str().ok_or_else(|| wrong_type(spec, "a string"))?;
            if s.len() > *max_len {
                return Err(Rejection::new(
                    RejectCode::TooLong,
                    format!("{} is at most {max_len} bytes", spec.name),
                ));
            }
            let host_ok = s
                .strip_prefix("https://")
                .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
            if host_ok && !s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                Ok(())
            } else {
                Err(Rejection::new(
                    RejectCode::InvalidUrl,
                    format!("{} must be an https:// link", spec.name),
                ))
            }
        }
        FieldType::Set(_) => Ok(()), // handled above
    }
}

fn check_int(spec: &FieldSpec, value: &Value, min: i64, max: i64) -> Result<(), Rejection> {
    let Value::Number(n) = value else {
        return Err(wrong_type(spec, "an integer"));
    };
    match n.as_i64() {
        Some(i) if (min..=max).contains(&i) => Ok(()),
        Some(_) => Err(out_of_range(spec, min, max)),
        // A u64 beyond i64 is an integer, just far out of range; a float is the wrong type.
        None if n.is_u64() => Err(out_of_range(spec, min, max)),
        None => Err(wrong_type(spec, "an integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(kind: DocKind, field: &str, v: Value) -> Option<RejectCode> {
        validate_value(kind, field, &v).err().map(|r| r.code)
    }

    #[test]
    fn the_trigger_taxonomy_includes_halt_and_the_usual_others() {
        for t in [
            "hungry",
            "angry",
            "lonely",
            "tired",
            "stress",
            "conflict",
            "people",
            "places",
            "boredom",
            "celebration",
            "pain",
            "sleep",
            "cues",
        ] {
            assert!(TRIGGERS.accepts(t), "{t}");
        }
    }

    #[test]
    fn the_skill_catalog_includes_the_core_skills() {
        for s in [
            "urge_surfing",
            "paced_breathing",
            "grounding_54321",
            "halt_check",
            "call_support",
            "play_tape_forward",
            "meditation",
            "physical_activity",
            "journaling",
        ] {
            assert!(SKILLS.accepts(s), "{s}");
        }
    }

    #[test]
    fn custom_entries_need_the_prefix_a_short_name_and_a_plain_charset() {
        assert!(TRIGGERS.accepts("custom:night_shift"));
        assert!(TRIGGERS.accepts(&format!("custom:{}", "a".repeat(32))));
        assert!(!TRIGGERS.accepts(&format!("custom:{}", "a".repeat(33))));
        assert!(!TRIGGERS.accepts("custom:"));
        assert!(!TRIGGERS.accepts("custom:Night"));
        assert!(!TRIGGERS.accepts("custom:a/b"));
        assert!(!TRIGGERS.accepts("night_shift"));
    }

    #[test]
    fn a_set_element_is_written_as_a_boolean_under_name_slash_element() {
        assert_eq!(code(DocKind::Checkin, "triggers/stress", json!(true)), None);
        assert_eq!(
            code(DocKind::Checkin, "triggers", json!(true)),
            Some(RejectCode::UnknownField)
        );
        assert_eq!(
            code(DocKind::Checkin, "triggers/stress", json!(1)),
            Some(RejectCode::WrongType)
        );
        assert_eq!(
            code(DocKind::Checkin, "triggers/rain", json!(true)),
            Some(RejectCode::InvalidSetElement)
        );
        assert_eq!(
            code(DocKind::Checkin, "intensity/3", json!(true)),
            Some(RejectCode::UnknownField)
        );
    }

    #[test]
    fn prompt_times_are_24_hour_hh_mm() {
        assert_eq!(code(DocKind::Plan, "prompt_times/08:30", json!(true)), None);
        assert_eq!(code(DocKind::Plan, "prompt_times/23:59", json!(true)), None);
        for bad in ["24:00", "8:30", "08:60", "08-30", "0830", "ab:cd"] {
            assert_eq!(
                code(DocKind::Plan, &format!("prompt_times/{bad}"), json!(true)),
                Some(RejectCode::InvalidSetElement),
                "{bad}"
            );
        }
    }

    #[test]
    fn integers_must_be_integers_in_range() {
        assert_eq!(code(DocKind::Checkin, "intensity", json!(10)), None);
        assert_eq!(
            code(DocKind::Checkin, "intensity", json!(11)),
            Some(RejectCode::OutOfRange)
        );
        assert_eq!(
            code(DocKind::Checkin, "intensity", json!(u64::MAX)),
            Some(RejectCode::OutOfRange)
        );
        assert_eq!(
            code(DocKind::Checkin, "intensity", json!(5.0)),
            Some(RejectCode::WrongType)
        );
        assert_eq!(
            code(DocKind::Checkin, "intensity", json!("5")),
            Some(RejectCode::WrongType)
        );
    }

    #[test]
    fn null_clears_a_scalar_but_never_the_tombstone() {
        assert_eq!(code(DocKind::Checkin, "note", Value::Null), None);
        assert_eq!(
            code(DocKind::Checkin, DELETED, Value::Null),
            Some(RejectCode::WrongType)
        );
    }

    #[test]
    fn a_note_is_at_most_2000_characters_counted_as_characters_not_bytes() {
        assert_eq!(
            code(DocKind::Checkin, "note", json!("é".repeat(2000))),
            None
        );
        assert_eq!(
            code(DocKind::Checkin, "note", json!("a".repeat(2001))),
            Some(RejectCode::TooLong)
        );
    }

    #[test]
    fn every_text_field_refuses_control_characters_but_keeps_line_breaks_and_tabs() {
        let texts: Vec<(DocKind, &str)> = DocKind::ALL
            .into_iter()
            .flat_map(|k| fields(k).iter().map(move |s| (k, s)))
            .filter(|(_, s)| matches!(s.ty, FieldType::Text { .. }))
            .map(|(k, s)| (k, s.name))
            .collect();
        assert_eq!(texts.len(), 6, "{texts:?}");
        for (kind, field) in texts {
            assert_eq!(code(kind, field, json!("two\nlines\tand\r\n")), None);
            for bad in ["a\u{0}b", "\u{1b}[2J", "\u{85}"] {
                let refused = validate_value(kind, field, &json!(bad)).unwrap_err();
                assert_eq!(refused.code, RejectCode::ControlCharacter, "{field}");
                assert!(refused.message.contains(field) && !refused.message.contains(bad));
            }
        }
    }

    #[test]
    fn the_telehealth_link_must_be_https() {
        let ok = json!("https://meet.example.org/r/abc?x=1");
        assert_eq!(code(DocKind::Session, "telehealth_url", ok), None);
        for bad in [
            "http://meet.example.org",
            "javascript:alert(1)",
            "https://",
            "https:///path",
            "https://a b",
        ] {
            assert_eq!(
                code(DocKind::Session, "telehealth_url", json!(bad)),
                Some(RejectCode::InvalidUrl),
                "{bad}"
            );
        }
        let long = format!("https://example.org/{}", "a".repeat(2048));
        assert_eq!(
            code(DocKind::Session, "telehealth_url", json!(long)),
            Some(RejectCode::TooLong)
        );
    }

    #[test]
    fn free_text_fields_are_flagged_as_patient_text() {
        let flagged: Vec<(DocKind, &str)> = DocKind::ALL
            .into_iter()
            .flat_map(|k| fields(k).iter().map(move |s| (k, s)))
            .filter(|(_, s)| s.patient_text)
            .map(|(k, s)| (k, s.name))
            .collect();
        assert_eq!(
            flagged,
            vec![
                (DocKind::Checkin, "context"),
                (DocKind::Checkin, "note"),
                (DocKind::Exercise, "note"),
                (DocKind::Session, "rsvp_note"),
            ]
        );
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert_eq!(
            code(DocKind::Plan, "intensity", json!(1)),
            Some(RejectCode::UnknownField)
        );
    }

    /// Days from 1970-01-01 to a civil date (proleptic Gregorian), for the bound checks.
    fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    #[test]
    fn every_session_of_a_schedule_starting_in_the_allowed_years_has_a_storable_start() {
        const DAY: i64 = 86_400_000;
        const HOUR: i64 = 3_600_000;
        assert_eq!(days_from_civil(2000, 1, 1) * DAY, MIN_TIMESTAMP_MS);
        assert_eq!(days_from_civil(2100, 1, 1) * DAY, MAX_TIMESTAMP_MS);
        let first = i64::from(*SCHEDULE_START_YEARS.start());
        let last = i64::from(*SCHEDULE_START_YEARS.end());
        // The earliest session: the first allowed day at 00:00 in UTC+14.
        assert!(days_from_civil(first, 1, 1) * DAY - 14 * HOUR >= MIN_TIMESTAMP_MS);
        // The latest: the end of the 364th day (52 weeks) from the last allowed day, in UTC-12.
        let end = (days_from_civil(last, 12, 31) + 364) * DAY + 12 * HOUR;
        assert!(end <= MAX_TIMESTAMP_MS);
        // One year wider on either side would not fit.
        assert!(days_from_civil(first - 1, 1, 1) * DAY - 14 * HOUR < MIN_TIMESTAMP_MS);
        // (a one-week track starting on the last day of the next year ends in 2100).
        assert!((days_from_civil(last + 1, 12, 31) + 7) * DAY > MAX_TIMESTAMP_MS);
    }
}
