//! Every ill-typed or out-of-range value of every field of every schema is rejected with the
//! right code, and well-formed values are accepted. Driven by the schema tables themselves, so a
//! new field is covered the day it is added.

use proptest::prelude::*;
use serde_json::{json, Value};
use sync_core::op::DocKind;
use sync_core::reject::RejectCode;
use sync_core::schema::{
    self, FieldSpec, FieldType, SetElement, MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS,
};

use crate::gen::config;

fn all_specs() -> Vec<(DocKind, &'static FieldSpec)> {
    DocKind::ALL
        .into_iter()
        .flat_map(|k| {
            schema::fields(k)
                .iter()
                .chain(std::iter::once(&schema::DELETED_SPEC))
                .map(move |s| (k, s))
        })
        .collect()
}

/// Values of the wrong JSON type for anything but a string field.
fn non_string() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        Just(json!([])),
        Just(json!({"a": 1})),
    ]
}

fn not_bool() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|i| json!(i)),
        ".{0,8}".prop_map(Value::String),
        Just(json!([true])),
        Just(json!({})),
    ]
}

fn not_integer() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        ".{0,8}".prop_map(Value::String),
        // Fractional or integral, a float is not an integer on the wire.
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        Just(json!([1])),
        Just(json!({"n": 1})),
    ]
}

fn out_of(min: i64, max: i64) -> impl Strategy<Value = Value> {
    prop_oneof![
        (i64::MIN..min).prop_map(|i| json!(i)),
        (max.saturating_add(1)..=i64::MAX).prop_map(|i| json!(i)),
        ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(|u| json!(u)),
    ]
}

fn scalar(name: &str) -> String {
    name.to_string()
}

/// A bad `(field, value)` for `spec` and the code it must be rejected with.
fn bad(spec: &'static FieldSpec) -> BoxedStrategy<(String, Value, RejectCode)> {
    let name = spec.name;
    let typed =
        |s: BoxedStrategy<Value>, code| s.prop_map(move |v| (scalar(name), v, code)).boxed();
    match &spec.ty {
        FieldType::Bool => typed(not_bool().boxed(), RejectCode::WrongType),
        FieldType::Int { min, max } => prop_oneof![
            typed(not_integer().boxed(), RejectCode::WrongType),
            typed(out_of(*min, *max).boxed(), RejectCode::OutOfRange),
        ]
        .boxed(),
        FieldType::TimestampMs => prop_oneof![
            typed(not_integer().boxed(), RejectCode::WrongType),
            typed(
                out_of(MIN_TIMESTAMP_MS, MAX_TIMESTAMP_MS).boxed(),
                RejectCode::OutOfRange
            ),
        ]
        .boxed(),
        FieldType::Enum(allowed) => prop_oneof![
            typed(non_string().boxed(), RejectCode::WrongType),
            typed(
                ".{0,20}"
                    .prop_filter("not allowed", move |s| !allowed.contains(&s.as_str()))
                    .prop_map(Value::String)
                    .boxed(),
                RejectCode::UnknownEnumValue
            ),
        ]
        .boxed(),
        FieldType::Tag(catalog) => prop_oneof![
            typed(non_string().boxed(), RejectCode::WrongType),
            typed(
                prop_oneof![
                    ".{0,20}".boxed(),
                    "custom:.{0,40}".boxed(),
                    "custom:[a-z]{33,40}".boxed(),
                ]
                .prop_filter("not accepted", move |s| !catalog.accepts(s))
                .prop_map(Value::String)
                .boxed(),
                RejectCode::UnknownEnumValue
            ),
        ]
        .boxed(),
        FieldType::Text { max_chars } => {
            let max = *max_chars;
            prop_oneof![
                typed(non_string().boxed(), RejectCode::WrongType),
                typed(
                    (1..50usize, prop::sample::select(vec!['a', 'é', '字', '🙂']))
                        .prop_map(move |(extra, c)| Value::String(
                            c.to_string().repeat(max + extra)
                        ))
                        .boxed(),
                    RejectCode::TooLong
                ),
                typed(
                    (
                        "\\PC{0,40}",
                        prop::sample::select(vec![
                            '\u{0}', '\u{1}', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}'
                        ]),
                        "\\PC{0,40}",
                    )
                        .prop_map(|(a, c, b)| Value::String(format!("{a}{c}{b}")))
                        .boxed(),
                    RejectCode::ControlCharacter
                ),
            ]
            .boxed()
        }
        FieldType::HttpsUrl { max_len } => {
            let max = *max_len;
            prop_oneof![
                typed(non_string().boxed(), RejectCode::WrongType),
                typed(
                    prop_oneof![
                        "http://[a-z]{1,20}\\.org".boxed(),
                        "(javascript|ftp|data):[a-z]{0,20}".boxed(),
                        "https://[a-z]{0,5} [a-z]{1,5}".boxed(),
                        Just("https://".to_string()).boxed(),
                    ]
                    .prop_map(Value::String)
                    .boxed(),
                    RejectCode::InvalidUrl
                ),
                typed(
                    (1..50usize)
                        .prop_map(move |e| Value::String(format!(
                            "https://a.org/{}",
                            "x".repeat(max + e)
                        )))
                        .boxed(),
                    RejectCode::TooLong
                ),
            ]
            .boxed()
        }
        FieldType::Set(el) => {
            let good_element = match el {
                SetElement::Tag(c) => c.builtin[0].to_string(),
                SetElement::TimeOfDay => "08:00".to_string(),
            };
            let bad_element = match el {
                SetElement::Tag(c) => ".{0,20}"
                    .prop_filter("not accepted", move |s| !c.accepts(s))
                    .boxed(),
                SetElement::TimeOfDay => prop_oneof![
                    (24..100u32, 0..60u32)
                        .prop_map(|(h, m)| format!("{h:02}:{m:02}"))
                        .boxed(),
                    (0..24u32, 60..100u32)
                        .prop_map(|(h, m)| format!("{h:02}:{m:02}"))
                        .boxed(),
                    ".{0,8}"
                        .prop_filter("not HH:MM", |s| {
                            let b = s.as_bytes();
                            !(b.len() == 5 && b[2] == b':')
                        })
                        .boxed(),
                ]
                .boxed(),
            };
            prop_oneof![
                not_bool().prop_map(move |v| (
                    format!("{name}/{good_element}"),
                    v,
                    RejectCode::WrongType
                )),
                bad_element.prop_map(move |e| (
                    format!("{name}/{e}"),
                    json!(true),
                    RejectCode::InvalidSetElement
                )),
            ]
            .boxed()
        }
    }
}

/// A good `(field, value)` for `spec`.
fn good(spec: &'static FieldSpec) -> BoxedStrategy<(String, Value)> {
    let name = spec.name;
    let v = |s: BoxedStrategy<Value>| s.prop_map(move |v| (scalar(name), v)).boxed();
    let nullable = |s: BoxedStrategy<Value>| {
        if name == schema::DELETED {
            s
        } else {
            prop_oneof![9 => s, 1 => Just(Value::Null)].boxed()
        }
    };
    match &spec.ty {
        FieldType::Bool => v(nullable(any::<bool>().prop_map(Value::Bool).boxed())),
        FieldType::Int { min, max } => v(nullable((*min..=*max).prop_map(|i| json!(i)).boxed())),
        FieldType::TimestampMs => v(nullable(
            (MIN_TIMESTAMP_MS..=MAX_TIMESTAMP_MS)
                .prop_map(|i| json!(i))
                .boxed(),
        )),
        FieldType::Enum(allowed) => v(nullable(
            prop::sample::select(*allowed)
                .prop_map(|s| json!(s))
                .boxed(),
        )),
        FieldType::Tag(c) => v(nullable(
            prop_oneof![
                prop::sample::select(c.builtin).prop_map(|s| json!(s)),
                "custom:[a-z0-9_-]{1,32}".prop_map(Value::String),
            ]
            .boxed(),
        )),
        FieldType::Text { max_chars } => {
            let max = *max_chars;
            v(nullable(
                (
                    0..=max,
                    prop::sample::select(vec!['a', 'é', '字', '🙂', '\n']),
                )
                    .prop_map(|(n, c)| Value::String(c.to_string().repeat(n)))
                    .boxed(),
            ))
        }
        FieldType::HttpsUrl { .. } => v(nullable(
            "https://[a-z]{1,20}\\.org(/[a-zA-Z0-9?=&]{0,30})?"
                .prop_map(Value::String)
                .boxed(),
        )),
        FieldType::Set(el) => {
            let element = match el {
                SetElement::Tag(c) => prop_oneof![
                    prop::sample::select(c.builtin).prop_map(str::to_string),
                    "custom:[a-z0-9_-]{1,32}",
                ]
                .boxed(),
                SetElement::TimeOfDay => (0..24u32, 0..60u32)
                    .prop_map(|(h, m)| format!("{h:02}:{m:02}"))
                    .boxed(),
            };
            (element, any::<bool>())
                .prop_map(move |(e, b)| (format!("{name}/{e}"), json!(b)))
                .boxed()
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_ill_typed_or_out_of_range_value_is_rejected_with_its_code(
        (kind, field, value, code) in prop::sample::select(all_specs())
            .prop_flat_map(|(k, s)| bad(s).prop_map(move |(f, v, c)| (k, f, v, c)))
    ) {
        let got = schema::validate_value(kind, &field, &value);
        prop_assert_eq!(got.err().map(|r| r.code), Some(code), "{}.{} = {}", kind.as_str(), field, value);
    }

    #[test]
    fn every_well_formed_value_is_accepted(
        (kind, field, value) in prop::sample::select(all_specs())
            .prop_flat_map(|(k, s)| good(s).prop_map(move |(f, v)| (k, f, v)))
    ) {
        let got = schema::validate_value(kind, &field, &value);
        prop_assert!(got.is_ok(), "{}.{} = {}: {:?}", kind.as_str(), field, value, got.err());
    }

    #[test]
    fn free_text_is_refused_exactly_when_it_holds_a_control_other_than_tab_or_a_line_break(
        text in any::<String>(),
    ) {
        // Unicode `Cc`, spelled out: C0, DEL and C1.
        let controlled = text
            .chars()
            .any(|c| (c <= '\u{1f}' || ('\u{7f}'..='\u{9f}').contains(&c)) && !matches!(c, '\t' | '\n' | '\r'));
        prop_assert_eq!(sync_core::text::is_free_text(&text), !controlled);
        let got = schema::validate_value(DocKind::Checkin, "note", &json!(text));
        match got {
            Ok(_) => prop_assert!(!controlled),
            Err(r) => {
                prop_assert!(controlled, "{:?}", r);
                prop_assert_eq!(r.code, RejectCode::ControlCharacter);
                prop_assert!(text.is_empty() || !r.message.contains(&text));
            }
        }
    }

    #[test]
    fn unknown_fields_are_rejected_in_every_kind(
        kind in prop::sample::select(DocKind::ALL.to_vec()),
        field in "[a-z_/]{1,20}",
    ) {
        let known = schema::lookup(kind, &field).is_ok();
        let got = schema::validate_value(kind, &field, &json!(true));
        if !known {
            prop_assert_eq!(got.err().map(|r| r.code), Some(RejectCode::UnknownField));
        }
    }
}
