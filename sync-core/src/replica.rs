//! An in-memory replica: current field state, merge, and delta state since a local version.
//!
//! State is one LWW register per `(document, field)`; nothing else is kept (no op history), so
//! memory and bootstrap cost are O(current data). Every register change gets the next local
//! version number, and a version-ordered change log lets [`Replica::changes_since`] return only the
//! fields that changed since a version, each at its latest state (delta state, not history).
//!
//! Merge is per-register LWW by `(hlc, op id)` (see [`crate::op::wins`]), hence commutative,
//! associative and idempotent; the tombstone is just another register (see [`crate::view`]).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::hlc::Hlc;
use crate::op::{DocKind, Op};
use crate::reject::Rejection;
use crate::schema;

pub use crate::kinds::DocKey;

impl DocKey {
    /// The document an op writes.
    pub fn of(op: &Op) -> Self {
        Self {
            patient: op.patient,
            kind: op.kind,
            doc: op.doc,
        }
    }
}

/// What applying an op did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplyOutcome {
    /// It won: the field now holds its value.
    Applied,
    /// A later write already holds the field; nothing changed.
    Superseded,
    /// This very op (same `(hlc, id)`) already holds the field; nothing changed.
    Duplicate,
}

/// The latest state of one field: the unit of a delta (and of a pull page). A phone reads it
/// from the server, so keys added by a later server are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldState {
    /// Owning patient.
    pub patient: Uuid,
    /// Schema.
    pub kind: DocKind,
    /// Document id.
    pub doc: Uuid,
    /// Field name (`name/<element>` for set elements).
    pub field: String,
    /// Current value.
    pub value: Value,
    /// HLC of the winning op.
    pub hlc: Hlc,
    /// Id of the winning op.
    pub op: Uuid,
}

impl FieldState {
    /// The document this state belongs to.
    pub fn key(&self) -> DocKey {
        DocKey {
            patient: self.patient,
            kind: self.kind,
            doc: self.doc,
        }
    }
}

#[derive(Debug, Clone)]
struct Register {
    field: Box<str>,
    hlc: Hlc,
    op: Uuid,
    value: Value,
    version: u64,
}

#[derive(Debug, Clone)]
struct Doc {
    key: DocKey,
    // A document has a dozen or so registers: a linear scan beats hashing the name.
    regs: Vec<Register>,
}

#[derive(Debug, Clone, Copy)]
struct LogEntry {
    version: u64,
    doc: u32,
    reg: u32,
}

/// FxHash-style hasher for document keys. Keys are UUIDs the replica's own user wrote or
/// received from a server that authorised them, so flooding resistance (SipHash) buys nothing
/// and costs a third of the apply time.
#[derive(Default, Clone, Copy)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// An in-memory replica of some set of documents.
#[derive(Debug, Clone, Default)]
pub struct Replica {
    index: HashMap<DocKey, u32, BuildHasherDefault<KeyHasher>>,
    docs: Vec<Doc>,
    version: u64,
    log: Vec<LogEntry>,
    registers: usize,
}

impl Replica {
    /// An empty replica at version 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The local version: bumped by every register change. Pass it to a peer's
    /// [`Replica::changes_since`] later to get only what changed after it.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Number of field registers held.
    pub fn len(&self) -> usize {
        self.registers
    }

    /// Holds no field at all?
    pub fn is_empty(&self) -> bool {
        self.registers == 0
    }

    /// Validates `op` against its schema and merges it into the field it writes.
    ///
    /// Write policy is the caller's business ([`crate::policy::may_write`]): a phone applies its
    /// own ops and ops the server already authorised.
    pub fn apply(&mut self, op: Op) -> Result<ApplyOutcome, Rejection> {
        schema::validate_op(&op)?;
        let key = DocKey::of(&op);
        let Op {
            id,
            field,
            value,
            hlc,
            ..
        } = op;
        Ok(self.put(key, &field, hlc, id, move || value))
    }

    /// Validates and merges one field state received in a delta.
    pub fn apply_state(&mut self, s: FieldState) -> Result<ApplyOutcome, Rejection> {
        schema::validate_value(s.kind, &s.field, &s.value)?;
        let key = s.key();
        let FieldState {
            field,
            value,
            hlc,
            op,
            ..
        } = s;
        Ok(self.put(key, &field, hlc, op, move || value))
    }

    /// Merges a delta (e.g. a peer's [`Replica::changes_since`]); returns how many fields changed.
    /// Stops at the first invalid state; what was merged before it stays merged (any subset of a
    /// delta is a valid state to be in).
    pub fn apply_delta<I>(&mut self, states: I) -> Result<usize, Rejection>
    where
        I: IntoIterator<Item = FieldState>,
    {
        let mut applied = 0;
        for s in states {
            if self.apply_state(s)? == ApplyOutcome::Applied {
                applied += 1;
            }
        }
        Ok(applied)
    }

    /// Merges every register of `other` into this replica; returns how many fields changed.
    /// Values are cloned only where `other` wins.
    pub fn merge(&mut self, other: &Replica) -> usize {
        let mut applied = 0;
        for d in &other.docs {
            for r in &d.regs {
                if self.put(d.key, &r.field, r.hlc, r.op, || r.value.clone())
                    == ApplyOutcome::Applied
                {
                    applied += 1;
                }
            }
        }
        applied
    }

    fn put(
        &mut self,
        key: DocKey,
        field: &str,
        hlc: Hlc,
        op: Uuid,
        value: impl FnOnce() -> Value,
    ) -> ApplyOutcome {
        let next = self.docs.len();
        let d = *self.index.entry(key).or_insert_with(|| {
            // u32 documents is far beyond what one replica holds.
            u32::try_from(next).unwrap_or(u32::MAX)
        });
        let di = d as usize;
        if di == self.docs.len() {
            self.docs.push(Doc {
                key,
                regs: Vec::new(),
            });
        }
        let Some(doc) = self.docs.get_mut(di) else {
            return ApplyOutcome::Superseded;
        };
        let version = self.version + 1;
        let ri = match doc.regs.iter().position(|r| &*r.field == field) {
            Some(ri) => {
                let r = &mut doc.regs[ri];
                if (hlc, op) == (r.hlc, r.op) {
                    return ApplyOutcome::Duplicate;
                }
                if !crate::op::wins((&hlc, &op), (&r.hlc, &r.op)) {
                    return ApplyOutcome::Superseded;
                }
                r.hlc = hlc;
                r.op = op;
                r.value = value();
                r.version = version;
                ri
            }
            None => {
                doc.regs.push(Register {
                    field: field.into(),
                    hlc,
                    op,
                    value: value(),
                    version,
                });
                self.registers += 1;
                doc.regs.len() - 1
            }
        };
        self.version = version;
        self.log.push(LogEntry {
            version,
            doc: d,
            reg: u32::try_from(ri).unwrap_or(u32::MAX),
        });
        self.compact_log();
        ApplyOutcome::Applied
    }

    /// Drops log entries whose register changed again since; keeps the log O(registers).
    fn compact_log(&mut self) {
        if self.log.len() <= 2 * self.registers + 1024 {
            return;
        }
        let docs = &self.docs;
        self.log.retain(|e| {
            docs.get(e.doc as usize)
                .and_then(|d| d.regs.get(e.reg as usize))
                .is_some_and(|r| r.version == e.version)
        });
    }

    /// The latest state of every field changed after local version `since`, oldest change
    /// first. `changes_since(0)` is the whole replica.
    pub fn changes_since(&self, since: u64) -> Vec<FieldState> {
        let start = self.log.partition_point(|e| e.version <= since);
        self.log[start..]
            .iter()
            .filter_map(|e| {
                let d = self.docs.get(e.doc as usize)?;
                let r = d.regs.get(e.reg as usize)?;
                (r.version == e.version).then(|| state(d, r))
            })
            .collect()
    }

    /// Every field state, sorted by document then field: a canonical snapshot, equal for any two
    /// replicas that saw the same ops.
    pub fn states(&self) -> Vec<FieldState> {
        let mut all: Vec<FieldState> = self
            .docs
            .iter()
            .flat_map(|d| d.regs.iter().map(move |r| state(d, r)))
            .collect();
        all.sort_by(|a, b| (a.key(), &a.field).cmp(&(b.key(), &b.field)));
        all
    }

    /// The current value of one field, if it was ever written.
    pub fn get(&self, key: &DocKey, field: &str) -> Option<&Value> {
        self.fields(key)?.find(|(f, _)| *f == field).map(|(_, v)| v)
    }

    /// All fields of one document as `(name, value)`, in no particular order.
    pub fn fields(&self, key: &DocKey) -> Option<impl Iterator<Item = (&str, &Value)>> {
        let d = self.docs.get(*self.index.get(key)? as usize)?;
        Some(d.regs.iter().map(|r| (&*r.field, &r.value)))
    }

    /// Keys of every document held, tombstoned or not, sorted.
    pub fn doc_keys(&self) -> Vec<DocKey> {
        let mut keys: Vec<DocKey> = self.docs.iter().map(|d| d.key).collect();
        keys.sort();
        keys
    }
}

fn state(d: &Doc, r: &Register) -> FieldState {
    FieldState {
        patient: d.key.patient,
        kind: d.key.kind,
        doc: d.key.doc,
        field: r.field.to_string(),
        value: r.value.clone(),
        hlc: r.hlc,
        op: r.op,
    }
}
