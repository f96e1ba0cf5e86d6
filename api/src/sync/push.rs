//! Push: judge each op of a batch on its own, then store and merge the accepted ones in one
//! transaction. Acknowledged means committed.
//!
//! Judging, in order: the op decodes (`malformed_op`, `unknown_kind`), fits its schema
//! (sync-core), is not stamped too far in the future (`clock_too_far_ahead`, the phone re-stamps
//! and re-sends), and its author may write it (sync-core's policy, with the caller's standing
//! from [`crate::access`]). Inside the transaction: an op id already logged with the same
//! content is a duplicate; with other content it is `op_id_conflict`; a device sequence number
//! already used by another op is `device_seq_reused`.
//!
//! Receipts count only the caller's own device's ops: the sequence numbers of ops this push
//! stores, of ops refused for good, and of duplicates logged under this device. An identical op
//! (same id and content) re-sent by another device, whatever its `device_seq`, is answered as a
//! duplicate (the server holds it; the phone drops it from its outbox) and credits nothing to the
//! sender: a phone that signed in again as a new device and renumbered its outbox keeps a gap in
//! its receipt where those numbers were, which no re-send fills and which tether-client never
//! acts on (it prunes only up to `high_water`).
//!
//! Values: sync-core's schema refuses what no backend may store faithfully (control characters
//! in text, `control_character`; numbers beyond a field's range), each op on its own, so no
//! value of one op reaches the database and fails its whole batch.

use crate::access::{self, Standing};
use crate::auth::AuthUser;
use crate::crisis::CrisisSigns;
use crate::db::{self, DbConnection};
use crate::domain::Role;
use crate::error::ApiError;
use crate::repo::sync_store::{self, Append, OpRow};
use crate::sync::read_model::{self, Refresh};
use crate::sync::receipts;
use diesel::Connection;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use sync_core::wire::{Receipt, RejectedOp};
use sync_core::{
    check_drift, may_write, validate, Author, DocKey, DocKind, FieldState, Op, RejectCode,
    Rejection,
};
use uuid::Uuid;

/// The verdict on a push: what its answer ([`sync_core::wire::PushResponse`]) says, and what
/// the crisis check needs.
#[derive(Debug, Clone)]
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

/// An op as it arrived, decoded on its own so that one bad op never sinks its batch: the JSON
/// text of a phone's push, or a value built inside the server (schedules, the dashboard, demo
/// data).
pub trait RawOp {
    /// The op, or why it cannot be one (`unknown_kind`, `malformed_op`) with its id when that
    /// much of it is readable.
    fn decode(self) -> Result<Op, (Option<Uuid>, Rejection)>;
}

impl RawOp for Value {
    fn decode(self) -> Result<Op, (Option<Uuid>, Rejection)> {
        let id = Op::id_of(&self);
        Op::from_json(self).map_err(|r| (id, r))
    }
}

/// Decoded straight from the text, without building a JSON tree of it first.
impl RawOp for Box<RawValue> {
    fn decode(self) -> Result<Op, (Option<Uuid>, Rejection)> {
        Op::from_json_str(self.get()).map_err(|r| (Op::id_of_str(self.get()), r))
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

/// Refusals only the server can judge, against what it already stores (sync-core's own codes,
/// [`sync_core::RejectCode`], cover what an op says by itself).
pub mod server_reject {
    /// An op id already stored with different content.
    pub const OP_ID_CONFLICT: &str = "op_id_conflict";
    /// A device sequence number already taken by another op of the device.
    pub const DEVICE_SEQ_REUSED: &str = "device_seq_reused";
}

fn reject_code(index: usize, id: Uuid, code: &str, message: &str) -> RejectedOp {
    RejectedOp {
        index,
        id: Some(id),
        code: code.to_string(),
        message: message.to_string(),
    }
}

/// An op that passed every check that needs no lock. Its log row is kept apart, at the same
/// position, so the rows go to the insert as they are.
struct Candidate {
    index: usize,
    op: Op,
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
        seq: None,
    })
}

/// Whether a logged op is the same op as `row`, sent by `device`: the same change (patient,
/// kind, doc, field, value and HLC), and, when `device` logged it, under the same device
/// sequence number (a device numbers each op once; the same op under a new number of the same
/// device is `op_id_conflict`). Another device's number does not matter: a phone that signed in
/// again as a new device renumbers its unsynced ops, and one the server stored under the old
/// device is still the same op, held, not a conflict.
fn same_op(logged: &OpRow, device: &str, row: &OpRow) -> bool {
    let same_value = serde_json::from_str::<Value>(&logged.value).ok()
        == serde_json::from_str::<Value>(&row.value).ok();
    logged.patient_id == row.patient_id
        && logged.kind == row.kind
        && logged.doc_id == row.doc_id
        && logged.field == row.field
        && logged.hlc == row.hlc
        && (logged.device_id != device || logged.device_seq == row.device_seq)
        && same_value
}

/// Whether a logged op that is the [`same_op`] as `row` counts towards the receipt of `device`:
/// only when that device logged it. A duplicate of another device's op credits nothing: the
/// receipt says what this device's own log holds, so a phone that trusts `high_water` never
/// drops an op it has not had stored.
fn credits(logged: &OpRow, device: &str) -> bool {
    logged.device_id == device
}

/// Runs a push: every check that needs no database first, outside the write transaction (on
/// SQLite writers queue for one lock, so work done before taking it runs in parallel with other
/// pushes), then the rest inside it (on SQLite a transaction shared with the pushes queued at
/// the same moment, each in a savepoint of its own: see [`db::group_commit`]; on PostgreSQL
/// one transaction of its own, run again if the log refuses the batch: see [`push_pg`]).
pub fn push<R: RawOp>(
    conn: &mut DbConnection,
    caller: &AuthUser,
    raw_ops: Vec<R>,
    limits: PushLimits,
    now_ms: i64,
) -> Result<PushOutcome, ApiError> {
    let decoded = decode_all(caller, raw_ops, limits, now_ms);
    let caller = *caller;
    if let DbConnection::Pg(_) = conn {
        return push_pg(conn, &caller, decoded, now_ms);
    }
    db::group_commit::write(conn, move |conn| {
        let judged = judge(conn, &caller, decoded)?;
        stored(store(conn, &caller, judged, now_ms, Tries::Guarded)?)
    })
}

/// The outcome of a [`store`] whose appends were guarded, which never hands its batch back.
fn stored(outcome: Result<PushOutcome, Judged>) -> Result<PushOutcome, ApiError> {
    outcome.map_err(|_| ApiError::internal("a guarded append asked for a new transaction"))
}

/// A push on PostgreSQL: the batch is appended without a savepoint, the common case of a batch
/// that is all new, and only when the log refuses it (an op logged before: a retried batch) is
/// the transaction rolled back and the push run again in a new one, which sorts the logged ops
/// out before it appends. The savepoint and its release were two of a 100-op push's dozen
/// round trips to the database.
fn push_pg(
    conn: &mut DbConnection,
    caller: &AuthUser,
    decoded: Vec<Decoded>,
    now_ms: i64,
) -> Result<PushOutcome, ApiError> {
    let mut refused = None;
    let first = conn.transaction(|conn| {
        let judged = judge(conn, caller, decoded)?;
        store(conn, caller, judged, now_ms, Tries::BareFirst)?.map_err(|judged| {
            refused = Some(judged);
            // Rolls the aborted transaction back; the push goes on below.
            ApiError::internal("the op log refused the batch")
        })
    });
    let Some(judged) = refused else {
        return first;
    };
    conn.transaction(|conn| stored(store(conn, caller, judged, now_ms, Tries::LookupFirst)?))
}

/// An op after the checks that need no database, or why it was refused.
enum Decoded {
    /// Fits its schema and the clock bound; the write policy is still to be asked. Its log row
    /// is built here, outside the write lock.
    Valid(Box<(Op, OpRow)>),
    /// Refused; `seq` is its device sequence number when it counts towards the receipt.
    Refused {
        rejection: RejectedOp,
        seq: Option<i64>,
    },
}

/// Decodes and checks each op on its own: schema, clock bound and the row the log would hold.
fn decode_all<R: RawOp>(
    caller: &AuthUser,
    raw_ops: Vec<R>,
    limits: PushLimits,
    now_ms: i64,
) -> Vec<Decoded> {
    let now_u64 = u64::try_from(now_ms).unwrap_or(0);
    raw_ops
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let op = match raw.decode() {
                Ok(op) => op,
                Err((id, r)) => {
                    return Decoded::Refused {
                        rejection: reject(index, id, &r),
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
                Ok(row) => Decoded::Valid(Box::new((op, row))),
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

/// How a push appends its ops to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tries {
    /// Each append in a savepoint; when the log refuses the batch, the ops it holds are sorted
    /// out and the rest appended again, in the same transaction.
    Guarded,
    /// The first append bare: when the log refuses it, the transaction is spoilt and
    /// [`store`] hands the judged batch back, to be stored again in a new one.
    BareFirst,
    /// The ops the log holds sorted out before the first append; then as `Guarded`.
    LookupFirst,
}

/// A batch after the write policy, inside the write transaction: what is decided, and the ops
/// still to be stored with their log rows (at the same positions).
struct Judged {
    verdicts: Verdicts,
    candidates: Vec<Candidate>,
    rows: Vec<OpRow>,
}

/// Asks the write policy with the caller's standing, inside the write transaction (standing is
/// read there, so a consent revoked a moment ago is seen), and sets repeats within the batch
/// aside.
fn judge(
    conn: &mut DbConnection,
    caller: &AuthUser,
    decoded: Vec<Decoded>,
) -> Result<Judged, ApiError> {
    let author = Author {
        user: caller.user_id,
        role: sync_role(caller.role),
    };
    let mut verdicts = Verdicts::default();
    let mut standings: HashMap<Uuid, Standing> = HashMap::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut rows: Vec<OpRow> = Vec::new();
    let mut in_batch: HashMap<Uuid, usize> = HashMap::new();

    for (index, decoded) in decoded.into_iter().enumerate() {
        let (op, row) = match decoded {
            Decoded::Valid(valid) => *valid,
            Decoded::Refused { rejection, seq } => {
                verdicts.judged_seqs.extend(seq);
                verdicts.rejected.push(rejection);
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
            verdicts.judged_seqs.push(row.device_seq);
            verdicts.rejected.push(reject(index, Some(op.id), &r));
            continue;
        }
        if let Some(&earlier) = in_batch.get(&op.id) {
            if same_op(&rows[earlier], &row.device_id, &row) {
                verdicts.duplicate(&op);
            } else {
                verdicts.conflict(
                    index,
                    &op,
                    &row,
                    "another op in this batch has the same id and different content",
                );
            }
            continue;
        }
        in_batch.insert(op.id, candidates.len());
        candidates.push(Candidate { index, op });
        rows.push(row);
    }
    Ok(Judged {
        verdicts,
        candidates,
        rows,
    })
}

/// Appends and merges a judged batch. `Ok(Err(judged))` only with [`Tries::BareFirst`], when the
/// log refused the bare append: the transaction must be rolled back, and the batch stored again
/// in a new one with [`Tries::LookupFirst`].
fn store(
    conn: &mut DbConnection,
    caller: &AuthUser,
    judged: Judged,
    now_ms: i64,
    tries: Tries,
) -> Result<Result<PushOutcome, Judged>, ApiError> {
    let Judged {
        mut verdicts,
        mut candidates,
        mut rows,
    } = judged;
    // Every patient's stream is locked before anything is written, in patient order as every
    // push takes them (so two pushes cannot deadlock): until commit no other push can change
    // these patients' winners, which are read once here.
    let streams = lock_streams(conn, &candidates)?;
    let device = caller.device_id.to_string();
    if tries == Tries::LookupFirst {
        (candidates, rows) = sort_out_logged(conn, &device, candidates, rows, &mut verdicts)?;
    }
    // Append every candidate, marking the new winners; the log's unique keys decide whether all
    // are new, so a batch that is all new (the common case) needs no lookup. Otherwise the ops already
    // logged under their id (duplicates, `op_id_conflict`) or their device sequence number
    // (`device_seq_reused`) are sorted out and the rest merged again.
    let plan = loop {
        let plan = plan_merge(&streams, &candidates, &mut rows);
        let append = match tries {
            Tries::BareFirst => Append::Bare,
            Tries::Guarded | Tries::LookupFirst => Append::Guarded,
        };
        if sync_store::append_ops(conn, &rows, &plan.superseded, append)? {
            break plan;
        }
        if tries == Tries::BareFirst {
            return Ok(Err(Judged {
                verdicts,
                candidates,
                rows,
            }));
        }
        let before = candidates.len();
        (candidates, rows) = sort_out_logged(conn, &device, candidates, rows, &mut verdicts)?;
        if candidates.len() == before {
            return Err(ApiError::internal(
                "the op log refused a batch although none of its ops is logged",
            ));
        }
    };
    verdicts
        .judged_seqs
        .extend(rows.iter().map(|row| row.device_seq));

    let refreshed: Vec<Refresh> = plan
        .docs
        .iter()
        .map(|touched| touched.refresh(&streams, &candidates))
        .collect();
    let rewritten = read_model::refresh_many(conn, &refreshed, now_ms)?;
    verdicts.taken_checkins.extend(plan.lost);
    let checkins = TakenCheckins::new(verdicts.taken_checkins, rewritten);

    let next = record_receipt(conn, &device, verdicts.judged_seqs)?;
    let mut rejected = verdicts.rejected;
    rejected.sort_by_key(|r| r.index);
    Ok(Ok(PushOutcome {
        accepted: candidates.iter().map(|c| c.op.id).collect(),
        duplicates: verdicts.duplicates,
        rejected,
        receipt: receipts::receipt(caller.device_id, next.high_water, &next.pending),
        checkins,
    }))
}

/// Folds the sequence numbers judged by this push into the device's receipt and saves it. A
/// device that sends its ops in order (every phone, unless a batch went missing) moves its
/// high-water mark from just below the batch to its top in one statement; anything else reads
/// the receipt, advances it and saves it.
fn record_receipt(
    conn: &mut DbConnection,
    device: &str,
    judged: Vec<i64>,
) -> Result<receipts::Advance, ApiError> {
    if let Some((low, high)) = receipts::unbroken_run(&judged) {
        if sync_store::extend_receipt(conn, device, low - 1, high)? {
            return Ok(receipts::Advance {
                high_water: high,
                pending: BTreeSet::new(),
            });
        }
    }
    let before = sync_store::load_receipt(conn, device)?;
    let next = receipts::advance(before.0, &before.1, judged);
    sync_store::save_receipt(
        conn,
        device,
        (before.0, &before.1),
        next.high_water,
        &next.pending,
    )?;
    Ok(next)
}

/// What a push has decided about the ops that are not stored by it.
#[derive(Default)]
struct Verdicts {
    rejected: Vec<RejectedOp>,
    duplicates: Vec<Uuid>,
    /// Sequence numbers the server has judged for good (stored, or refused for a reason that a
    /// retry will not change): they count towards the device's receipt.
    judged_seqs: Vec<i64>,
    /// Check-ins this push holds ops of that its merge may not rewrite (ops stored before), for
    /// the crisis check.
    taken_checkins: BTreeSet<(Uuid, Uuid)>,
}

impl Verdicts {
    /// An op the server holds already (same id, same content). Its sequence number is counted
    /// where the op was logged under this device (see [`credits`]), or is about to be (a repeat
    /// within the batch); never for an op another device sent.
    fn duplicate(&mut self, op: &Op) {
        if op.kind == DocKind::Checkin {
            self.taken_checkins.insert((op.patient, op.doc));
        }
        self.duplicates.push(op.id);
    }

    /// An op whose id is taken by different content: refused for good, so its sequence number
    /// must not hold the receipt back.
    fn conflict(&mut self, index: usize, op: &Op, row: &OpRow, message: &str) {
        self.judged_seqs.push(row.device_seq);
        self.rejected.push(reject_code(
            index,
            op.id,
            server_reject::OP_ID_CONFLICT,
            message,
        ));
    }
}

/// Takes out of the candidates every op the log already holds under its id (a duplicate, or an
/// `op_id_conflict`) or whose device sequence number another op of the device holds, in the log
/// or earlier in this batch (`device_seq_reused`).
fn sort_out_logged(
    conn: &mut DbConnection,
    device: &str,
    candidates: Vec<Candidate>,
    rows: Vec<OpRow>,
    verdicts: &mut Verdicts,
) -> Result<(Vec<Candidate>, Vec<OpRow>), ApiError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let logged: HashMap<String, OpRow> = sync_store::find_ops(conn, &ids)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let seqs: Vec<i64> = rows
        .iter()
        .filter(|r| !logged.contains_key(&r.id))
        .map(|r| r.device_seq)
        .collect();
    let mut seqs_taken = sync_store::logged_device_seqs(conn, device, &seqs)?;
    let mut kept = (Vec::new(), Vec::new());
    for (c, row) in candidates.into_iter().zip(rows) {
        if let Some(existing) = logged.get(&row.id) {
            if same_op(existing, device, &row) {
                if credits(existing, device) {
                    verdicts.judged_seqs.push(row.device_seq);
                }
                verdicts.duplicate(&c.op);
            } else {
                verdicts.conflict(
                    c.index,
                    &c.op,
                    &row,
                    "an op with this id and different content is already stored; op ids are never reused",
                );
            }
        } else if !seqs_taken.insert(row.device_seq) {
            verdicts.rejected.push(reject_code(
                c.index,
                c.op.id,
                server_reject::DEVICE_SEQ_REUSED,
                "this device already sent a different op with this device_seq; a device's sequence never goes back (sign in again to register a new device)",
            ));
        } else {
            kept.0.push(c);
            kept.1.push(row);
        }
    }
    Ok(kept)
}

/// A patient's locked stream: the first of the stream numbers reserved for this push, and the
/// stored winners of every field of the documents the push touches.
struct Stream {
    first_seq: i64,
    docs: HashMap<(DocKind, Uuid), BTreeMap<String, FieldState>>,
}

/// Locks the stream of every patient the candidates write to (reserving a stream number for
/// each candidate; unused ones leave harmless holes) and reads the stored winners of their
/// documents.
fn lock_streams(
    conn: &mut DbConnection,
    candidates: &[Candidate],
) -> Result<BTreeMap<Uuid, Stream>, ApiError> {
    let mut docs_of: BTreeMap<Uuid, (i64, HashSet<(DocKind, Uuid)>)> = BTreeMap::new();
    for c in candidates {
        let (count, docs) = docs_of.entry(c.op.patient).or_default();
        *count += 1;
        docs.insert((c.op.kind, c.op.doc));
    }
    let mut streams = BTreeMap::new();
    for (patient, (count, docs)) in docs_of {
        let patient_id = patient.to_string();
        let first_seq = sync_store::reserve_stream(conn, &patient_id, count)?;
        let keys: Vec<(String, String)> = docs
            .iter()
            .map(|(kind, doc)| (kind.as_str().to_string(), doc.to_string()))
            .collect();
        let mut stored: HashMap<(DocKind, Uuid), BTreeMap<String, FieldState>> = HashMap::new();
        for row in sync_store::fields_of_docs(conn, &patient_id, &keys)? {
            let winner = row.into_state()?;
            stored
                .entry((winner.kind, winner.doc))
                .or_default()
                .insert(winner.field.clone(), winner);
        }
        streams.insert(
            patient,
            Stream {
                first_seq,
                docs: stored,
            },
        );
    }
    Ok(streams)
}

/// A field's winner so far among the candidates.
struct Won {
    /// The candidate's position.
    at: usize,
    /// The stored winner it displaced, whose mark comes off.
    displaced: Option<Uuid>,
}

/// A document some candidate won a field of.
struct Touched {
    key: DocKey,
    /// Field → the candidate that won it.
    won: BTreeMap<String, usize>,
}

impl Touched {
    /// The document's merged fields: the stored ones, with those won here in their place.
    fn refresh<'a>(
        &self,
        streams: &'a BTreeMap<Uuid, Stream>,
        candidates: &'a [Candidate],
    ) -> Refresh<'a> {
        let stored = streams
            .get(&self.key.patient)
            .and_then(|s| s.docs.get(&(self.key.kind, self.key.doc)));
        let mut fields: BTreeMap<&'a str, &'a Value> = stored
            .into_iter()
            .flatten()
            .map(|(field, w)| (field.as_str(), &w.value))
            .collect();
        for &at in self.won.values() {
            let op = &candidates[at].op;
            fields.insert(op.field.as_str(), &op.value);
        }
        Refresh {
            key: self.key,
            fields: fields.into_iter().collect(),
            existed: stored.is_some(),
        }
    }
}

/// What appending the candidates changes.
struct Plan {
    /// Documents with a field won here, in stream order.
    docs: Vec<Touched>,
    /// Stored winners that lost their field to a candidate.
    superseded: Vec<String>,
    /// Check-ins of candidates that lost to a newer value (their read-model rows stay as they
    /// were, unless another field of theirs changed).
    lost: Vec<(Uuid, Uuid)>,
}

/// Picks each field's winner with sync-core's order among its stored winner and the
/// candidates, and gives every new winner's log row the next stream number of its patient (in
/// document and field order); every other row gets none.
fn plan_merge(
    streams: &BTreeMap<Uuid, Stream>,
    candidates: &[Candidate],
    rows: &mut [OpRow],
) -> Plan {
    let mut won: BTreeMap<DocKey, BTreeMap<&str, Won>> = BTreeMap::new();
    let mut lost = Vec::new();
    for (at, c) in candidates.iter().enumerate() {
        let op = &c.op;
        let key = DocKey {
            patient: op.patient,
            kind: op.kind,
            doc: op.doc,
        };
        let fields = won.entry(key).or_default();
        let stored = streams
            .get(&op.patient)
            .and_then(|s| s.docs.get(&(op.kind, op.doc)))
            .and_then(|doc| doc.get(&op.field));
        let (wins, displaced) = match (fields.get(op.field.as_str()), stored) {
            (Some(so_far), _) => {
                let other = &candidates[so_far.at].op;
                (sync_core::wins(op.stamp(), other.stamp()), so_far.displaced)
            }
            (None, Some(stored)) => (
                sync_core::wins(op.stamp(), (&stored.hlc, &stored.op)),
                Some(stored.op),
            ),
            (None, None) => (true, None),
        };
        if wins {
            fields.insert(op.field.as_str(), Won { at, displaced });
        } else if op.kind == DocKind::Checkin {
            lost.push((op.patient, op.doc));
        }
    }

    for row in rows.iter_mut() {
        row.seq = None;
    }
    let mut next_seq: HashMap<Uuid, i64> = streams
        .iter()
        .map(|(patient, s)| (*patient, s.first_seq))
        .collect();
    let mut docs = Vec::new();
    let mut superseded = Vec::new();
    for (key, fields) in won {
        if fields.is_empty() {
            continue;
        }
        let next = next_seq.entry(key.patient).or_default();
        for w in fields.values() {
            rows[w.at].seq = Some(*next);
            *next += 1;
            superseded.extend(w.displaced.map(|op| op.to_string()));
        }
        docs.push(Touched {
            key,
            won: fields
                .into_iter()
                .map(|(field, w)| (field.to_string(), w.at))
                .collect(),
        });
    }
    Plan {
        docs,
        superseded,
        lost,
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use sync_core::Hlc;

    const PATIENT: Uuid = Uuid::from_u128(1);
    const DOC: Uuid = Uuid::from_u128(2);

    /// A candidate op of the check-in `DOC`, stamped at `ms`, and its log row.
    fn candidate(index: usize, field: &str, value: i64, ms: u64) -> (Candidate, OpRow) {
        let op = Op {
            id: Uuid::from_u128(1_000 + index as u128),
            patient: PATIENT,
            kind: DocKind::Checkin,
            doc: DOC,
            field: field.to_string(),
            value: value.into(),
            hlc: Hlc::new(ms, 0, 7).unwrap(),
            device_seq: index as u64 + 1,
        };
        let row = OpRow {
            id: op.id.to_string(),
            patient_id: PATIENT.to_string(),
            kind: "checkin".into(),
            doc_id: DOC.to_string(),
            field: field.to_string(),
            value: value.to_string(),
            hlc: op.hlc.to_string(),
            device_seq: index as i64 + 1,
            author_id: PATIENT.to_string(),
            device_id: "device".into(),
            received_at: 0,
            seq: Some(-1),
        };
        (Candidate { index, op }, row)
    }

    /// The patient's stream, first number 100, with `mood` stored at 5 ms by op `stored`.
    fn streams(stored: Uuid) -> BTreeMap<Uuid, Stream> {
        let mood = FieldState {
            patient: PATIENT,
            kind: DocKind::Checkin,
            doc: DOC,
            field: "mood".into(),
            value: 3.into(),
            hlc: Hlc::new(5, 0, 9).unwrap(),
            op: stored,
        };
        let docs = HashMap::from([(
            (DocKind::Checkin, DOC),
            BTreeMap::from([("mood".to_string(), mood)]),
        )]);
        BTreeMap::from([(
            PATIENT,
            Stream {
                first_seq: 100,
                docs,
            },
        )])
    }

    #[test]
    fn the_last_of_two_new_winners_is_marked_and_the_stored_one_unmarked_once() {
        let stored = Uuid::from_u128(99);
        let (a, row_a) = candidate(0, "mood", 4, 10);
        let (b, row_b) = candidate(1, "mood", 6, 20);
        let (c, row_c) = candidate(2, "intensity", 7, 15);
        let candidates = vec![a, b, c];
        let mut rows = vec![row_a, row_b, row_c];
        let streams = streams(stored);
        let plan = plan_merge(&streams, &candidates, &mut rows);

        // Fields in name order take the stream numbers: intensity, then mood.
        let marks: Vec<Option<i64>> = rows.iter().map(|r| r.seq).collect();
        assert_eq!(marks, vec![None, Some(101), Some(100)]);
        assert_eq!(plan.superseded, vec![stored.to_string()]);
        assert!(plan.lost.is_empty());
        assert_eq!(plan.docs.len(), 1);
        let refresh = plan.docs[0].refresh(&streams, &candidates);
        assert!(refresh.existed);
        let fields: Vec<(&str, &Value)> = refresh.fields;
        assert_eq!(
            fields,
            vec![("intensity", &Value::from(7)), ("mood", &Value::from(6))]
        );
    }

    #[test]
    fn an_op_older_than_the_stored_winner_is_unmarked_and_its_checkin_noted() {
        let stored = Uuid::from_u128(99);
        let (old, row) = candidate(0, "mood", 1, 2);
        let mut rows = vec![row];
        let plan = plan_merge(&streams(stored), &[old], &mut rows);
        assert_eq!(rows[0].seq, None);
        assert!(plan.superseded.is_empty());
        assert!(plan.docs.is_empty());
        assert_eq!(plan.lost, vec![(PATIENT, DOC)]);
    }

    #[test]
    fn another_devices_identical_op_is_the_same_op_under_any_number_but_credits_nothing() {
        let (_, logged) = candidate(0, "mood", 4, 10);
        let mut resent = logged.clone();
        resent.device_seq = 41;
        assert!(same_op(&logged, "other device", &resent));
        assert!(!credits(&logged, "other device"));
        // The same device numbers an op once: under a new number it is a conflict.
        assert!(!same_op(&logged, "device", &resent));
        assert!(same_op(&logged, "device", &logged));
        assert!(credits(&logged, "device"));
        let mut changed = logged.clone();
        changed.value = "5".into();
        assert!(!same_op(&logged, "other device", &changed));
    }

    #[test]
    fn a_new_document_is_marked_from_the_first_reserved_number() {
        let (a, row) = candidate(0, "intensity", 4, 10);
        let mut rows = vec![row];
        let empty = BTreeMap::from([(
            PATIENT,
            Stream {
                first_seq: 7,
                docs: HashMap::new(),
            },
        )]);
        let candidates = [a];
        let plan = plan_merge(&empty, &candidates, &mut rows);
        assert_eq!(rows[0].seq, Some(7));
        assert!(plan.superseded.is_empty());
        assert!(!plan.docs[0].refresh(&empty, &candidates).existed);
    }
}
