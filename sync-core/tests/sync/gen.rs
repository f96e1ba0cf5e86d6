//! Shared generators: small domains so that random ops collide on documents, fields and HLCs.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};
use sync_core::hlc::Hlc;
use sync_core::op::{op_id, DocKind, Op};
use sync_core::replica::Replica;
use uuid::Uuid;

/// At least 1,000 cases per law; `PROPTEST_CASES` overrides (proptest reads it into the default).
pub fn config() -> Config {
    let mut c = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 1000;
    }
    // Persisted failures go into named regression tests instead (see CONVENTIONS).
    c.failure_persistence = None;
    c
}

fn field_value() -> impl Strategy<Value = (DocKind, &'static str, Value)> {
    prop_oneof![
        (0..=10i64).prop_map(|v| (DocKind::Checkin, "intensity", json!(v))),
        (1..=5i64).prop_map(|v| (DocKind::Checkin, "mood", json!(v))),
        prop::sample::select(vec!["a", "b", "c"]).prop_map(|v| (
            DocKind::Checkin,
            "note",
            json!(v)
        )),
        Just((DocKind::Checkin, "note", Value::Null)),
        any::<bool>().prop_map(|v| (DocKind::Checkin, "triggers/stress", json!(v))),
        any::<bool>().prop_map(|v| (DocKind::Checkin, "triggers/lonely", json!(v))),
        any::<bool>().prop_map(|v| (DocKind::Checkin, "_deleted", json!(v))),
        prop::sample::select(vec!["yes", "no", "maybe"]).prop_map(|v| (
            DocKind::Session,
            "rsvp",
            json!(v)
        )),
        any::<bool>().prop_map(|v| (DocKind::Session, "_deleted", json!(v))),
        prop::sample::select(vec!["08:00", "20:30"]).prop_map(|t| (
            DocKind::Plan,
            if t == "08:00" {
                "prompt_times/08:00"
            } else {
                "prompt_times/20:30"
            },
            json!(true)
        )),
    ]
}

/// Random valid ops over 2 patients × 2 docs, with HLCs from a tiny range so ties happen.
/// Op ids carry 80 random bits, so distinct ops never share an id (one id is one op, as on the
/// wire) while equal HLCs are common and the id tie-break is exercised both ways.
pub fn ops(max: usize) -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        (
            0..2u128,
            0..2u128,
            field_value(),
            0..4u64,
            0..3u32,
            0..3u64,
            any::<[u8; 10]>(),
        ),
        0..max,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(
                |(i, (p, d, (kind, field, value), wall, counter, node, rnd))| {
                    let hlc = Hlc::new(wall, counter, node).unwrap();
                    Op {
                        id: op_id(&hlc, &rnd),
                        patient: Uuid::from_u128(0x100 + p),
                        kind,
                        doc: Uuid::from_u128(0x200 + d),
                        field: field.into(),
                        value,
                        hlc,
                        device_seq: i as u64 + 1,
                    }
                },
            )
            .collect()
    })
}

pub fn replica_of(ops: &[Op]) -> Replica {
    let mut r = Replica::new();
    for op in ops {
        r.apply(op.clone()).unwrap();
    }
    r
}

pub fn merged(a: &Replica, b: &Replica) -> Replica {
    let mut m = a.clone();
    m.merge(b);
    m
}
