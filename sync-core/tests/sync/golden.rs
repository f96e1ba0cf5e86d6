//! Golden wire tests.
//!
//! A failure here means a protocol break: do not edit the expected bytes, version the protocol.

use serde_json::json;
use sync_core::hlc::Hlc;
use sync_core::op::{DocKind, Op};
use sync_core::reject::{RejectCode, Rejection};
use sync_core::replica::FieldState;
use uuid::Uuid;

fn hlc() -> Hlc {
    Hlc::new(0x0190_b2c3_d4e5, 3, 0xa1).unwrap()
}

fn op() -> Op {
    Op {
        id: "0190b2c3-d4e5-7f00-8000-000000000001".parse().unwrap(),
        patient: "6f1c2a9e-0000-4000-8000-000000000001".parse().unwrap(),
        kind: DocKind::Checkin,
        doc: "6f1c2a9e-0000-4000-8000-0000000000d1".parse().unwrap(),
        field: "triggers/stress".into(),
        value: json!(true),
        hlc: hlc(),
        device_seq: 42,
    }
}

const OP_JSON: &str = r#"{"id":"0190b2c3-d4e5-7f00-8000-000000000001","patient":"6f1c2a9e-0000-4000-8000-000000000001","kind":"checkin","doc":"6f1c2a9e-0000-4000-8000-0000000000d1","field":"triggers/stress","value":true,"hlc":"0190b2c3d4e5-00000003-00000000000000a1","device_seq":42}"#;

#[test]
fn an_op_serialises_to_the_frozen_bytes() {
    assert_eq!(serde_json::to_string(&op()).unwrap(), OP_JSON);
}

#[test]
fn the_frozen_op_bytes_still_parse() {
    let parsed: Op = serde_json::from_str(OP_JSON).unwrap();
    assert_eq!(parsed, op());
    assert_eq!(
        Op::from_json(serde_json::from_str(OP_JSON).unwrap()).unwrap(),
        op()
    );
}

#[test]
fn an_op_carrying_an_author_is_malformed_the_server_stamps_authors() {
    let mut v: serde_json::Value = serde_json::from_str(OP_JSON).unwrap();
    v["author"] = json!("00000000-0000-0000-0000-000000000000");
    assert_eq!(Op::from_json(v).unwrap_err().code, RejectCode::MalformedOp);
}

#[test]
fn every_kind_has_a_frozen_name() {
    let names: Vec<String> = DocKind::ALL
        .iter()
        .map(|k| serde_json::to_string(k).unwrap())
        .collect();
    assert_eq!(
        names,
        [r#""checkin""#, r#""exercise""#, r#""session""#, r#""plan""#]
    );
}

#[test]
fn a_field_state_serialises_to_the_frozen_bytes() {
    let s = FieldState {
        patient: Uuid::from_u128(1),
        kind: DocKind::Session,
        doc: Uuid::from_u128(2),
        field: "rsvp".into(),
        value: json!("maybe"),
        hlc: hlc(),
        op: Uuid::from_u128(3),
    };
    assert_eq!(
        serde_json::to_string(&s).unwrap(),
        r#"{"patient":"00000000-0000-0000-0000-000000000001","kind":"session","doc":"00000000-0000-0000-0000-000000000002","field":"rsvp","value":"maybe","hlc":"0190b2c3d4e5-00000003-00000000000000a1","op":"00000000-0000-0000-0000-000000000003"}"#
    );
}

#[test]
fn a_rejection_serialises_to_the_frozen_bytes() {
    let r = Rejection::new(RejectCode::OutOfRange, "intensity must be between 0 and 10");
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"code":"out_of_range","message":"intensity must be between 0 and 10"}"#
    );
}

#[test]
fn every_reject_code_has_a_frozen_name() {
    let names: Vec<String> = RejectCode::ALL
        .iter()
        .map(|c| serde_json::to_string(c).unwrap())
        .collect();
    assert_eq!(
        names.join(","),
        r#""malformed_op","invalid_op_id","invalid_device_seq","unknown_kind","unknown_field","wrong_type","out_of_range","too_long","unknown_enum_value","invalid_set_element","invalid_url","forbidden_field","not_your_patient","clock_too_far_ahead","control_character""#
    );
}
