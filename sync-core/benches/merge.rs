//! Throughput of sync-core against two CRDT peers on the same workload, in the same run.
//!
//! Workload (a): 100,000 field ops from 3 devices across 1,000 check-in documents of 10
//! patients (ints, booleans, set elements, a short note, a timestamp), HLCs interleaved as if the
//! devices wrote concurrently. sync-core applies them through `Replica::apply`, which validates
//! every op against its schema; the peers validate nothing.
//! - automerge 0.6: one `AutoCommit` document, one map object per document (created on first
//!   write), `put` per op and `commit` per op, because in Tether every op is a separately
//!   syncable, acknowledgeable change. A batched variant (one commit per 1,000 ops) is printed
//!   too, as automerge's best case.
//!   And the receiving side, which is what `Replica::apply` does: 3 device documents forked from
//!   a common base write one change per op, and a receiver applies those changes in op order
//!   (`apply_changes`); building the changes is setup, only the receiver is timed.
//! - crdts 7: a `Map<(doc, field), MVReg<Value>>` with one actor per device, `update` + `apply`
//!   per op.
//!
//! (b) merge two replicas that each made 50,000 divergent changes; (c) compute the delta for a
//! replica 1,000 changes behind, and apply it.
//!
//! Besides criterion's report, a summary block measured with `Instant` prints ops/s and ratios.
//! With `--test` (criterion's smoke mode) the summary runs on a small workload.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ScalarValue, ROOT};
use criterion::{BatchSize, Criterion};
use serde_json::{json, Value};
use sync_core::hlc::Hlc;
use sync_core::op::{op_id, DocKind, Op};
use sync_core::replica::Replica;
use sync_core::schema::TRIGGERS;
use uuid::Uuid;

const DEVICES: u64 = 3;
const DOCS: u64 = 1_000;
const PATIENTS: u64 = 10;
const BASE_MS: u64 = 1_720_000_000_000;

fn splitmix(s: &mut u64) -> u64 {
    *s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `n` ops from 3 devices across 1,000 documents. `seed` makes divergent workloads.
fn workload(n: usize, seed: u64) -> Vec<Op> {
    let mut s = seed;
    (0..n as u64)
        .map(|i| {
            let r = splitmix(&mut s);
            let device = i % DEVICES;
            let doc = r % DOCS;
            let patient = doc % PATIENTS;
            // Devices run a few ms apart; each issues ~1 op per 3 ms of its own clock.
            let hlc = Hlc::new(BASE_MS + i / DEVICES + device * 2, 0, seed << 8 | device).unwrap();
            let (field, value): (String, Value) = match (r >> 16) % 7 {
                0 => ("intensity".into(), json!((r >> 24) % 11)),
                1 => ("mood".into(), json!(1 + (r >> 24) % 5)),
                2 => (
                    format!("triggers/{}", TRIGGERS.builtin[((r >> 24) % 13) as usize]),
                    json!((r >> 32) % 2 == 0),
                ),
                3 => ("crisis".into(), json!((r >> 24) % 50 == 0)),
                4 => ("note".into(), json!("craving after work, walked it off")),
                5 => (
                    "recorded_at".into(),
                    json!(BASE_MS as i64 + ((r >> 24) % 86_400_000) as i64),
                ),
                _ => ("substance".into(), json!("alcohol")),
            };
            let rnd: [u8; 10] = {
                let a = splitmix(&mut s).to_le_bytes();
                [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], 0, 1]
            };
            Op {
                id: op_id(&hlc, &rnd),
                patient: Uuid::from_u128(0x1000 + u128::from(patient)),
                kind: DocKind::Checkin,
                doc: Uuid::from_u128(0x2000 + u128::from(doc)),
                field,
                value,
                hlc,
                device_seq: i / DEVICES + 1,
            }
        })
        .collect()
}

fn sync_core_apply(ops: Vec<Op>) -> Replica {
    let mut r = Replica::new();
    for op in ops {
        black_box(r.apply(op).unwrap());
    }
    r
}

fn scalar(v: &Value) -> ScalarValue {
    match v {
        Value::Bool(b) => ScalarValue::from(*b),
        Value::Number(n) => ScalarValue::from(n.as_i64().unwrap_or_default()),
        Value::String(s) => ScalarValue::from(s.as_str()),
        _ => ScalarValue::Null,
    }
}

/// automerge: a map object per document, `put` per op, `commit` every `commit_every` ops.
fn automerge_apply(ops: Vec<Op>, commit_every: usize) -> AutoCommit {
    let mut doc = AutoCommit::new();
    let mut objs = std::collections::HashMap::new();
    for (i, op) in ops.into_iter().enumerate() {
        let obj = objs
            .entry(op.doc)
            .or_insert_with(|| {
                doc.put_object(ROOT, op.doc.to_string(), ObjType::Map)
                    .unwrap()
            })
            .clone();
        doc.put(&obj, op.field.as_str(), scalar(&op.value)).unwrap();
        if (i + 1) % commit_every == 0 {
            doc.commit();
        }
    }
    doc.commit();
    doc
}

/// automerge, receiving side: 3 device documents forked from a base that already holds the
/// 1,000 document maps write one change (commit) per op; the timed part is a receiver (a clone of
/// the base) applying those changes in op order, as a server or a phone ingests ops from 3
/// devices. Building the changes is setup, not timed.
struct AutomergeInbox {
    receiver: automerge::Automerge,
    changes: Vec<automerge::Change>,
}

fn automerge_inbox(ops: &[Op]) -> AutomergeInbox {
    let mut base = AutoCommit::new();
    let mut objs = std::collections::HashMap::new();
    for op in ops {
        objs.entry(op.doc).or_insert_with(|| {
            base.put_object(ROOT, op.doc.to_string(), ObjType::Map)
                .unwrap()
        });
    }
    base.commit();
    let receiver = automerge::Automerge::load(&base.save()).unwrap();
    let mut devices: Vec<AutoCommit> = (0..DEVICES).map(|_| base.fork()).collect();
    let changes = ops
        .iter()
        .map(|op| {
            let dev = &mut devices[(op.hlc.node() & 0xff) as usize];
            dev.put(&objs[&op.doc], op.field.as_str(), scalar(&op.value))
                .unwrap();
            dev.commit();
            dev.get_last_local_change().unwrap().clone()
        })
        .collect();
    AutomergeInbox { receiver, changes }
}

fn automerge_receive(inbox: AutomergeInbox) -> automerge::Automerge {
    let AutomergeInbox {
        mut receiver,
        changes,
    } = inbox;
    for ch in changes {
        receiver.apply_changes([ch]).unwrap();
    }
    receiver
}

type CrdtsMap = crdts::Map<(Uuid, String), crdts::MVReg<Value, u64>, u64>;

/// crdts: a `Map` of `MVReg`, one actor per device.
fn crdts_apply(ops: Vec<Op>) -> CrdtsMap {
    use crdts::CmRDT;
    let mut map = CrdtsMap::new();
    for op in ops {
        let actor = op.hlc.node();
        let ctx = map.read_ctx().derive_add_ctx(actor);
        let value = op.value;
        let up = map.update((op.doc, op.field), ctx, |reg, ctx| reg.write(value, ctx));
        map.apply(up);
    }
    map
}

/// Best-of-`iters` wall time of `f` on fresh copies of `ops` (copies made outside the timing).
fn time<R>(ops: &[Op], iters: usize, f: impl Fn(Vec<Op>) -> R) -> Duration {
    (0..iters)
        .map(|_| {
            let input = ops.to_vec();
            let t = Instant::now();
            black_box(f(input));
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn summary(smoke: bool) {
    let n = if smoke { 3_000 } else { 100_000 };
    let ops = workload(n, 1);
    let iters = if smoke { 1 } else { 7 };

    let sc = rate(n, time(&ops, iters, sync_core_apply));
    let cr = rate(n, time(&ops, if smoke { 1 } else { 3 }, crdts_apply));
    let am = rate(n, time(&ops, 1, |o| automerge_apply(o, 1)));
    let am_batched = rate(n, time(&ops, 1, |o| automerge_apply(o, 1_000)));
    let am_receive = {
        let inbox = automerge_inbox(&ops);
        let t = Instant::now();
        black_box(automerge_receive(inbox));
        rate(n, t.elapsed())
    };

    // (b) merge two replicas with 50,000 divergent changes each.
    let half = n / 2;
    let a = sync_core_apply(workload(half, 2));
    let b = sync_core_apply(workload(half, 3));
    let merge = (0..iters)
        .map(|_| {
            let mut m = a.clone();
            let t = Instant::now();
            black_box(m.merge(&b));
            t.elapsed()
        })
        .min()
        .unwrap_or_default();

    // (c) a replica 1,000 changes behind.
    let (full, behind, since) = behind_by(&ops, 1_000.min(n / 10));
    let delta_len = full.changes_since(since).len();
    let delta = (0..iters.max(3) * 10)
        .map(|_| {
            let t = Instant::now();
            black_box(full.changes_since(since));
            t.elapsed()
        })
        .min()
        .unwrap_or_default();
    let catch_up = (0..iters.max(3) * 10)
        .map(|_| {
            let mut r = behind.clone();
            let d = full.changes_since(since);
            let t = Instant::now();
            black_box(r.apply_delta(d).unwrap());
            t.elapsed()
        })
        .min()
        .unwrap_or_default();

    println!();
    println!("==== sync-core summary ({n} ops, 3 devices, {DOCS} documents; best of runs) ====");
    println!("sync-core apply (with validation): {sc:>12.0} ops/s");
    println!("crdts 7 Map<MVReg> apply:          {cr:>12.0} ops/s");
    println!("automerge 0.6 (commit per op):     {am:>12.0} ops/s");
    println!("automerge 0.6 (commit per 1000):   {am_batched:>12.0} ops/s");
    println!("automerge 0.6 (receive 3 devices): {am_receive:>12.0} ops/s");
    println!(
        "ratio sync-core / automerge local, commit per op: {:>7.1}x",
        sc / am
    );
    println!(
        "ratio sync-core / automerge local, batched:       {:>7.1}x",
        sc / am_batched
    );
    println!(
        "ratio sync-core / automerge receiving:            {:>7.1}x",
        sc / am_receive
    );
    println!(
        "ratio sync-core / crdts:                          {:>7.1}x",
        sc / cr
    );
    println!(
        "merge 2 x {half} divergent changes:  {:>12.3} ms ({:.0} fields/s)",
        merge.as_secs_f64() * 1e3,
        rate(b.len(), merge)
    );
    println!(
        "delta, replica {} changes behind: {:>12.1} µs to compute ({delta_len} field states), {:.1} µs to apply",
        1_000.min(n / 10),
        delta.as_secs_f64() * 1e6,
        catch_up.as_secs_f64() * 1e6
    );
    println!("==== end summary ====");
    println!();
}

/// The full replica, a copy that is `k` ops behind it, and the version the copy is at.
fn behind_by(ops: &[Op], k: usize) -> (Replica, Replica, u64) {
    let mut r = Replica::new();
    let (head, tail) = ops.split_at(ops.len() - k);
    for op in head {
        r.apply(op.clone()).unwrap();
    }
    let behind = r.clone();
    let since = r.version();
    for op in tail {
        r.apply(op.clone()).unwrap();
    }
    (r, behind, since)
}

fn benches(c: &mut Criterion) {
    let ops = workload(100_000, 1);
    let mut g = c.benchmark_group("apply_100k_ops");
    g.sample_size(20);
    g.throughput(criterion::Throughput::Elements(ops.len() as u64));
    g.bench_function("sync_core", |bch| {
        bch.iter_batched(|| ops.clone(), sync_core_apply, BatchSize::PerIteration)
    });
    g.bench_function("crdts_map_mvreg", |bch| {
        bch.iter_batched(|| ops.clone(), crdts_apply, BatchSize::PerIteration)
    });
    g.finish();

    // automerge is ~100x slower: a 10,000-op slice keeps the run short; the rate is per op.
    let slice = &ops[..10_000];
    let mut g = c.benchmark_group("apply_10k_ops");
    g.sample_size(10);
    g.throughput(criterion::Throughput::Elements(slice.len() as u64));
    g.bench_function("automerge_commit_per_op", |bch| {
        bch.iter_batched(
            || slice.to_vec(),
            |o| automerge_apply(o, 1),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("automerge_receive_from_3_devices", |bch| {
        bch.iter_batched(
            || automerge_inbox(slice),
            automerge_receive,
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let a = sync_core_apply(workload(50_000, 2));
    let b = sync_core_apply(workload(50_000, 3));
    c.bench_function("merge_2x50k_divergent", |bch| {
        bch.iter_batched(
            || a.clone(),
            |mut m| {
                black_box(m.merge(&b));
                m // dropped outside the timing
            },
            BatchSize::PerIteration,
        )
    });

    let (full, behind, since) = behind_by(&ops, 1_000);
    c.bench_function("delta_1000_behind_compute", |bch| {
        bch.iter(|| black_box(full.changes_since(since)))
    });
    c.bench_function("delta_1000_behind_compute_and_apply", |bch| {
        bch.iter_batched(
            || behind.clone(),
            |mut r| {
                black_box(r.apply_delta(full.changes_since(since)).unwrap());
                r // dropped outside the timing
            },
            BatchSize::LargeInput,
        )
    });
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--test" || a == "--list");
    summary(smoke);
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
