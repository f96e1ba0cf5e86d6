//! The typed read-model tables: their rows, rewriting them when a push changes documents
//! ([`crate::sync::read_model`] builds the rows from sync-core's views), and listing them newest
//! first, keyset-paginated, tombstoned documents and documents without a time left out.

use crate::db::fixed_sql::Fixed;
use crate::db::schema::{checkins, exercises, sessions};
use crate::db::DbConnection;
use crate::error::ApiError;
use diesel::prelude::*;
use diesel::sql_types::{Array, Text};
use serde::Serialize;
use std::collections::BTreeMap;

/// A check-in row.
#[derive(Debug, Clone, Insertable, Queryable, Selectable, Serialize)]
// `None` is written as NULL, not as DEFAULT: with no defaultable column, diesel writes one
// multi-row INSERT on SQLite instead of a statement per row.
#[diesel(table_name = checkins, treat_none_as_default_value = false)]
pub struct CheckinRow {
    pub patient_id: String,
    pub doc_id: String,
    pub deleted: bool,
    pub recorded_at: Option<i64>,
    pub tz_offset_min: Option<i32>,
    pub local_day: Option<i32>,
    pub local_hour: Option<i32>,
    pub local_weekday: Option<i32>,
    pub intensity: Option<i32>,
    pub mood: Option<i32>,
    pub lapse: Option<bool>,
    pub substance: Option<String>,
    pub context: Option<String>,
    pub crisis: bool,
    pub note: Option<String>,
    pub triggers: String,
    pub updated_at: i64,
}

/// An exercise row.
#[derive(Debug, Clone, Insertable, Queryable, Selectable, Serialize)]
// `None` is written as NULL, not as DEFAULT: with no defaultable column, diesel writes one
// multi-row INSERT on SQLite instead of a statement per row.
#[diesel(table_name = exercises, treat_none_as_default_value = false)]
pub struct ExerciseRow {
    pub patient_id: String,
    pub doc_id: String,
    pub deleted: bool,
    pub skill: Option<String>,
    pub started_at: Option<i64>,
    pub tz_offset_min: Option<i32>,
    pub local_day: Option<i32>,
    pub local_hour: Option<i32>,
    pub duration_min: Option<i32>,
    pub craving_before: Option<i32>,
    pub craving_after: Option<i32>,
    pub helpfulness: Option<i32>,
    pub note: Option<String>,
    pub updated_at: i64,
}

/// A session row.
#[derive(Debug, Clone, Insertable, Queryable, Selectable, Serialize)]
// `None` is written as NULL, not as DEFAULT: with no defaultable column, diesel writes one
// multi-row INSERT on SQLite instead of a statement per row.
#[diesel(table_name = sessions, treat_none_as_default_value = false)]
pub struct SessionRow {
    pub patient_id: String,
    pub doc_id: String,
    pub deleted: bool,
    pub kind: Option<String>,
    pub title: Option<String>,
    pub starts_at: Option<i64>,
    pub duration_min: Option<i32>,
    pub location: Option<String>,
    pub telehealth_url: Option<String>,
    pub status: Option<String>,
    pub rsvp: Option<String>,
    pub rsvp_note: Option<String>,
    pub attendance: Option<String>,
    pub updated_at: i64,
}

/// Replaces the read-model rows of one table: delete the old rows of the documents that had
/// one, insert every new row (every column is given, so this is an upsert without per-backend
/// `ON CONFLICT` clauses; a push of new documents, the common case, deletes nothing).
macro_rules! rewrite_rows {
    ($conn:expr, $table:ident, $rows:expr, $existed:expr) => {
        let old = $rows
            .iter()
            .zip($existed.iter())
            .filter(|(_, existed)| **existed)
            .map(|(r, _)| (&r.patient_id, &r.doc_id));
        // Only edits of existing documents come here. Each document is found on its whole
        // primary key, a plan no statistics can spoil: on PostgreSQL by a fenced LATERAL probe
        // per id (see `sync_store::fields_of_docs`) whose row addresses the delete then takes,
        // all in one statement; on SQLite by one prepared statement per document, in-process.
        match &mut *$conn {
            DbConnection::Pg(c) => {
                let mut by_patient: BTreeMap<&String, Vec<&String>> = BTreeMap::new();
                for (patient, doc) in old {
                    by_patient.entry(patient).or_default().push(doc);
                }
                for (patient, docs) in by_patient {
                    diesel::sql_query(concat!(
                        "DELETE FROM ",
                        stringify!($table),
                        " WHERE ctid = ANY (ARRAY(SELECT o.ctid \
                         FROM unnest($2::text[]) AS d (doc_id) CROSS JOIN LATERAL \
                         (SELECT ctid FROM ",
                        stringify!($table),
                        " WHERE patient_id = $1 AND doc_id = d.doc_id OFFSET 0) AS o))"
                    ))
                    .bind::<Text, _>(patient)
                    .bind::<Array<Text>, _>(&docs)
                    .execute(c)?;
                }
            }
            DbConnection::Sqlite(c) => {
                for (patient, doc) in old {
                    diesel::delete(
                        $table::table
                            .filter($table::patient_id.eq(patient))
                            .filter($table::doc_id.eq(doc)),
                    )
                    .execute(c)?;
                }
            }
        }
        // PostgreSQL: the rows as one JSON array that the database turns into rows of the
        // table's own type, one statement of fixed text whatever their number, so one round
        // trip. The row structs name their fields after the columns. SQLite: multi-row INSERTs
        // of fixed sizes, in-process.
        match &mut *$conn {
            DbConnection::Pg(c) => {
                if !$rows.is_empty() {
                    let rows = serde_json::to_string(&$rows).map_err(ApiError::internal)?;
                    Fixed::new(concat!(
                        "INSERT INTO ",
                        stringify!($table),
                        " SELECT * FROM json_populate_recordset(NULL::",
                        stringify!($table),
                        ", $1::json)"
                    ))
                    .bind::<Text, _>(rows)
                    .execute(c)?;
                }
            }
            DbConnection::Sqlite(c) => crate::in_cached_chunks!($rows, |rows| {
                diesel::insert_into($table::table).values(rows).execute(c)?;
            }),
        }
    };
}

/// Replaces the check-in rows of these documents (`existed`: whether each had a row before).
pub fn rewrite_checkins(
    conn: &mut DbConnection,
    rows: &[CheckinRow],
    existed: &[bool],
) -> Result<(), ApiError> {
    rewrite_rows!(conn, checkins, rows, existed);
    Ok(())
}

/// Replaces the exercise rows of these documents.
pub fn rewrite_exercises(
    conn: &mut DbConnection,
    rows: &[ExerciseRow],
    existed: &[bool],
) -> Result<(), ApiError> {
    rewrite_rows!(conn, exercises, rows, existed);
    Ok(())
}

/// Replaces the session rows of these documents.
pub fn rewrite_sessions(
    conn: &mut DbConnection,
    rows: &[SessionRow],
    existed: &[bool],
) -> Result<(), ApiError> {
    rewrite_rows!(conn, sessions, rows, existed);
    Ok(())
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

/// Builds the list query for one read-model table: the tables differ only in their time column.
macro_rules! list_rows {
    ($conn:expr, $q:expr, $table:ident, $time:ident, $row:ty) => {{
        let q = $q;
        let mut query = $table::table
            .filter($table::patient_id.eq(&q.patient))
            .filter($table::deleted.eq(false))
            .filter($table::$time.is_not_null())
            .into_boxed();
        if let Some(from) = q.from {
            query = query.filter($table::$time.ge(from));
        }
        if let Some(to) = q.to {
            query = query.filter($table::$time.lt(to));
        }
        if let Some((t, doc)) = q.after.clone() {
            query = query.filter(
                $table::$time
                    .lt(t)
                    .or($table::$time.eq(t).and($table::doc_id.lt(doc))),
            );
        }
        query
            .order(($table::$time.desc(), $table::doc_id.desc()))
            .limit(q.limit + 1)
            .select(<$row>::as_select())
            .load::<$row>($conn)
    }};
}

/// Check-ins by `recorded_at`.
pub fn checkins(conn: &mut DbConnection, q: &ListQuery) -> Result<Vec<CheckinRow>, ApiError> {
    Ok(list_rows!(conn, q, checkins, recorded_at, CheckinRow)?)
}

/// Exercises by `started_at`.
pub fn exercises(conn: &mut DbConnection, q: &ListQuery) -> Result<Vec<ExerciseRow>, ApiError> {
    Ok(list_rows!(conn, q, exercises, started_at, ExerciseRow)?)
}

/// Sessions by `starts_at`.
pub fn sessions(conn: &mut DbConnection, q: &ListQuery) -> Result<Vec<SessionRow>, ApiError> {
    Ok(list_rows!(conn, q, sessions, starts_at, SessionRow)?)
}
