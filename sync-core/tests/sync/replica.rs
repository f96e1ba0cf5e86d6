//! Replica behaviour: apply outcomes, the tombstone rule, delta state, views.

use serde_json::{json, Value};
use sync_core::hlc::Hlc;
use sync_core::op::{op_id, DocKind, Op};
use sync_core::reject::RejectCode;
use sync_core::replica::{ApplyOutcome, DocKey, Replica};
use sync_core::view::{CheckIn, Plan, Session};
use uuid::Uuid;

const PATIENT: Uuid = Uuid::from_u128(0x100);

fn op_at(kind: DocKind, doc: u128, field: &str, value: Value, wall: u64, seq: u64) -> Op {
    let hlc = Hlc::new(wall, 0, 1).unwrap();
    let mut rnd = [0u8; 10];
    rnd[..8].copy_from_slice(&seq.to_be_bytes());
    Op {
        id: op_id(&hlc, &rnd),
        patient: PATIENT,
        kind,
        doc: Uuid::from_u128(doc),
        field: field.into(),
        value,
        hlc,
        device_seq: seq,
    }
}

fn checkin(field: &str, value: Value, wall: u64, seq: u64) -> Op {
    op_at(DocKind::Checkin, 1, field, value, wall, seq)
}

fn key() -> DocKey {
    DocKey {
        patient: PATIENT,
        kind: DocKind::Checkin,
        doc: Uuid::from_u128(1),
    }
}

#[test]
fn apply_reports_applied_superseded_and_duplicate() {
    let mut r = Replica::new();
    let newer = checkin("intensity", json!(5), 20, 2);
    let older = checkin("intensity", json!(9), 10, 1);
    assert_eq!(r.apply(newer.clone()).unwrap(), ApplyOutcome::Applied);
    assert_eq!(r.apply(newer).unwrap(), ApplyOutcome::Duplicate);
    assert_eq!(r.apply(older).unwrap(), ApplyOutcome::Superseded);
    assert_eq!(r.get(&key(), "intensity"), Some(&json!(5)));
    assert_eq!(r.version(), 1);
}

#[test]
fn apply_rejects_an_invalid_op_and_changes_nothing() {
    let mut r = Replica::new();
    let err = r.apply(checkin("intensity", json!(11), 1, 1)).unwrap_err();
    assert_eq!(err.code, RejectCode::OutOfRange);
    let mut not_v7 = checkin("intensity", json!(1), 1, 1);
    not_v7.id = Uuid::from_u128(5);
    assert_eq!(r.apply(not_v7).unwrap_err().code, RejectCode::InvalidOpId);
    assert_eq!(
        r.apply(checkin("intensity", json!(1), 1, 0))
            .unwrap_err()
            .code,
        RejectCode::InvalidDeviceSeq
    );
    assert!(r.is_empty());
    assert_eq!(r.version(), 0);
}

#[test]
fn a_deleted_checkin_is_left_out_of_listings() {
    let mut r = Replica::new();
    r.apply(checkin("intensity", json!(3), 1, 1)).unwrap();
    assert_eq!(r.checkins().len(), 1);
    r.apply(checkin("_deleted", json!(true), 2, 2)).unwrap();
    assert!(r.checkins().is_empty());
    assert!(r.view::<CheckIn>(&key()).is_none());
}

#[test]
fn a_later_field_write_is_merged_but_does_not_undelete() {
    let ops = [
        checkin("intensity", json!(3), 1, 1),
        checkin("_deleted", json!(true), 2, 2),
        checkin("intensity", json!(8), 3, 3),
    ];
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
        let mut r = Replica::new();
        for i in order {
            r.apply(ops[i].clone()).unwrap();
        }
        assert!(r.is_deleted(&key()), "order {order:?}");
        assert_eq!(r.get(&key(), "intensity"), Some(&json!(8)));
    }
}

#[test]
fn only_an_explicit_later_undelete_brings_a_document_back() {
    let mut r = Replica::new();
    r.apply(checkin("intensity", json!(3), 1, 1)).unwrap();
    r.apply(checkin("_deleted", json!(true), 5, 2)).unwrap();
    // An undelete ordered before the tombstone loses.
    assert_eq!(
        r.apply(checkin("_deleted", json!(false), 4, 3)).unwrap(),
        ApplyOutcome::Superseded
    );
    assert!(r.is_deleted(&key()));
    r.apply(checkin("_deleted", json!(false), 6, 4)).unwrap();
    assert!(!r.is_deleted(&key()));
    assert_eq!(r.checkins()[0].intensity, Some(3));
}

#[test]
fn changes_since_returns_the_latest_state_of_each_changed_field_not_history() {
    let mut r = Replica::new();
    r.apply(checkin("intensity", json!(1), 1, 1)).unwrap();
    r.apply(checkin("mood", json!(2), 2, 2)).unwrap();
    let v = r.version();
    r.apply(checkin("intensity", json!(4), 3, 3)).unwrap();
    r.apply(checkin("intensity", json!(6), 4, 4)).unwrap();
    r.apply(checkin("note", json!("x"), 5, 5)).unwrap();
    let delta = r.changes_since(v);
    let got: Vec<(&str, &Value)> = delta.iter().map(|s| (s.field.as_str(), &s.value)).collect();
    assert_eq!(got, [("intensity", &json!(6)), ("note", &json!("x"))]);
    assert!(r.changes_since(r.version()).is_empty());
    assert_eq!(r.changes_since(0).len(), 3);
}

#[test]
fn deltas_stay_exact_after_the_change_log_is_compacted() {
    // Thousands of overwrites of a few fields force log compaction more than once.
    let mut r = Replica::new();
    let mut checkpoints = Vec::new();
    let fields = ["intensity", "mood", "crisis"];
    for i in 0..5_000u64 {
        let f = fields[(i % 3) as usize];
        let v = match f {
            "intensity" => json!(i % 11),
            "mood" => json!(1 + i % 5),
            _ => json!(i % 2 == 0),
        };
        r.apply(checkin(f, v, i + 1, i + 1)).unwrap();
        if i % 997 == 0 {
            checkpoints.push((r.version(), r.states()));
        }
    }
    for (v, before) in checkpoints {
        let mut caught_up = Replica::new();
        caught_up.apply_delta(before).unwrap();
        caught_up.apply_delta(r.changes_since(v)).unwrap();
        assert_eq!(caught_up.states(), r.states());
    }
}

#[test]
fn set_fields_read_as_sorted_members_with_removals_applied() {
    let mut r = Replica::new();
    let plan = |f: &str, v: Value, wall, seq| op_at(DocKind::Plan, 9, f, v, wall, seq);
    r.apply(plan("skills/urge_surfing", json!(true), 1, 1))
        .unwrap();
    r.apply(plan("skills/meditation", json!(true), 2, 2))
        .unwrap();
    r.apply(plan("skills/custom:walk_the_dog", json!(true), 3, 3))
        .unwrap();
    r.apply(plan("skills/meditation", json!(false), 4, 4))
        .unwrap();
    r.apply(plan("prompt_times/20:00", json!(true), 5, 5))
        .unwrap();
    r.apply(plan("prompt_times/08:30", json!(true), 6, 6))
        .unwrap();
    r.apply(plan("weekly_hours_target", json!(9), 7, 7))
        .unwrap();
    let p: Vec<Plan> = r.plans();
    assert_eq!(p[0].skills, ["custom:walk_the_dog", "urge_surfing"]);
    assert_eq!(p[0].prompt_times, ["08:30", "20:00"]);
    assert_eq!(p[0].weekly_hours_target, Some(9));
}

#[test]
fn a_session_view_reads_schedule_rsvp_and_attendance() {
    let mut r = Replica::new();
    let s = |f: &str, v: Value, wall, seq| op_at(DocKind::Session, 7, f, v, wall, seq);
    r.apply(s("kind", json!("group"), 1, 1)).unwrap();
    r.apply(s("starts_at", json!(1_720_000_000_000_i64), 2, 2))
        .unwrap();
    r.apply(s("rsvp", json!("yes"), 3, 3)).unwrap();
    r.apply(s("rsvp_note", json!("running late"), 4, 4))
        .unwrap();
    r.apply(s("attendance", json!("late"), 5, 5)).unwrap();
    let got: Vec<Session> = r.sessions();
    assert_eq!(got[0].kind.as_deref(), Some("group"));
    assert_eq!(got[0].starts_at, Some(1_720_000_000_000));
    assert_eq!(got[0].rsvp.as_deref(), Some("yes"));
    assert_eq!(
        got[0].rsvp_note.as_ref().map(|t| t.as_str()),
        Some("running late")
    );
    assert_eq!(format!("{:?}", got[0].rsvp_note), "Some([redacted])");
    assert_eq!(got[0].attendance.as_deref(), Some("late"));
}
