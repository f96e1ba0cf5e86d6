//! The typed read-model tables, written and read from sync-core's declaration of each kind: a
//! kind with a read model needs no row type, write or list of its own here.
//!
//! A push rewrites the rows of the documents it changed ([`rewrite`]; `crate::sync::read_model`
//! turns merged fields into [`Row`]s). Lists are newest first, keyset-paginated, tombstoned
//! documents and documents without a listed time left out, and hand back each document as the
//! JSON the HTTP item is ([`list_json`]) or as sync-core's typed view ([`list_views`],
//! [`find_live`]). The statements' text is built in [`crate::repo::read_model_sql`].

use crate::db::fixed_sql::Fixed;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::repo::read_model_sql::{text, Bounds, Dialect, Statement};
use diesel::pg::Pg;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel::sqlite::Sqlite;
use diesel::{QueryableByName, RunQueryDsl};
use serde::de::DeserializeOwned;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use sync_core::kinds::{read_model, Cell, Column, ReadModel};
use sync_core::{DocKind, View};

/// One document's row: its key, its tombstone and its cells (sync-core's
/// [`row_cells`](sync_core::kinds::row_cells)); `updated_at` is given to [`rewrite`].
#[derive(Debug)]
pub struct Row {
    /// Patient id.
    pub patient_id: String,
    /// Document id.
    pub doc_id: String,
    /// Whether the document is tombstoned.
    pub deleted: bool,
    /// Field and derived cells, in column order.
    pub cells: Vec<Cell>,
    /// Whether the document had a row before (only then is there one to replace).
    pub existed: bool,
}

/// Asking for the table of a kind that has none is a caller's mistake.
fn no_read_model(kind: DocKind) -> ApiError {
    ApiError::internal(format!("{} has no read model", kind.as_str()))
}

fn statement(kind: DocKind, statement: Statement) -> Result<&'static str, ApiError> {
    text(kind, statement).ok_or_else(|| no_read_model(kind))
}

/// Replaces the rows of these documents of `kind`: delete the old rows of the documents that
/// had one, insert every new row. Every column is given, so this is an upsert without
/// per-backend `ON CONFLICT` clauses; a push of new documents, the common case, deletes nothing.
pub fn rewrite(
    conn: &mut DbConnection,
    kind: DocKind,
    rows: &[Row],
    now_ms: i64,
) -> Result<(), ApiError> {
    if rows.is_empty() {
        return Ok(());
    }
    let rm = read_model(kind).ok_or_else(|| no_read_model(kind))?;
    let old = rows.iter().filter(|r| r.existed);
    match conn {
        DbConnection::Pg(c) => {
            let mut by_patient: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for r in old {
                by_patient.entry(&r.patient_id).or_default().push(&r.doc_id);
            }
            let delete = statement(kind, Statement::Delete(Dialect::Postgres))?;
            for (patient, docs) in by_patient {
                Fixed::<Pg>::new(delete)
                    .bind::<Text, _>(patient)
                    .bind::<Array<Text>, _>(docs)
                    .execute(c)?;
            }
            // The rows as one JSON array that the database turns into rows of the table's own
            // type: one statement of fixed text whatever their number, so one round trip.
            let json = serde_json::to_string(&JsonRows { rm, rows, now_ms })
                .map_err(ApiError::internal)?;
            Fixed::<Pg>::new(statement(kind, Statement::InsertJson)?)
                .bind::<Text, _>(json)
                .execute(c)?;
        }
        DbConnection::Sqlite(c) => {
            let delete = statement(kind, Statement::Delete(Dialect::Sqlite))?;
            for r in old {
                Fixed::<Sqlite>::new(delete)
                    .bind::<Text, _>(&r.patient_id)
                    .bind::<Text, _>(&r.doc_id)
                    .execute(c)?;
            }
            // Multi-row INSERTs of a few fixed sizes, so a handful of prepared statements
            // serve a push of any size.
            crate::in_cached_chunks!(rows, |chunk| {
                let sql = statement(kind, Statement::InsertRows(chunk.len()))?;
                let mut insert = Fixed::<Sqlite>::new(sql);
                for r in chunk {
                    insert = insert
                        .bind::<Text, _>(&r.patient_id)
                        .bind::<Text, _>(&r.doc_id)
                        .bind::<Bool, _>(r.deleted);
                    for cell in &r.cells {
                        insert = match cell {
                            Cell::Int(v) => insert.bind::<Nullable<BigInt>, _>(*v),
                            Cell::Bool(v) => insert.bind::<Nullable<Bool>, _>(*v),
                            Cell::Text(v) => insert.bind::<Nullable<Text>, _>(v.as_deref()),
                        };
                    }
                    insert = insert.bind::<BigInt, _>(now_ms);
                }
                insert.execute(c)?;
            });
        }
    }
    Ok(())
}

/// Rows as the JSON array `json_populate_recordset` reads: one object per row, keyed by column.
struct JsonRows<'a> {
    rm: &'a ReadModel,
    rows: &'a [Row],
    now_ms: i64,
}

impl Serialize for JsonRows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let columns: Vec<Column> = self.rm.columns().collect();
        let mut seq = s.serialize_seq(Some(self.rows.len()))?;
        for row in self.rows {
            seq.serialize_element(&JsonRow {
                columns: &columns,
                row,
                now_ms: self.now_ms,
            })?;
        }
        seq.end()
    }
}

struct JsonRow<'a> {
    columns: &'a [Column],
    row: &'a Row,
    now_ms: i64,
}

impl Serialize for JsonRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.row;
        let mut map = s.serialize_map(Some(self.columns.len()))?;
        let mut names = self.columns.iter().map(|c| c.name);
        let mut next = || names.next().unwrap_or("");
        map.serialize_entry(next(), &r.patient_id)?;
        map.serialize_entry(next(), &r.doc_id)?;
        map.serialize_entry(next(), &r.deleted)?;
        for cell in &r.cells {
            match cell {
                Cell::Int(v) => map.serialize_entry(next(), v)?,
                Cell::Bool(v) => map.serialize_entry(next(), v)?,
                Cell::Text(v) => map.serialize_entry(next(), v)?,
            }
        }
        map.serialize_entry(next(), &self.now_ms)?;
        map.end()
    }
}

/// A time window and a page position.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Patient id.
    pub patient: String,
    /// Inclusive lower bound (ms), if any.
    pub from: Option<i64>,
    /// Exclusive upper bound (ms), if any.
    pub to: Option<i64>,
    /// Continue after this `(time, doc_id)`, exclusive.
    pub after: Option<(i64, String)>,
    /// Page size (one more is fetched to learn whether there is a next page).
    pub limit: i64,
}

/// One listed document: its position and its JSON.
#[derive(Debug, QueryableByName)]
pub struct Listed {
    /// Its listed time (ms UTC).
    #[diesel(sql_type = BigInt)]
    pub t: i64,
    /// Document id.
    #[diesel(sql_type = Text)]
    pub doc_id: String,
    /// The document: `id` and every field.
    #[diesel(sql_type = Text)]
    pub item: String,
}

impl Listed {
    /// Where the page continues after this document.
    pub fn position(&self) -> (i64, String) {
        (self.t, self.doc_id.clone())
    }
}

fn list(
    conn: &mut DbConnection,
    kind: DocKind,
    q: &ListQuery,
    with_patient: bool,
) -> Result<Vec<Listed>, ApiError> {
    let bounds = Bounds {
        from: q.from.is_some(),
        to: q.to.is_some(),
        after: q.after.is_some(),
    };
    let (after_t, after_doc) = match &q.after {
        Some((t, doc)) => (Some(*t), Some(doc.as_str())),
        None => (None, None),
    };
    let limit = q.limit.saturating_add(1);
    macro_rules! run {
        ($db:ty, $c:expr, $dialect:expr) => {{
            let sql = statement(
                kind,
                Statement::List {
                    dialect: $dialect,
                    bounds,
                    with_patient,
                },
            )?;
            Fixed::<$db>::new(sql)
                .bind::<Text, _>(&q.patient)
                .bind::<Nullable<BigInt>, _>(q.from)
                .bind::<Nullable<BigInt>, _>(q.to)
                .bind::<Nullable<BigInt>, _>(after_t)
                .bind::<Nullable<Text>, _>(after_doc)
                .bind::<BigInt, _>(limit)
                .load::<Listed>($c)?
        }};
    }
    Ok(match conn {
        DbConnection::Pg(c) => run!(Pg, c, Dialect::Postgres),
        DbConnection::Sqlite(c) => run!(Sqlite, c, Dialect::Sqlite),
    })
}

/// The documents of `kind` in the window, newest first, `limit + 1` of them at most, each as
/// its HTTP item's JSON (`id` and every declared field; the text moves out of [`Listed::item`],
/// which is left empty).
pub fn list_json(
    conn: &mut DbConnection,
    kind: DocKind,
    q: &ListQuery,
) -> Result<Vec<(Listed, Box<RawValue>)>, ApiError> {
    list(conn, kind, q, false)?
        .into_iter()
        .map(|mut row| {
            let item =
                RawValue::from_string(std::mem::take(&mut row.item)).map_err(ApiError::internal)?;
            Ok((row, item))
        })
        .collect()
}

/// The documents of `V`'s kind in the window, newest first, `limit + 1` at most, as typed views.
pub fn list_views<V: View + DeserializeOwned>(
    conn: &mut DbConnection,
    q: &ListQuery,
) -> Result<Vec<V>, ApiError> {
    list(conn, V::KIND, q, true)?
        .iter()
        .map(|row| view_of(&row.item))
        .collect()
}

/// One document of `V`'s kind, unless it is unknown or deleted.
pub fn find_live<V: View + DeserializeOwned>(
    conn: &mut DbConnection,
    patient: &str,
    doc: &str,
) -> Result<Option<V>, ApiError> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = Text)]
        item: String,
    }
    macro_rules! run {
        ($db:ty, $c:expr, $dialect:expr) => {{
            let sql = statement(V::KIND, Statement::Find($dialect))?;
            Fixed::<$db>::new(sql)
                .bind::<Text, _>(patient)
                .bind::<Text, _>(doc)
                .load::<Found>($c)?
        }};
    }
    let found = match conn {
        DbConnection::Pg(c) => run!(Pg, c, Dialect::Postgres),
        DbConnection::Sqlite(c) => run!(Sqlite, c, Dialect::Sqlite),
    };
    found.first().map(|f| view_of(&f.item)).transpose()
}

fn view_of<V: DeserializeOwned>(item: &str) -> Result<V, ApiError> {
    serde_json::from_str(item).map_err(ApiError::internal)
}
