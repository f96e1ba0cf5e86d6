//! Ops: the unit of change, the wire format, and the last-writer-wins order.
//!
//! An op sets one field of one document: `(patient, kind, doc)` names the document, `field` the
//! register, `value` the new value, `hlc` its place in time. The author and device are *not* in
//! the body: the server stamps them from the access token (see [`Author`]), so a phone cannot
//! claim to be someone else.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::hlc::Hlc;
use crate::reject::{RejectCode, Rejection};

/// The kinds of document Tether syncs, declared once each in [`crate::kinds`].
pub use crate::kinds::DocKind;

impl DocKind {
    /// Parses a wire name; an unknown one is rejected with `unknown_kind`.
    pub fn parse(s: &str) -> Result<Self, Rejection> {
        DocKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Rejection::new(RejectCode::UnknownKind, "unknown document kind"))
    }
}

/// One change to one field of one document: the wire format of a push.
///
/// ```json
/// {"id":"0190b2c3-d4e5-7f00-8000-000000000001",
///  "patient":"6f1c2a9e-0000-4000-8000-000000000001",
///  "kind":"checkin",
///  "doc":"6f1c2a9e-0000-4000-8000-0000000000d1",
///  "field":"intensity",
///  "value":7,
///  "hlc":"0190b2c3d4e5-00000000-00000000000000a1",
///  "device_seq":1}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Op {
    /// Unique id of the op (UUID v7), chosen by the issuing device; makes a push idempotent and
    /// breaks ties between equal HLCs.
    pub id: Uuid,
    /// The patient whose record this is.
    pub patient: Uuid,
    /// Which schema the document follows.
    pub kind: DocKind,
    /// Document id, unique per `(patient, kind)`. Any UUID version: the server may derive
    /// deterministic ids (v5/v8) for documents it generates.
    pub doc: Uuid,
    /// Field name; set elements are `name/<element>`; `_deleted` is the tombstone.
    pub field: String,
    /// The new value; `null` clears a scalar field.
    pub value: Value,
    /// When, in hybrid logical time.
    pub hlc: Hlc,
    /// The issuing device's dense counter 1, 2, 3, …, used by the server for receipts.
    pub device_seq: u64,
}

/// The keys of an op, in wire order.
const OP_KEYS: [&str; 8] = [
    "id",
    "patient",
    "kind",
    "doc",
    "field",
    "value",
    "hlc",
    "device_seq",
];

fn malformed(what: &str) -> Rejection {
    Rejection::new(RejectCode::MalformedOp, format!("malformed op: {what}"))
}

/// Takes the key `name` out of an op's object, or says it is missing.
fn take(map: &mut serde_json::Map<String, Value>, name: &str) -> Result<Value, Rejection> {
    map.remove(name)
        .ok_or_else(|| malformed(&format!("{name} is missing")))
}

fn uuid_at(map: &mut serde_json::Map<String, Value>, name: &str) -> Result<Uuid, Rejection> {
    match take(map, name)? {
        Value::String(s) => Uuid::parse_str(&s).ok(),
        _ => None,
    }
    .ok_or_else(|| malformed(&format!("{name} must be a UUID string")))
}

/// Only the `id` of an op's text, read without judging anything else.
#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow, default)]
    id: Option<&'a serde_json::value::RawValue>,
}

impl Op {
    /// Decodes one op from a JSON value, mapping failures to a [`Rejection`] so a server can
    /// judge each op of a batch on its own (`unknown_kind` or `malformed_op`).
    ///
    /// A message names the part of the op that is wrong and what it must be, never the value
    /// sent (it may be patient text): the op is taken apart key by key instead of quoting
    /// serde's message.
    pub fn from_json(v: Value) -> Result<Self, Rejection> {
        let Value::Object(mut map) = v else {
            return Err(malformed("an op must be a JSON object"));
        };
        if let Some(kind) = map.get("kind").and_then(Value::as_str) {
            DocKind::parse(kind)?;
        }
        if map.keys().any(|k| !OP_KEYS.contains(&k.as_str())) {
            return Err(malformed(
                "an op has only the keys id, patient, kind, doc, field, value, hlc and device_seq",
            ));
        }
        let id = uuid_at(&mut map, "id")?;
        let patient = uuid_at(&mut map, "patient")?;
        let kind = match take(&mut map, "kind")? {
            Value::String(s) => DocKind::parse(&s)?,
            _ => return Err(malformed("kind must be a string")),
        };
        let doc = uuid_at(&mut map, "doc")?;
        let Value::String(field) = take(&mut map, "field")? else {
            return Err(malformed("field must be a string"));
        };
        let value = take(&mut map, "value")?;
        let hlc = match take(&mut map, "hlc")? {
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            malformed("hlc must be an HLC string wwwwwwwwwwww-cccccccc-nnnnnnnnnnnnnnnn")
        })?;
        let device_seq = take(&mut map, "device_seq")?
            .as_u64()
            .ok_or_else(|| malformed("device_seq must be a whole number from 1"))?;
        Ok(Op {
            id,
            patient,
            kind,
            doc,
            field,
            value,
            hlc,
            device_seq,
        })
    }

    /// Decodes one op from its JSON text, with the same outcome as [`Op::from_json`] on the
    /// parsed value: straight into the op when the text is one (the common case, without building
    /// a JSON tree first); otherwise through [`Op::from_json`], so a rejection reads the same
    /// whichever way the op arrived. Text that is not JSON is described by where it breaks.
    pub fn from_json_str(text: &str) -> Result<Self, Rejection> {
        serde_json::from_str(text).or_else(|_| {
            let v: Value = serde_json::from_str(text).map_err(|e| {
                // A syntax error's message is fixed text and a position; anything else is
                // described by its position only.
                let what = match e.classify() {
                    serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                        format!("not valid JSON: {e}")
                    }
                    _ => format!("not valid JSON (line {}, column {})", e.line(), e.column()),
                };
                malformed(&what)
            })?;
            Op::from_json(v)
        })
    }

    /// The op's `id` when it is a UUID, whatever else is wrong with the op: a rejection names
    /// the op whenever it can.
    pub fn id_of(v: &Value) -> Option<Uuid> {
        v.get("id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    }

    /// [`Op::id_of`] on an op's JSON text, read without building a JSON tree (and even when
    /// another part of the text cannot become one, e.g. a lone surrogate in a string).
    pub fn id_of_str(text: &str) -> Option<Uuid> {
        let raw = serde_json::from_str::<IdOnly<'_>>(text).ok()?.id?;
        serde_json::from_str::<&str>(raw.get())
            .ok()
            .and_then(|s| Uuid::parse_str(s).ok())
    }

    /// The `(hlc, id)` pair this op is ordered by.
    pub fn stamp(&self) -> (&Hlc, &Uuid) {
        (&self.hlc, &self.id)
    }
}

/// Builds a UUID v7 op id from a timestamp and caller-supplied random bytes.
///
/// sync-core reads no random source (it must build for wasm without one); the device supplies
/// 10 random bytes from its own generator.
pub fn op_id(hlc: &Hlc, random: &[u8; 10]) -> Uuid {
    uuid::Builder::from_unix_timestamp_millis(hlc.wall_ms(), random).into_uuid()
}

/// Last-writer-wins order: does `incoming` beat `current`?
///
/// Higher HLC wins; on equal HLCs (only possible with a misconfigured node id) the higher op id
/// wins, so every replica picks the same winner whatever order ops arrive in. Equal stamps are the
/// same op, which does not "win" over itself. This is the comparison a server uses when storing
/// field state in a database.
pub fn wins(incoming: (&Hlc, &Uuid), current: (&Hlc, &Uuid)) -> bool {
    incoming > current
}

/// Roles an authenticated user can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A patient in the program.
    Patient,
    /// A counselor (clinician).
    Counselor,
    /// A clinic administrator.
    Admin,
}

/// Who wrote an op, as stamped by the server from the access token (never from the op body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Author {
    /// The user id; for a patient this is also their patient id.
    pub user: Uuid,
    /// Their role.
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn a_higher_hlc_wins_whatever_the_op_ids() {
        let lo = Hlc::new(1, 0, 1).unwrap();
        let hi = Hlc::new(1, 1, 0).unwrap();
        assert!(wins((&hi, &u(1)), (&lo, &u(9))));
        assert!(!wins((&lo, &u(9)), (&hi, &u(1))));
    }

    #[test]
    fn equal_hlcs_are_broken_by_op_id_and_an_op_never_beats_itself() {
        let h = Hlc::new(1, 0, 1).unwrap();
        assert!(wins((&h, &u(2)), (&h, &u(1))));
        assert!(!wins((&h, &u(1)), (&h, &u(2))));
        assert!(!wins((&h, &u(1)), (&h, &u(1))));
    }

    #[test]
    fn op_ids_are_version_7() {
        let h = Hlc::new(1_700_000_000_000, 0, 1).unwrap();
        let id = op_id(&h, &[7; 10]);
        assert_eq!(id.get_version_num(), 7);
    }

    #[test]
    fn an_unknown_kind_is_rejected_with_its_own_code() {
        let v = serde_json::json!({"kind": "diary"});
        assert_eq!(Op::from_json(v).unwrap_err().code, RejectCode::UnknownKind);
        let v = serde_json::json!({"kind": "checkin"});
        assert_eq!(Op::from_json(v).unwrap_err().code, RejectCode::MalformedOp);
    }

    const GOOD: &str = r#"{"id":"0190d8a4-1c2b-7000-8000-000000000001","patient":"00000000-0000-0000-0000-000000000002","kind":"checkin","doc":"00000000-0000-0000-0000-000000000003","field":"mood","value":3,"hlc":"018f3a2b4c5d-00000007-00000000000000ab","device_seq":1}"#;

    #[test]
    fn a_rejection_names_the_bad_part_and_never_quotes_what_was_sent() {
        let secret = "SECRET patient words";
        let id: Uuid = "0190d8a4-1c2b-7000-8000-000000000001".parse().unwrap();
        for key in ["id", "patient", "kind", "doc", "field", "hlc", "device_seq"] {
            let mut v: Value = serde_json::from_str(GOOD).unwrap();
            v[key] = if key == "field" {
                serde_json::json!({ "x": secret })
            } else {
                serde_json::json!(secret)
            };
            let text = v.to_string();
            for r in [
                Op::from_json_str(&text).unwrap_err(),
                Op::from_json(v.clone()).unwrap_err(),
            ] {
                assert!(!r.message.contains("SECRET"), "{key}: {}", r.message);
                assert!(r.message.contains(key), "{key}: {}", r.message);
            }
            let expect_id = (key != "id").then_some(id);
            assert_eq!(Op::id_of(&v), expect_id, "{key}");
            assert_eq!(Op::id_of_str(&text), expect_id, "{key}");
        }
        // A missing key, an unknown key (whose name may be patient words too) and text that is
        // not JSON: named, never quoted.
        let missing = GOOD.replace(r#","device_seq":1"#, "");
        assert!(Op::from_json_str(&missing)
            .unwrap_err()
            .message
            .contains("device_seq is missing"));
        let unknown = GOOD.replace(r#""value":3"#, r#""value":3,"SECRET":1"#);
        let r = Op::from_json_str(&unknown).unwrap_err();
        assert!(!r.message.contains("SECRET"), "{}", r.message);
        let lone = GOOD.replace(r#""field":"mood""#, r#""field":"SECRET\ud800""#);
        let r = Op::from_json_str(&lone).unwrap_err();
        assert_eq!(r.code, RejectCode::MalformedOp);
        assert!(!r.message.contains("SECRET"), "{}", r.message);
        assert_eq!(Op::id_of_str(&lone), Some(id));
    }

    #[test]
    fn decoding_text_agrees_with_decoding_its_value() {
        let good = GOOD;
        // The same op with a key repeated: a JSON tree keeps the last, a typed decode refuses
        // it; the text path must still accept it as the tree path does.
        let repeated = good.replacen(r#""value":3"#, r#""value":1,"value":3"#, 1);
        let cases = [
            good.to_string(),
            repeated,
            r#"{"kind":"diary"}"#.to_string(),
            r#"{"kind":"checkin"}"#.to_string(),
            "[1,2]".to_string(),
            "7".to_string(),
        ];
        for text in cases {
            let by_value = Op::from_json(serde_json::from_str(&text).unwrap());
            let by_text = Op::from_json_str(&text);
            assert_eq!(by_text, by_value, "{text}");
        }
        assert!(Op::from_json_str(good).is_ok());
        let broken = Op::from_json_str("{").unwrap_err();
        assert_eq!(broken.code, RejectCode::MalformedOp);
    }
}
