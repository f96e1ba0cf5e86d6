//! Push: judge each op of a batch on its own, then store and merge the accepted ones in one
//! transaction. Acknowledged means committed.
//!
//! Judging, in order: the op decodes (`malformed_op`, `unknown_kind`), fits its schema
//! (sync-core), is not stamped too far in the future (`clock_too_far_ahead`, the phone re-stamps
//! and re-sends), and its author may write it (sync-core's policy, with the caller's standing
//! from [`crate::access`]). Inside the transaction: an op id already logged with the same
//! content is a duplicate; with other content it is `op_id_conflict`; a device sequence number
//! already used by another op is `device_seq_reused`.

use crate::access::{self, Standing};
use crate::auth::AuthUser;
use crate::crisis::CrisisSigns;
use crate::db::{self, DbConnection};
use crate::domain::Role;
use crate::error::ApiError;
use crate::repo::sync_store::{self, FieldRow, OpRow};
use crate::sync::read_model::{self, Refresh};
use crate::sync::receipts::{self, Receipt};
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use sync_core::{
    check_drift, may_write, validate, Author, DocKey, DocKind, Op, RejectCode, Rejection,
};
use uuid::Uuid;

/// An op the server refused, and why.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedOp {
    /// Position of the op in the pushed batch.
    pub index: usize,
    /// The op's id, when it could be read.
    pub id: Option<Uuid>,
    /// Stable machine-readable code.
    pub code: String,
    /// What is wrong, for a person; never quotes the value.
    pub message: String,
}

/// The answer to a push.
#[derive(Debug, Clone, Serialize)]
pub struct PushOutcome {
    /// Ops stored by this push.
    pub accepted: Vec<Uuid>,
    /// Ops the server already held (a retried batch).
    pub duplicates: Vec<Uuid>,
    /// Ops refused, each with its code.
    pub rejected: Vec<RejectedOp>,
    /// What the server holds of this device's ops.
    pub receipt: Receipt,
    /// The check-ins the push holds ops of, for the crisis check; not part of the answer.
    #[serde(skip)]
    pub checkins: TakenCheckins,
}

/// The check-ins a push holds ops of (accepted now, or before for a retried batch): those whose
/// read-model row the merge just rewrote, as rewritten, and the rest by key, to be read back.
#[derive(Debug, Clone, Default)]
pub struct TakenCheckins {
    /// Rows the merge rewrote: what each now says about a crisis.
    pub rewritten: Vec<CrisisSigns>,
    /// Patient → check-ins left as they were (a retried batch, or an edit older than the
    /// stored value), as text ids.
    pub unchanged: BTreeMap<String, Vec<String>>,
}

impl TakenCheckins {
    fn new(taken: BTreeSet<(Uuid, Uuid)>, rewritten: Vec<(DocKey, CrisisSigns)>) -> Self {
        let done: HashSet<(Uuid, Uuid)> =
            rewritten.iter().map(|(k, _)| (k.patient, k.doc)).collect();
        let mut unchanged: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (patient, doc) in taken.into_iter().filter(|key| !done.contains(key)) {
            unchanged
                .entry(patient.to_string())
                .or_default()
                .push(doc.to_string());
        }
        TakenCheckins {
            rewritten: rewritten.into_iter().map(|(_, signs)| signs).collect(),
            unchanged,
        }
    }
}

/// Limits on a push.
#[derive(Debug, Clone, Copy)]
pub struct PushLimits {
    /// How far ahead of server time an op's HLC may be.
    pub max_clock_ahead_ms: u64,
}

fn sync_role(role: Role) -> sync_core::Role {
    match role {
        Role::Admin => sync_core::Role::Admin,
        Role::Counselor => sync_core::Role::Counselor,
        Role::Patient => sync_core::Role::Patient,
    }
}

fn reject(index: usize, id: Option<Uuid>, r: &Rejection) -> RejectedOp {
    RejectedOp {
        index,
        id,
        code: r.code.as_str().to_string(),
        message: r.message.clone(),
    }
}

fn reject_code(index: usize, id: Uuid, code: &str, message: &str) -> RejectedOp {
    RejectedOp {
        index,
        id: Some(id),
        code: code.to_string(),
        message: message.to_string(),
    }
}

/// An op that passed every check that needs no lock, with the field-state row it becomes if it
/// wins. Its log row is kept apart, at the same position, so the rows go to the insert as they
/// are.
struct Candidate {
    index: usize,
    op: Op,
    field: FieldRow,
}

fn op_row(op: &Op, caller: &AuthUser, now_ms: i64) -> Result<OpRow, Rejection> {
    let device_seq = i64::try_from(op.device_seq)
        .map_err(|_| Rejection::new(RejectCode::InvalidDeviceSeq, "device_seq is too large"))?;
    Ok(OpRow {
        id: op.id.to_string(),
        patient_id: op.patient.to_string(),
        kind: op.kind.as_str().to_string(),
        doc_id: op.doc.to_string(),
        field: op.field.clone(),
        value: op.value.to_string(),
        hlc: op.hlc.to_string(),
        device_seq,
        author_id: caller.user_id.to_string(),
        device_id: caller.device_id.to_string(),
        received_at: now_ms,
    })
}

/// The field-state row `row` becomes if it wins (its stream number is set when it does).
fn field_row(row: &OpRow) -> FieldRow {
    FieldRow {
        patient_id: row.patient_id.clone(),
        kind: row.kind.clone(),
        doc_id: row.doc_id.clone(),
        field: row.field.clone(),
        value: row.value.clone(),
        hlc: row.hlc.clone(),
        op_id: row.id.clone(),
        device_id: row.device_id.clone(),
        seq: 0,
    }
}

/// Whether a logged op is the same op as `row` (everything but who sent it and when).
fn same_op(logged: &OpRow, row: &OpRow) -> bool {
    let same_value = serde_json::from_str::<Value>(&logged.value).ok()
        == serde_json::from_str::<Value>(&row.value).ok();
    logged.patient_id == row.patient_id
        && logged.kind == row.kind
        && logged.doc_id == row.doc_id
        && logged.field == row.field
        && logged.hlc == row.hlc
        && logged.device_seq == row.device_seq
        && same_value
}

/// Runs a push: every check that needs no database first, outside the write transaction (on
/// SQLite writers queue for one lock, so work done before taking it runs in parallel with other
/// pushes), then the rest inside it (on SQLite a transaction shared with the pushes queued at
/// the same moment, each in a savepoint of its own: see [`db::group_commit`]).
pub fn push(
    conn: &mut DbConnection,
    caller: &AuthUser,
    raw_ops: Vec<Value>,
    limits: PushLimits,
    now_ms: i64,
) -> Result<PushOutcome, ApiError> {
    let decoded = decode_all(caller, raw_ops, limits, now_ms);
    let caller = *caller;
    db::group_commit::write(conn, move |conn| store(conn, &caller, decoded, now_ms))
}

/// An op after the checks that need no database, or why it was refused.
enum Decoded {
    /// Fits its schema and the clock bound; the write policy is still to be asked. Its log row
    /// and the field-state row it would become are built here, outside the write lock.
    Valid(Box<(Op, OpRow, FieldRow)>),
    /// Refused; `seq` is its device sequence number when it counts towards the receipt.
    Refused {
        rejection: RejectedOp,
        seq: Option<i64>,
    },
}

/// Decodes and checks each op on its own: schema, clock bound and the row the log would hold.
fn decode_all(
    caller: &AuthUser,
    raw_ops: Vec<Value>,
    limits: PushLimits,
    now_ms: i64,
) -> Vec<Decoded> {
    let now_u64 = u64::try_from(now_ms).unwrap_or(0);
    raw_ops
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let op = match Op::from_json(raw) {
                Ok(op) => op,
                Err(r) => {
                    return Decoded::Refused {
                        rejection: reject(index, None, &r),
                        seq: None,
                    }
                }
            };
            let verdict = validate(&op)
                .and_then(|()| {
                    check_drift(op.hlc, now_u64, limits.max_clock_ahead_ms).map_err(Rejection::from)
                })
                .and_then(|()| op_row(&op, caller, now_ms));
            match verdict {
                Ok(row) => {
                    let field = field_row(&row);
                    Decoded::Valid(Box::new((op, row, field)))
                }
                Err(r) => Decoded::Refused {
                    rejection: reject(index, Some(op.id), &r),
                    // A clock too far ahead is not judged for good: the phone re-stamps.
                    seq: if r.code == RejectCode::ClockTooFarAhead {
                        None
                    } else {
                        i64::try_from(op.device_seq).ok()
                    },
                },
            }
        })
        .collect()
}

/// Asks the write policy with the caller's standing, then appends and merges, inside the write
/// transaction (standing is read there, so a consent revoked a moment ago is seen).
fn store(
    conn: &mut DbConnection,
    caller: &AuthUser,
    decoded: Vec<Decoded>,
    now_ms: i64,
) -> Result<PushOutcome, ApiError> {
    let author = Author {
        user: caller.user_id,
        role: sync_role(caller.role),
    };
    let mut rejected = Vec::new();
    let mut duplicates = Vec::new();
    // Sequence numbers the server has judged for good (stored, or refused for a reason that a
    // retry will not change): they count towards the device's receipt.
    let mut judged_seqs = Vec::new();
    let mut standings: HashMap<Uuid, Standing> = HashMap::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut rows: Vec<OpRow> = Vec::new();
    // Check-ins this push holds ops of that its merge may not rewrite (ops stored before), for
    // the crisis check.
    let mut taken_checkins: BTreeSet<(Uuid, Uuid)> = BTreeSet::new();
    let mut in_batch: HashMap<Uuid, usize> = HashMap::new();

    for (index, decoded) in decoded.into_iter().enumerate() {
        let (op, row, field) = match decoded {
            Decoded::Valid(valid) => *valid,
            Decoded::Refused { rejection, seq } => {
                judged_seqs.extend(seq);
                rejected.push(rejection);
                continue;
            }
        };
        let standing = match standings.get(&op.patient) {
            Some(s) => *s,
            None => {
                let s = access::standing(conn, caller, op.patient)?;
                standings.insert(op.patient, s);
                s
            }
        };
        if let Err(r) = may_write(&author, standing.relation(), &op) {
            judged_seqs.push(row.device_seq);
            rejected.push(reject(index, Some(op.id), &r));
            continue;
        }
        if let Some(&earlier) = in_batch.get(&op.id) {
            if same_op(&rows[earlier], &row) {
                note_checkin(&mut taken_checkins, &op);
                duplicates.push(op.id);
            } else {
                // Refused for good: its sequence number must not hold the receipt back.
                judged_seqs.push(row.device_seq);
                rejected.push(reject_code(
                    index,
                    op.id,
                    "op_id_conflict",
                    "another op in this batch has the same id and different content",
                ));
            }
            continue;
        }
        in_batch.insert(op.id, candidates.len());
        candidates.push(Candidate { index, op, field });
        rows.push(row);
    }

    // Append every candidate whose id and device sequence number are both new; the unique keys
    // of the log decide, so a batch that is all new (the common case) needs no lookup. Those
    // left out are duplicates, `op_id_conflict`s or `device_seq_reused`: only they are read.
    let stored = sync_store::insert_new_ops(conn, &rows)?;
    let was_stored = |id: &String| stored.as_ref().is_none_or(|s| s.contains(id));
    let skipped: Vec<String> = rows
        .iter()
        .filter(|r| !was_stored(&r.id))
        .map(|r| r.id.clone())
        .collect();
    // Ops left out by the insert that the log already held under their id; those it did not
    // hold were left out for their device sequence number.
    let logged: HashMap<String, OpRow> = if skipped.is_empty() {
        HashMap::new()
    } else {
        sync_store::find_ops(conn, &skipped)?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect()
    };
    let device = caller.device_id.to_string();

    let mut fresh: Vec<Candidate> = Vec::with_capacity(rows.len());
    for (c, row) in candidates.into_iter().zip(rows) {
        if was_stored(&row.id) {
            judged_seqs.push(row.device_seq);
            fresh.push(c);
            continue;
        }
        if let Some(existing) = logged.get(&row.id) {
            if same_op(existing, &row) {
                judged_seqs.push(row.device_seq);
                note_checkin(&mut taken_checkins, &c.op);
                duplicates.push(c.op.id);
            } else {
                // Refused for good: its sequence number must not hold the receipt back.
                judged_seqs.push(row.device_seq);
                rejected.push(reject_code(
                    c.index,
                    c.op.id,
                    "op_id_conflict",
                    "an op with this id and different content is already stored; op ids are never reused",
                ));
            }
            continue;
        }
        rejected.push(reject_code(
            c.index,
            c.op.id,
            "device_seq_reused",
            "this device already sent a different op with this device_seq; a device's sequence never goes back (sign in again to register a new device)",
        ));
    }

    let (rewritten, lost) = merge(conn, &mut fresh, now_ms)?;
    taken_checkins.extend(lost);
    let checkins = TakenCheckins::new(taken_checkins, rewritten);

    let before = sync_store::load_receipt(conn, &device)?;
    let next = receipts::advance(before.0, &before.1, judged_seqs);
    sync_store::save_receipt(
        conn,
        &device,
        (before.0, &before.1),
        next.high_water,
        &next.pending,
    )?;
    rejected.sort_by_key(|r| r.index);
    Ok(PushOutcome {
        accepted: fresh.iter().map(|c| c.op.id).collect(),
        duplicates,
        rejected,
        receipt: Receipt {
            device_id: caller.device_id,
            high_water: next.high_water,
            gaps: receipts::gaps(next.high_water, &next.pending),
        },
        checkins,
    })
}

/// Remembers a check-in the push holds an op of.
fn note_checkin(taken: &mut BTreeSet<(Uuid, Uuid)>, op: &Op) {
    if op.kind == DocKind::Checkin {
        taken.insert((op.patient, op.doc));
    }
}

/// One field's winner while merging: the stored one, or an op of this push.
struct Winner<'a> {
    value: Cow<'a, Value>,
    hlc: sync_core::Hlc,
    op: Uuid,
    /// Set when an op of this push won (its position among the fresh ops): the stored state
    /// changes.
    fresh: Option<usize>,
    /// Whether the field has a stored row (before this push), which a new winner replaces.
    stored: bool,
}

/// Merges freshly logged ops into field state and refreshes the read models of every document
/// they touched. Per patient: lock the stream, read the documents' fields, pick LWW winners with
/// sync-core's order, write the changed fields with new stream numbers. Returns what each
/// rewritten check-in now says about a crisis, and the check-ins of ops that lost to a stored
/// value (their read-model rows stay as they were).
fn merge(
    conn: &mut DbConnection,
    fresh: &mut [Candidate],
    now_ms: i64,
) -> Result<MergedCheckins, ApiError> {
    let mut by_patient: BTreeMap<Uuid, Vec<usize>> = BTreeMap::new();
    for (i, c) in fresh.iter().enumerate() {
        by_patient.entry(c.op.patient).or_default().push(i);
    }
    // The field rows leave the candidates (built outside the write lock) for the winners.
    let mut field_rows: Vec<Option<FieldRow>> = fresh
        .iter_mut()
        .map(|c| Some(std::mem::take(&mut c.field)))
        .collect();
    let fresh: &[Candidate] = fresh;
    let mut signs = Vec::new();
    let mut lost = Vec::new();
    for (patient, ops) in by_patient {
        let patient_id = patient.to_string();
        let count = i64::try_from(ops.len()).unwrap_or(i64::MAX);
        let mut next_seq = sync_store::reserve_stream(conn, &patient_id, count)?;

        let docs: Vec<(String, String)> = ops
            .iter()
            .filter_map(|&i| field_rows[i].as_ref())
            .map(|f| (f.kind.clone(), f.doc_id.clone()))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let stored = sync_store::fields_of_docs(conn, &patient_id, &docs)?;
        // Documents with stored fields have a read-model row to replace; the others get a new one.
        let mut existed: HashSet<(DocKind, Uuid)> = HashSet::new();
        let mut state: BTreeMap<(DocKind, Uuid), BTreeMap<&str, Winner>> = BTreeMap::new();
        for row in &stored {
            let kind = DocKind::parse(&row.kind)
                .map_err(|_| ApiError::internal("corrupt kind in field_state"))?;
            let doc =
                Uuid::parse_str(&row.doc_id).map_err(|_| ApiError::internal("corrupt doc id"))?;
            let winner = Winner {
                value: Cow::Owned(
                    serde_json::from_str(&row.value)
                        .map_err(|_| ApiError::internal("corrupt value in field_state"))?,
                ),
                hlc: row
                    .hlc
                    .parse()
                    .map_err(|_| ApiError::internal("corrupt hlc in field_state"))?,
                op: Uuid::parse_str(&row.op_id).map_err(|_| ApiError::internal("corrupt op id"))?,
                fresh: None,
                stored: true,
            };
            existed.insert((kind, doc));
            state
                .entry((kind, doc))
                .or_default()
                .insert(row.field.as_str(), winner);
        }

        let mut touched: HashSet<(DocKind, Uuid)> = HashSet::new();
        for &i in &ops {
            let op = &fresh[i].op;
            let fields = state.entry((op.kind, op.doc)).or_default();
            let (wins, stored) = match fields.get(op.field.as_str()) {
                Some(current) => (
                    sync_core::wins(op.stamp(), (&current.hlc, &current.op)),
                    current.stored,
                ),
                None => (true, false),
            };
            if wins {
                fields.insert(
                    op.field.as_str(),
                    Winner {
                        value: Cow::Borrowed(&op.value),
                        hlc: op.hlc,
                        op: op.id,
                        fresh: Some(i),
                        stored,
                    },
                );
                touched.insert((op.kind, op.doc));
            } else if op.kind == DocKind::Checkin {
                lost.push((op.patient, op.doc));
            }
        }

        // New fields and replaced ones are written apart: new ones need no conflict handling.
        let mut new_fields = Vec::new();
        let mut replaced_fields = Vec::new();
        let mut refreshed = Vec::with_capacity(touched.len());
        for (&(kind, doc), fields) in &state {
            if !touched.contains(&(kind, doc)) {
                continue;
            }
            for w in fields.values() {
                let Some(mut row) = w.fresh.and_then(|i| field_rows[i].take()) else {
                    continue;
                };
                row.seq = next_seq;
                next_seq += 1;
                if w.stored {
                    replaced_fields.push(row);
                } else {
                    new_fields.push(row);
                }
            }
            refreshed.push(Refresh {
                key: DocKey { patient, kind, doc },
                fields: fields.iter().map(|(f, w)| (*f, w.value.as_ref())).collect(),
                existed: existed.contains(&(kind, doc)),
            });
        }
        // The stream lock taken above keeps every other push of this patient out until commit,
        // so the fields read are all the stored ones and the new ones are new.
        sync_store::insert_fields(conn, &new_fields)?;
        sync_store::upsert_fields(conn, &replaced_fields)?;
        signs.extend(read_model::refresh_many(conn, &refreshed, now_ms)?);
    }
    Ok((signs, lost))
}

/// What a merge did to check-ins: the rewritten ones with their crisis signs, and those of ops
/// that lost to a stored value.
type MergedCheckins = (Vec<(DocKey, CrisisSigns)>, Vec<(Uuid, Uuid)>);
