//! The sync protocol's JSON bodies, declared once for the server, the phone and the load
//! generator (`openapi.yaml` documents them: `PushRequest`, `PushResponse`, `RejectedOp`,
//! `Receipt`, `CrisisResources`, `PullResponse`, `Error`).
//!
//! The items they carry are sync-core's own types: an [`Op`] in a push, a [`FieldState`] in a
//! pull. Codes travel as strings, so a phone built today still reads an answer carrying a code
//! added later (it acts on the HTTP status and the codes it knows). Types a phone reads ignore
//! keys they do not declare, so a newer server does not break an older phone; only the push
//! request, which the server reads, refuses unknown keys.
//!
//! Two bodies are generic where one side needs another representation of the same JSON: the
//! server keeps each pushed op as its JSON text until it decodes it on its own
//! ([`PushRequest`] over raw JSON values), and a reader that only counts a pull's changes skips
//! decoding them ([`PullResponse`] over [`serde::de::IgnoredAny`]).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::op::Op;
use crate::reject::RejectCode;
use crate::replica::FieldState;

/// `POST /v1/sync/push` body, sent by a device: a batch of ops, each judged on its own.
///
/// `Ops` is the list as each side holds it: a phone serialises a borrowed `&[Op]`, the server
/// reads `Vec<Box<RawValue>>` so one op that is not an [`Op`] never fails the whole request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest<Ops = Vec<Op>> {
    /// The ops, in the order the device made them.
    pub ops: Ops,
}

/// `POST /v1/sync/push` answer, sent by the server once the accepted ops are committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    /// Ids of the ops stored by this push.
    pub accepted: Vec<Uuid>,
    /// Ids of ops the server already held with the same content (a retried batch), or that
    /// appear twice in the batch.
    pub duplicates: Vec<Uuid>,
    /// The ops refused, in batch order.
    pub rejected: Vec<RejectedOp>,
    /// What the server holds of the pushing device's ops.
    pub receipt: Receipt,
    /// The server's wall time when it judged the push (ms since the Unix epoch), so a phone can
    /// tell how far off its own clock is.
    pub server_time_ms: i64,
    /// Where to get help now, when a check-in this push touched signals a crisis; `null`
    /// otherwise (always sent).
    pub crisis_resources: Option<CrisisResources>,
}

/// An op the server refused, and why: an element of [`PushResponse::rejected`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedOp {
    /// The op's position in the pushed batch, from 0.
    pub index: usize,
    /// The op's id whenever it is readable, even when another part of the op is bad.
    pub id: Option<Uuid>,
    /// Why, stable and machine-readable: a [`RejectCode`] or one of the server's own
    /// (`op_id_conflict`, `device_seq_reused`). A string, so unknown codes still parse.
    pub code: String,
    /// What is wrong, for a person; never quotes the value sent.
    pub message: String,
}

impl RejectedOp {
    /// Is this refusal for `code`?
    pub fn is(&self, code: RejectCode) -> bool {
        self.code == code.as_str()
    }
}

/// What the server holds of one device's ops, counted by their `device_seq`: sent in every push
/// and pull answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The device, from the access token.
    pub device_id: Uuid,
    /// Every op of the device with `device_seq` up to this has reached the server (0 before
    /// the first). The same type as [`Op::device_seq`], which it is compared with.
    pub high_water: u64,
    /// Inclusive ranges `[from, to]` of `device_seq` above `high_water` that have not arrived,
    /// lowest first (at most 100).
    pub gaps: Vec<[u64; 2]>,
}

impl Receipt {
    /// Does the server hold the op with this `device_seq`?
    pub fn holds(&self, device_seq: u64) -> bool {
        device_seq <= self.high_water
    }
}

/// Where to get help now: [`PushResponse::crisis_resources`], for the phone to show at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrisisResources {
    /// A first line to show.
    pub message: String,
    /// Where to reach help, most immediate first.
    pub resources: Vec<CrisisResource>,
}

/// One place to reach help.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrisisResource {
    /// Who answers.
    pub name: String,
    /// The number to call.
    pub phone: String,
    /// The number to text, or `None` when it takes no texts.
    pub text: Option<String>,
    /// What it is for.
    pub description: String,
}

/// `GET /v1/sync/pull` answer, sent by the server: one page of changes and the device's receipt.
///
/// `Change` is [`FieldState`] for a replica that merges the page; a reader that only counts the
/// changes can take [`serde::de::IgnoredAny`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse<Change = FieldState> {
    /// The latest state of each changed field, in change order per patient, patients in id
    /// order.
    pub changes: Vec<Change>,
    /// Where the next pull starts, once this page is applied; opaque.
    pub cursor: String,
    /// More changes are waiting: pull again with `cursor` now.
    pub has_more: bool,
    /// What the server holds of this device's ops.
    pub receipt: Receipt,
}

/// The body of every error answer, whatever its status: `{"error":{"code","message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

impl ErrorBody {
    /// An error body with this code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
            },
        }
    }
}

/// See [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable and machine-readable, snake_case. A string: a code a client does not know is
    /// handled by the HTTP status.
    pub code: String,
    /// What happened, for a person; may change. Names fields and limits, never values sent.
    pub message: String,
}

#[cfg(test)]
mod tests {
    //! Golden bytes: a failure here means a protocol break. Do not edit the expected bytes,
    //! version the protocol.

    use super::*;
    use crate::hlc::Hlc;
    use crate::op::DocKind;
    use serde::de::DeserializeOwned;
    use serde_json::json;

    fn u(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn hlc() -> Hlc {
        Hlc::new(0x0190_b2c3_d4e5, 3, 0xa1).unwrap()
    }

    /// Serialises to exactly `golden`, and `golden` parses back to the same value.
    fn frozen<T>(value: &T, golden: &str)
    where
        T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        assert_eq!(serde_json::to_string(value).unwrap(), golden);
        assert_eq!(&serde_json::from_str::<T>(golden).unwrap(), value);
    }

    fn receipt() -> Receipt {
        Receipt {
            device_id: u(9),
            high_water: 41,
            gaps: vec![[43, 44], [47, 47]],
        }
    }

    const RECEIPT: &str = r#"{"device_id":"00000000-0000-0000-0000-000000000009","high_water":41,"gaps":[[43,44],[47,47]]}"#;

    #[test]
    fn a_receipt_has_frozen_bytes_and_holds_what_is_at_or_below_its_mark() {
        frozen(&receipt(), RECEIPT);
        assert!(receipt().holds(41));
        assert!(!receipt().holds(42));
    }

    #[test]
    fn a_push_request_has_frozen_bytes_borrowed_or_owned() {
        let op = Op {
            id: u(1),
            patient: u(2),
            kind: DocKind::Checkin,
            doc: u(3),
            field: "intensity".into(),
            value: json!(7),
            hlc: hlc(),
            device_seq: 1,
        };
        let golden = r#"{"ops":[{"id":"00000000-0000-0000-0000-000000000001","patient":"00000000-0000-0000-0000-000000000002","kind":"checkin","doc":"00000000-0000-0000-0000-000000000003","field":"intensity","value":7,"hlc":"0190b2c3d4e5-00000003-00000000000000a1","device_seq":1}]}"#;
        let ops = [op];
        let borrowed = PushRequest { ops: &ops[..] };
        assert_eq!(serde_json::to_string(&borrowed).unwrap(), golden);
        frozen(&PushRequest { ops: ops.to_vec() }, golden);
    }

    #[test]
    fn a_push_request_keeps_each_op_as_its_text_and_refuses_unknown_keys() {
        type Raw = PushRequest<Vec<Box<serde_json::value::RawValue>>>;
        let raw: Raw = serde_json::from_str(r#"{"ops":[{"any":"thing"}, 7]}"#).unwrap();
        let texts: Vec<&str> = raw.ops.iter().map(|o| o.get()).collect();
        assert_eq!(texts, [r#"{"any":"thing"}"#, "7"]);
        assert!(serde_json::from_str::<Raw>(r#"{"ops":[],"extra":1}"#).is_err());
    }

    #[test]
    fn a_push_response_has_frozen_bytes() {
        let answer = PushResponse {
            accepted: vec![u(1)],
            duplicates: vec![u(2)],
            rejected: vec![
                RejectedOp {
                    index: 2,
                    id: Some(u(3)),
                    code: "out_of_range".into(),
                    message: "intensity must be between 0 and 10".into(),
                },
                RejectedOp {
                    index: 3,
                    id: None,
                    code: "malformed_op".into(),
                    message: "malformed op: an op must be a JSON object".into(),
                },
            ],
            receipt: receipt(),
            server_time_ms: 1_720_000_000_000,
            crisis_resources: None,
        };
        let golden = format!(
            r#"{{"accepted":["00000000-0000-0000-0000-000000000001"],"duplicates":["00000000-0000-0000-0000-000000000002"],"rejected":[{{"index":2,"id":"00000000-0000-0000-0000-000000000003","code":"out_of_range","message":"intensity must be between 0 and 10"}},{{"index":3,"id":null,"code":"malformed_op","message":"malformed op: an op must be a JSON object"}}],"receipt":{RECEIPT},"server_time_ms":1720000000000,"crisis_resources":null}}"#
        );
        frozen(&answer, &golden);
        assert!(answer.rejected[0].is(RejectCode::OutOfRange));
        assert!(!answer.rejected[0].is(RejectCode::MalformedOp));
    }

    #[test]
    fn crisis_resources_have_frozen_bytes() {
        let help = CrisisResources {
            message: "You are not alone.".into(),
            resources: vec![
                CrisisResource {
                    name: "988 Suicide & Crisis Lifeline".into(),
                    phone: "988".into(),
                    text: Some("988".into()),
                    description: "Support 24/7.".into(),
                },
                CrisisResource {
                    name: "Emergency services".into(),
                    phone: "911".into(),
                    text: None,
                    description: "For immediate danger.".into(),
                },
            ],
        };
        frozen(
            &help,
            r#"{"message":"You are not alone.","resources":[{"name":"988 Suicide & Crisis Lifeline","phone":"988","text":"988","description":"Support 24/7."},{"name":"Emergency services","phone":"911","text":null,"description":"For immediate danger."}]}"#,
        );
    }

    #[test]
    fn a_pull_response_has_frozen_bytes_and_can_be_counted_without_decoding() {
        let page = PullResponse {
            changes: vec![FieldState {
                patient: u(1),
                kind: DocKind::Session,
                doc: u(2),
                field: "rsvp".into(),
                value: json!("maybe"),
                hlc: hlc(),
                op: u(3),
            }],
            cursor: "v2.42".into(),
            has_more: false,
            receipt: receipt(),
        };
        let golden = format!(
            r#"{{"changes":[{{"patient":"00000000-0000-0000-0000-000000000001","kind":"session","doc":"00000000-0000-0000-0000-000000000002","field":"rsvp","value":"maybe","hlc":"0190b2c3d4e5-00000003-00000000000000a1","op":"00000000-0000-0000-0000-000000000003"}}],"cursor":"v2.42","has_more":false,"receipt":{RECEIPT}}}"#
        );
        frozen(&page, &golden);
        let counted: PullResponse<serde::de::IgnoredAny> = serde_json::from_str(&golden).unwrap();
        assert_eq!(
            (counted.changes.len(), counted.cursor.as_str()),
            (1, "v2.42")
        );
    }

    #[test]
    fn an_error_body_has_frozen_bytes() {
        frozen(
            &ErrorBody::new("invalid_cursor", "the cursor is not valid for this device"),
            r#"{"error":{"code":"invalid_cursor","message":"the cursor is not valid for this device"}}"#,
        );
    }

    #[test]
    fn what_a_phone_reads_tolerates_keys_and_codes_added_later() {
        let newer = format!(
            r#"{{"accepted":[],"duplicates":[],"rejected":[{{"index":0,"id":null,"code":"a_code_from_later","message":"m","hint":"x"}}],"receipt":{RECEIPT},"server_time_ms":1,"crisis_resources":null,"later":true}}"#
        );
        let answer: PushResponse = serde_json::from_str(&newer).unwrap();
        assert_eq!(answer.rejected[0].code, "a_code_from_later");
        let page = format!(
            r#"{{"changes":[{{"patient":"00000000-0000-0000-0000-000000000001","kind":"plan","doc":"00000000-0000-0000-0000-000000000002","field":"goal","value":null,"hlc":"0190b2c3d4e5-00000003-00000000000000a1","op":"00000000-0000-0000-0000-000000000003","later":1}}],"cursor":"c","has_more":true,"receipt":{RECEIPT},"later":[]}}"#
        );
        let page: PullResponse = serde_json::from_str(&page).unwrap();
        assert_eq!(page.changes[0].field, "goal");
        let error: ErrorBody =
            serde_json::from_str(r#"{"error":{"code":"new","message":"m","detail":1},"x":2}"#)
                .unwrap();
        assert_eq!(error.error.code, "new");
    }
}
