//! Storage of the sync protocol: patient streams, the op log (whose current winners, marked by
//! their stream number, are the merged field state) and device receipts. Every function runs
//! inside the push or pull transaction of its caller.

use crate::db::fixed_sql::Fixed;
use crate::db::schema::{device_pending_seqs, device_receipts, field_state, ops};
use crate::db::DbConnection;
use crate::error::ApiError;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Text};
use std::collections::{BTreeSet, HashSet};
use sync_core::{DocKind, FieldState};
use uuid::Uuid;

/// Rows per multi-row INSERT: well under both backends' bind-parameter limits.
const INSERT_CHUNK: usize = 500;
/// Ids per `IN (…)` list.
const IN_CHUNK: usize = 500;
/// Keys per PostgreSQL `unnest` lookup: its parameters are one array per column, so only
/// statement size bounds this.
const PG_ARRAY_CHUNK: usize = 5_000;

/// One column of `rows`, as PostgreSQL `unnest` takes it.
fn column<'a, R>(rows: &'a [R], get: impl Fn(&'a R) -> &'a String) -> Vec<&'a str> {
    rows.iter().map(|r| get(r).as_str()).collect()
}

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = BigInt)]
    head: i64,
}

/// Reserves `count` sequence numbers in `patient`'s change stream and returns the first.
///
/// One upsert creates the stream or advances its head; either way it takes the stream's row lock
/// and holds it until the transaction ends, so pushes for one patient are serialised and their
/// numbers become visible in order. Unused numbers leave harmless holes (pulls read
/// `seq > cursor`).
pub fn reserve_stream(conn: &mut DbConnection, patient: &str, count: i64) -> Result<i64, ApiError> {
    let head = crate::per_backend!(conn, |c| Fixed::new(
        "INSERT INTO patient_streams (patient_id, head) VALUES ($1, $2) \
         ON CONFLICT (patient_id) DO UPDATE SET head = patient_streams.head + excluded.head \
         RETURNING head",
    )
    .bind::<Text, _>(patient)
    .bind::<BigInt, _>(count)
    .get_result::<Head>(c))?
    .head;
    Ok(head - count + 1)
}

/// An op as the log holds it.
#[derive(Debug, Clone, PartialEq, Insertable, Queryable, Selectable)]
// Without defaultable columns diesel writes a slice of rows as one multi-row INSERT on SQLite,
// not one statement per row (every column is always given anyway).
#[diesel(table_name = ops, treat_none_as_default_value = false)]
pub struct OpRow {
    pub id: String,
    pub patient_id: String,
    pub kind: String,
    pub doc_id: String,
    pub field: String,
    pub value: String,
    pub hlc: String,
    pub device_seq: i64,
    pub author_id: String,
    pub device_id: String,
    pub received_at: i64,
    /// The patient-stream number of its field's change while this op is the field's winner;
    /// `None` once a newer op won (or when it never did).
    pub seq: Option<i64>,
}

/// Ops already in the log among `ids`.
pub fn find_ops(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<OpRow>, ApiError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        found.extend(
            ops::table
                .filter(ops::id.eq_any(chunk))
                .select(OpRow::as_select())
                .load(conn)?,
        );
    }
    Ok(found)
}

/// How [`append_ops`] may fail when an op is already logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Append {
    /// In a savepoint: a failure undoes only the append, and the transaction goes on.
    Guarded,
    /// Without one: a failure leaves a PostgreSQL transaction aborted, to be rolled back and run
    /// again by the caller. Two statements (the savepoint and its release) fewer, each a round
    /// trip, for the common batch that is all new.
    Bare,
}

/// Appends `rows` to the log, after taking the winner's mark (`seq`) off the ops in
/// `superseded`, all or nothing: `Ok(false)`, with nothing written, when an op's id or device
/// sequence number is already logged (the caller finds out which and tries again without it;
/// after an [`Append::Bare`] failure on PostgreSQL, in a new transaction).
///
/// That is the rare path of a retried batch: the common one, every op new, takes each backend's
/// bulk path and costs no lookup at all: COPY on PostgreSQL (rows written a page at a time),
/// plain multi-row INSERTs of a few fixed sizes on SQLite (each prepared once per connection).
pub fn append_ops(
    conn: &mut DbConnection,
    rows: &[OpRow],
    superseded: &[String],
    append: Append,
) -> Result<bool, ApiError> {
    if rows.is_empty() && superseded.is_empty() {
        return Ok(true);
    }
    let appended = match append {
        Append::Guarded => conn.transaction(|conn| write_ops(conn, rows, superseded)),
        Append::Bare => write_ops(conn, rows, superseded),
    };
    match appended {
        Ok(()) => Ok(true),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The statements of [`append_ops`].
fn write_ops(
    conn: &mut DbConnection,
    rows: &[OpRow],
    superseded: &[String],
) -> Result<(), diesel::result::Error> {
    // Unmarked first: a field has one marked op at a time (`ops_winner` is unique). The ids
    // travel as one array (PostgreSQL) or one JSON array (SQLite), so the statement's text
    // never changes and stays prepared.
    if !superseded.is_empty() {
        match conn {
            DbConnection::Pg(c) => Fixed::new("UPDATE ops SET seq = NULL WHERE id = ANY($1)")
                .bind::<Array<Text>, _>(superseded)
                .execute(c)?,
            DbConnection::Sqlite(c) => {
                let ids = serde_json::to_string(superseded)
                    .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
                Fixed::new(
                    "UPDATE ops SET seq = NULL WHERE id IN (SELECT value FROM json_each($1))",
                )
                .bind::<Text, _>(ids)
                .execute(c)?
            }
        };
    }
    match conn {
        DbConnection::Pg(c) => {
            if !rows.is_empty() {
                diesel::copy_from(ops::table)
                    .from_insertable(rows)
                    .execute(c)?;
            }
        }
        DbConnection::Sqlite(c) => crate::in_cached_chunks!(rows, |chunk| {
            diesel::insert_into(ops::table).values(chunk).execute(c)?;
        }),
    }
    Ok(())
}

/// Which of `seqs` the log already holds an op of `device` under.
pub fn logged_device_seqs(
    conn: &mut DbConnection,
    device: &str,
    seqs: &[i64],
) -> Result<HashSet<i64>, ApiError> {
    let mut found = HashSet::new();
    for chunk in seqs.chunks(IN_CHUNK) {
        found.extend(
            ops::table
                .filter(ops::device_id.eq(device))
                .filter(ops::device_seq.eq_any(chunk))
                .select(ops::device_seq)
                .load::<i64>(conn)?,
        );
    }
    Ok(found)
}

/// One field's merged state: its winning op, as the `field_state` view shows it.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
#[diesel(table_name = field_state)]
pub struct FieldRow {
    pub patient_id: String,
    pub kind: String,
    pub doc_id: String,
    pub field: String,
    pub value: String,
    pub hlc: String,
    pub op_id: String,
    pub device_id: String,
    pub seq: i64,
}

impl FieldRow {
    /// The field state this row holds, as sync-core has it (a row that does not parse is
    /// corrupt storage: an internal error).
    pub fn into_state(self) -> Result<FieldState, ApiError> {
        let corrupt = |what: &str| ApiError::internal(format!("corrupt {what} in field_state"));
        Ok(FieldState {
            patient: Uuid::parse_str(&self.patient_id).map_err(|_| corrupt("patient id"))?,
            kind: DocKind::parse(&self.kind).map_err(|_| corrupt("kind"))?,
            doc: Uuid::parse_str(&self.doc_id).map_err(|_| corrupt("doc id"))?,
            field: self.field,
            value: serde_json::from_str(&self.value).map_err(|_| corrupt("value"))?,
            hlc: self.hlc.parse().map_err(|_| corrupt("hlc"))?,
            op: Uuid::parse_str(&self.op_id).map_err(|_| corrupt("op id"))?,
        })
    }
}

/// Every field of the given `(kind, doc_id)` documents of one patient.
///
/// Both backends search the winners' index (`ops_winner`) once per document, whatever the
/// planner believes about the table. PostgreSQL: the keys travel as arrays, and each document's
/// fields are a `LATERAL` subquery that `OFFSET 0` keeps from being merged into a join. Without
/// the fence, statistics that lag a growing table made it hash-join the keys against every row
/// of the patient (and a prepared `doc_id = ANY($n)` compared every row with every id): a push's
/// cost grew with the patient's history.
pub fn fields_of_docs(
    conn: &mut DbConnection,
    patient: &str,
    docs: &[(String, String)],
) -> Result<Vec<FieldRow>, ApiError> {
    let mut found = Vec::new();
    match conn {
        DbConnection::Pg(c) => {
            for chunk in docs.chunks(PG_ARRAY_CHUNK) {
                found.extend(
                    Fixed::new(
                        "SELECT f.* FROM unnest($2::text[], $3::text[]) AS d (kind, doc_id) \
                         CROSS JOIN LATERAL (SELECT patient_id, kind, doc_id, field, value, \
                         hlc, op_id, device_id, seq FROM field_state \
                         WHERE patient_id = $1 AND kind = d.kind AND doc_id = d.doc_id \
                         OFFSET 0) AS f",
                    )
                    .bind::<Text, _>(patient)
                    .bind::<Array<Text>, _>(column(chunk, |(kind, _)| kind))
                    .bind::<Array<Text>, _>(column(chunk, |(_, doc)| doc))
                    .load::<FieldRow>(c)?,
                );
            }
        }
        // The keys as one JSON array, so the statement's text never changes and is prepared
        // once per connection (an `IN (?, ?, …)` list is prepared anew for every length). The
        // keys come first and each is one search of the winners' index: the planner, left to
        // itself, reads all of the patient's winners through the stream index instead.
        DbConnection::Sqlite(c) => {
            let keys = serde_json::to_string(docs).map_err(ApiError::internal)?;
            found = Fixed::new(
                "SELECT o.patient_id, o.kind, o.doc_id, o.field, o.value, o.hlc, \
                 o.id AS op_id, o.device_id, o.seq \
                 FROM json_each($1) AS d CROSS JOIN ops AS o INDEXED BY ops_winner \
                 WHERE o.patient_id = $2 AND o.kind = json_extract(d.value, '$[0]') \
                 AND o.doc_id = json_extract(d.value, '$[1]') AND o.seq IS NOT NULL",
            )
            .bind::<Text, _>(keys)
            .bind::<Text, _>(patient)
            .load::<FieldRow>(c)?;
        }
    }
    Ok(found)
}

/// Field states of `patient` changed after `after`, oldest change first.
///
/// Read from the op log itself, not the `field_state` view: `seq > after` alone already
/// implies the winners' mark. PostgreSQL multiplies the view's `seq IS NOT NULL` into its
/// estimate a second time, and with most ops superseded it then expected a few rows, and read
/// and sorted every winner of the patient for each page instead of walking the stream index.
pub fn fields_after(
    conn: &mut DbConnection,
    patient: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<FieldRow>, ApiError> {
    let rows = ops::table
        .filter(ops::patient_id.eq(patient))
        .filter(ops::seq.gt(after))
        .order(ops::seq.asc())
        .limit(limit)
        .select((
            ops::patient_id,
            ops::kind,
            ops::doc_id,
            ops::field,
            ops::value,
            ops::hlc,
            ops::id,
            ops::device_id,
            ops::seq.assume_not_null(),
        ))
        .load::<FieldRow>(conn)?;
    Ok(rows)
}

/// One row of a device's receipt state: the high-water mark (`part` 0) or a sequence number held
/// above it (`part` 1).
#[derive(QueryableByName)]
struct ReceiptPart {
    #[diesel(sql_type = Integer)]
    part: i32,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A device's receipt state: high-water mark and the seqs held above it, in one round trip
/// (every push and pull reads it).
pub fn load_receipt(
    conn: &mut DbConnection,
    device: &str,
) -> Result<(i64, BTreeSet<i64>), ApiError> {
    let parts = crate::per_backend!(conn, |c| Fixed::new(
        "SELECT 0 AS part, high_water AS n FROM device_receipts WHERE device_id = $1 \
         UNION ALL SELECT 1, seq FROM device_pending_seqs WHERE device_id = $1",
    )
    .bind::<Text, _>(device)
    .load::<ReceiptPart>(c))?;
    let mut high_water = 0;
    let mut pending = BTreeSet::new();
    for p in parts {
        if p.part == 0 {
            high_water = p.n;
        } else {
            pending.insert(p.n);
        }
    }
    Ok((high_water, pending))
}

/// Moves a device's high-water mark from `from` to `to` in one statement, when it stands at
/// `from` and nothing is held above it: the receipt of a device that sends its ops in order, as
/// phones do. `Ok(false)`, with nothing changed, otherwise (the caller then reads the receipt
/// and saves it with [`save_receipt`]). The mark's row lock makes two pushes of one device take
/// turns, and the second sees the first's mark.
pub fn extend_receipt(
    conn: &mut DbConnection,
    device: &str,
    from: i64,
    to: i64,
) -> Result<bool, ApiError> {
    let updated = crate::per_backend!(conn, |c| Fixed::new(
        "UPDATE device_receipts SET high_water = $3 WHERE device_id = $1 AND high_water = $2 \
         AND NOT EXISTS (SELECT 1 FROM device_pending_seqs WHERE device_id = $1)"
    )
    .bind::<Text, _>(device)
    .bind::<BigInt, _>(from)
    .bind::<BigInt, _>(to)
    .execute(c))?;
    Ok(updated == 1)
}

/// Saves a device's receipt state, given what it was before.
pub fn save_receipt(
    conn: &mut DbConnection,
    device: &str,
    before: (i64, &BTreeSet<i64>),
    high_water: i64,
    pending: &BTreeSet<i64>,
) -> Result<(), ApiError> {
    if high_water != before.0 {
        // Fixed text: diesel never keeps its own UPDATE statements prepared.
        let updated = crate::per_backend!(conn, |c| Fixed::new(
            "UPDATE device_receipts SET high_water = $2 WHERE device_id = $1"
        )
        .bind::<Text, _>(device)
        .bind::<BigInt, _>(high_water)
        .execute(c))?;
        if updated == 0 {
            diesel::insert_into(device_receipts::table)
                .values((
                    device_receipts::device_id.eq(device),
                    device_receipts::high_water.eq(high_water),
                ))
                .execute(conn)?;
        }
    }
    let gone: Vec<i64> = before.1.difference(pending).copied().collect();
    for chunk in gone.chunks(IN_CHUNK) {
        diesel::delete(
            device_pending_seqs::table
                .filter(device_pending_seqs::device_id.eq(device))
                .filter(device_pending_seqs::seq.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    let added: Vec<_> = pending
        .difference(before.1)
        .map(|seq| {
            (
                device_pending_seqs::device_id.eq(device),
                device_pending_seqs::seq.eq(*seq),
            )
        })
        .collect();
    for chunk in added.chunks(INSERT_CHUNK) {
        crate::per_backend!(&mut *conn, |c| diesel::insert_into(
            device_pending_seqs::table
        )
        .values(chunk)
        .execute(c))?;
    }
    Ok(())
}
