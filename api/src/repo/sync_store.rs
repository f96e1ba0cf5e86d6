//! Storage of the sync protocol: patient streams, the op log, merged field state and device
//! receipts. Every function runs inside the push or pull transaction of its caller.

use crate::db::schema::{device_pending_seqs, device_receipts, field_state, ops};
use crate::db::DbConnection;
use crate::error::ApiError;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Text};
use std::collections::{BTreeSet, HashSet};

/// Rows per multi-row INSERT: well under both backends' bind-parameter limits.
const INSERT_CHUNK: usize = 500;
/// Ids per `IN (…)` list.
const IN_CHUNK: usize = 500;
/// Rows per PostgreSQL `unnest` insert: its parameters are one array per column, so only
/// statement size bounds this.
const PG_ARRAY_CHUNK: usize = 5_000;

#[derive(QueryableByName)]
struct InsertedId {
    #[diesel(sql_type = Text)]
    id: String,
}

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
    let head = diesel::sql_query(
        "INSERT INTO patient_streams (patient_id, head) VALUES ($1, $2) \
         ON CONFLICT (patient_id) DO UPDATE SET head = patient_streams.head + excluded.head \
         RETURNING head",
    )
    .bind::<Text, _>(patient)
    .bind::<BigInt, _>(count)
    .get_result::<Head>(conn)?
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

/// Appends to the log every op whose id and `(device, device_seq)` are both new, in order, and
/// returns the ids it stored: `None` when it stored them all (the common case, no set built).
/// An op left out collides with one already logged, or with an earlier op of `rows`, on its id
/// or on its device sequence number: the caller works out which (that is the rare path of a
/// retried batch; the common one costs no lookup at all).
pub fn insert_new_ops(
    conn: &mut DbConnection,
    rows: &[OpRow],
) -> Result<Option<HashSet<String>>, ApiError> {
    if rows.is_empty() {
        return Ok(None);
    }
    // The common case, every op new, takes each backend's bulk path inside a savepoint: COPY on
    // PostgreSQL (rows written a page at a time, no conflict checks), plain multi-row INSERTs of
    // a few fixed sizes on SQLite (each prepared once per connection). An op already logged or a
    // device sequence number used twice fails it, and the batch is written again below.
    let bulk: Result<(), diesel::result::Error> = match &mut *conn {
        DbConnection::Pg(c) => c.transaction(|c| {
            diesel::copy_from(ops::table)
                .from_insertable(rows)
                .execute(c)
                .map(drop)
        }),
        DbConnection::Sqlite(c) => c.transaction(|c| {
            crate::in_cached_chunks!(rows, |chunk| {
                diesel::insert_into(ops::table).values(chunk).execute(c)?;
            });
            Ok(())
        }),
    };
    match bulk {
        Ok(()) => return Ok(None),
        Err(e) if crate::db::is_unique_violation(&e) => {}
        Err(e) => return Err(e.into()),
    }
    // Again with DO NOTHING, which skips the colliding rows; RETURNING names those stored.
    let mut stored = HashSet::new();
    match conn {
        // One statement per chunk whose text never changes: the rows travel as one array per
        // column. A multi-row VALUES list would be a new statement with thousands of parameters
        // for PostgreSQL to parse and plan every time.
        DbConnection::Pg(c) => {
            for chunk in rows.chunks(PG_ARRAY_CHUNK) {
                let ids: Vec<InsertedId> = diesel::sql_query(
                    "INSERT INTO ops (id, patient_id, kind, doc_id, field, value, hlc, \
                     device_seq, author_id, device_id, received_at) \
                     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], \
                     $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[], \
                     $11::bigint[]) \
                     ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind::<Array<Text>, _>(column(chunk, |r| &r.id))
                .bind::<Array<Text>, _>(column(chunk, |r| &r.patient_id))
                .bind::<Array<Text>, _>(column(chunk, |r| &r.kind))
                .bind::<Array<Text>, _>(column(chunk, |r| &r.doc_id))
                .bind::<Array<Text>, _>(column(chunk, |r| &r.field))
                .bind::<Array<Text>, _>(column(chunk, |r| &r.value))
                .bind::<Array<Text>, _>(column(chunk, |r| &r.hlc))
                .bind::<Array<BigInt>, _>(chunk.iter().map(|r| r.device_seq).collect::<Vec<_>>())
                .bind::<Array<Text>, _>(column(chunk, |r| &r.author_id))
                .bind::<Array<Text>, _>(column(chunk, |r| &r.device_id))
                .bind::<Array<BigInt>, _>(chunk.iter().map(|r| r.received_at).collect::<Vec<_>>())
                .load(c)?;
                stored.extend(ids.into_iter().map(|i| i.id));
            }
        }
        DbConnection::Sqlite(c) => crate::in_cached_chunks!(rows, |chunk| {
            let ids: Vec<String> = diesel::insert_into(ops::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .returning(ops::id)
                .get_results(c)?;
            stored.extend(ids);
        }),
    }
    Ok(Some(stored))
}

/// One field's merged state as stored.
#[derive(Debug, Clone, Default, PartialEq, Insertable, Queryable, QueryableByName, Selectable)]
// One multi-row statement on SQLite, as for `OpRow`.
#[diesel(table_name = field_state, treat_none_as_default_value = false)]
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

/// Every field of the given `(kind, doc_id)` documents of one patient.
///
/// PostgreSQL probes the primary key once per document, whatever the planner believes about the
/// table: the keys travel as arrays, and each document's fields are a `LATERAL` subquery that
/// `OFFSET 0` keeps from being merged into a join. Without the fence, statistics that lag a
/// growing table made it hash-join the keys against every row of the patient (and a prepared
/// `doc_id = ANY($n)` compared every row with every id): a push's cost grew with the patient's
/// history. SQLite searches the primary key for each `(kind, doc_id)` pair.
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
                    diesel::sql_query(
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
        // once per connection (an `IN (?, ?, …)` list is prepared anew for every length); the
        // row-value IN is one primary-key search per key.
        DbConnection::Sqlite(c) => {
            let keys = serde_json::to_string(docs).map_err(ApiError::internal)?;
            found = diesel::sql_query(
                "SELECT patient_id, kind, doc_id, field, value, hlc, op_id, device_id, seq \
                 FROM field_state WHERE patient_id = ? AND (kind, doc_id) IN \
                 (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') \
                 FROM json_each(?))",
            )
            .bind::<Text, _>(patient)
            .bind::<Text, _>(keys)
            .load::<FieldRow>(c)?;
        }
    }
    Ok(found)
}

/// Stores the first winners of fields not stored yet (the caller holds the patient's stream
/// lock, so nobody else can have stored them meanwhile): PostgreSQL's COPY, SQLite's multi-row
/// statements.
pub fn insert_fields(conn: &mut DbConnection, rows: &[FieldRow]) -> Result<(), ApiError> {
    match conn {
        DbConnection::Pg(c) => {
            if !rows.is_empty() {
                diesel::copy_from(field_state::table)
                    .from_insertable(rows)
                    .execute(c)?;
            }
        }
        DbConnection::Sqlite(c) => crate::in_cached_chunks!(rows, |chunk| {
            diesel::insert_into(field_state::table)
                .values(chunk)
                .execute(c)?;
        }),
    }
    Ok(())
}

/// Stores new winners: inserts fields not stored yet and replaces the winner of those that are,
/// in one statement per chunk (PostgreSQL: an upsert from one array per column).
pub fn upsert_fields(conn: &mut DbConnection, rows: &[FieldRow]) -> Result<(), ApiError> {
    match &mut *conn {
        DbConnection::Pg(c) => {
            for chunk in rows.chunks(PG_ARRAY_CHUNK) {
                diesel::sql_query(
                    "INSERT INTO field_state (patient_id, kind, doc_id, field, value, hlc, op_id, \
                     device_id, seq) \
                     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], \
                     $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[]) \
                     ON CONFLICT (patient_id, kind, doc_id, field) DO UPDATE SET \
                     value = excluded.value, hlc = excluded.hlc, op_id = excluded.op_id, \
                     device_id = excluded.device_id, seq = excluded.seq",
                )
                .bind::<Array<Text>, _>(column(chunk, |r| &r.patient_id))
                .bind::<Array<Text>, _>(column(chunk, |r| &r.kind))
                .bind::<Array<Text>, _>(column(chunk, |r| &r.doc_id))
                .bind::<Array<Text>, _>(column(chunk, |r| &r.field))
                .bind::<Array<Text>, _>(column(chunk, |r| &r.value))
                .bind::<Array<Text>, _>(column(chunk, |r| &r.hlc))
                .bind::<Array<Text>, _>(column(chunk, |r| &r.op_id))
                .bind::<Array<Text>, _>(column(chunk, |r| &r.device_id))
                .bind::<Array<BigInt>, _>(chunk.iter().map(|r| r.seq).collect::<Vec<_>>())
                .execute(c)?;
            }
        }
        // SQLite's multi-row INSERT cannot be combined with `ON CONFLICT … DO UPDATE` by diesel;
        // REPLACE gives every column, and the new stream numbers are fresh, so the stored row
        // is the same.
        DbConnection::Sqlite(c) => crate::in_cached_chunks!(rows, |chunk| {
            diesel::replace_into(field_state::table)
                .values(chunk)
                .execute(c)?;
        }),
    }
    Ok(())
}

/// Field states of `patient` changed after `after`, oldest change first.
pub fn fields_after(
    conn: &mut DbConnection,
    patient: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<FieldRow>, ApiError> {
    Ok(field_state::table
        .filter(field_state::patient_id.eq(patient))
        .filter(field_state::seq.gt(after))
        .order(field_state::seq.asc())
        .limit(limit)
        .select(FieldRow::as_select())
        .load(conn)?)
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
    let parts = diesel::sql_query(
        "SELECT 0 AS part, high_water AS n FROM device_receipts WHERE device_id = $1 \
         UNION ALL SELECT 1, seq FROM device_pending_seqs WHERE device_id = $1",
    )
    .bind::<Text, _>(device)
    .load::<ReceiptPart>(conn)?;
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

/// Saves a device's receipt state, given what it was before.
pub fn save_receipt(
    conn: &mut DbConnection,
    device: &str,
    before: (i64, &BTreeSet<i64>),
    high_water: i64,
    pending: &BTreeSet<i64>,
) -> Result<(), ApiError> {
    if high_water != before.0 {
        let updated = diesel::update(device_receipts::table.find(device))
            .set(device_receipts::high_water.eq(high_water))
            .execute(conn)?;
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
