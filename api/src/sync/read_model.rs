//! Typed read-model rows, built from a document's merged fields with sync-core's own views so the
//! server reads a document exactly as a phone does.
//!
//! Check-ins and exercises also carry the patient's local day, hour and weekday at the moment
//! they happened (from the UTC offset the phone recorded), computed here once at write time so
//! that trends are a plain `GROUP BY` on both backends.

use crate::crisis::CrisisSigns;
use crate::db::fixed_sql::Fixed;
use crate::db::schema::{checkins, exercises, sessions};
use crate::db::DbConnection;
use crate::error::ApiError;
use diesel::prelude::*;
use diesel::sql_types::{Array, Text};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use sync_core::{view::is_deleted, CheckIn, DocKey, DocKind, Exercise, Session, View};

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Local calendar position of an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Days since 1970-01-01, local.
    pub day: i32,
    /// Hour 0–23, local.
    pub hour: i32,
    /// 0 = Monday … 6 = Sunday.
    pub weekday: i32,
}

/// Where `at_ms` (UTC) falls in a calendar `offset_min` minutes from UTC. Without an offset the
/// instant is placed in UTC.
pub fn local_time(at_ms: i64, offset_min: Option<i16>) -> LocalTime {
    let local = at_ms + i64::from(offset_min.unwrap_or(0)) * 60_000;
    let day = local.div_euclid(DAY_MS);
    LocalTime {
        day: i32::try_from(day).unwrap_or(0),
        hour: i32::try_from(local.rem_euclid(DAY_MS) / HOUR_MS).unwrap_or(0),
        // 1970-01-01 was a Thursday (3 when Monday is 0).
        weekday: i32::try_from((day + 3).rem_euclid(7)).unwrap_or(0),
    }
}

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

fn checkin_row(key: DocKey, fields: &[(&str, &Value)], now_ms: i64) -> CheckinRow {
    let deleted = is_deleted(fields.iter().copied());
    let c = CheckIn::from_fields(key, fields.iter().copied());
    let local = c.recorded_at.map(|at| local_time(at, c.tz_offset_min));
    CheckinRow {
        patient_id: key.patient.to_string(),
        doc_id: key.doc.to_string(),
        deleted,
        recorded_at: c.recorded_at,
        tz_offset_min: c.tz_offset_min.map(i32::from),
        local_day: local.map(|l| l.day),
        local_hour: local.map(|l| l.hour),
        local_weekday: local.map(|l| l.weekday),
        intensity: c.intensity.map(i32::from),
        mood: c.mood.map(i32::from),
        lapse: c.lapse,
        substance: c.substance,
        context: c.context.map(|t| t.as_str().to_string()),
        crisis: c.crisis,
        note: c.note.map(|t| t.as_str().to_string()),
        triggers: serde_json::to_string(&c.triggers).unwrap_or_else(|_| "[]".into()),
        updated_at: now_ms,
    }
}

fn exercise_row(key: DocKey, fields: &[(&str, &Value)], now_ms: i64) -> ExerciseRow {
    let deleted = is_deleted(fields.iter().copied());
    let e = Exercise::from_fields(key, fields.iter().copied());
    let local = e.started_at.map(|at| local_time(at, e.tz_offset_min));
    ExerciseRow {
        patient_id: key.patient.to_string(),
        doc_id: key.doc.to_string(),
        deleted,
        skill: e.skill,
        started_at: e.started_at,
        tz_offset_min: e.tz_offset_min.map(i32::from),
        local_day: local.map(|l| l.day),
        local_hour: local.map(|l| l.hour),
        duration_min: e.duration_min.map(i32::from),
        craving_before: e.craving_before.map(i32::from),
        craving_after: e.craving_after.map(i32::from),
        helpfulness: e.helpfulness.map(i32::from),
        note: e.note.map(|t| t.as_str().to_string()),
        updated_at: now_ms,
    }
}

fn session_row(key: DocKey, fields: &[(&str, &Value)], now_ms: i64) -> SessionRow {
    let deleted = is_deleted(fields.iter().copied());
    let s = Session::from_fields(key, fields.iter().copied());
    SessionRow {
        patient_id: key.patient.to_string(),
        doc_id: key.doc.to_string(),
        deleted,
        kind: s.kind,
        title: s.title,
        starts_at: s.starts_at,
        duration_min: s.duration_min.map(i32::from),
        location: s.location,
        telehealth_url: s.telehealth_url,
        status: s.status,
        rsvp: s.rsvp,
        rsvp_note: s.rsvp_note.map(|t| t.as_str().to_string()),
        attendance: s.attendance,
        updated_at: now_ms,
    }
}

/// One document to rewrite: its complete merged field list, and whether it had stored fields
/// before this push (only then does it have a read-model row to replace).
pub struct Refresh<'a> {
    /// The document.
    pub key: DocKey,
    /// Every merged field, by name.
    pub fields: Vec<(&'a str, &'a Value)>,
    /// Whether the document had stored fields before.
    pub existed: bool,
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

/// Rewrites the read-model rows of many documents, each from its complete merged field list:
/// a few multi-row statements per kind instead of statements per document. Plans have no read
/// model yet: they are read through pulls. Returns what each rewritten check-in now says about
/// a crisis (a deleted one says nothing).
pub fn refresh_many(
    conn: &mut DbConnection,
    docs: &[Refresh<'_>],
    now_ms: i64,
) -> Result<Vec<(DocKey, CrisisSigns)>, ApiError> {
    let mut checkin_rows = Vec::new();
    let mut checkins_existed = Vec::new();
    let mut exercise_rows = Vec::new();
    let mut exercises_existed = Vec::new();
    let mut session_rows = Vec::new();
    let mut sessions_existed = Vec::new();
    let mut signs = Vec::new();
    for doc in docs {
        match doc.key.kind {
            DocKind::Checkin => {
                let row = checkin_row(doc.key, &doc.fields, now_ms);
                if !row.deleted {
                    signs.push((
                        doc.key,
                        CrisisSigns::of_row(row.crisis, row.lapse, row.intensity),
                    ));
                }
                checkin_rows.push(row);
                checkins_existed.push(doc.existed);
            }
            DocKind::Exercise => {
                exercise_rows.push(exercise_row(doc.key, &doc.fields, now_ms));
                exercises_existed.push(doc.existed);
            }
            DocKind::Session => {
                session_rows.push(session_row(doc.key, &doc.fields, now_ms));
                sessions_existed.push(doc.existed);
            }
            DocKind::Plan => {}
        }
    }
    rewrite_rows!(conn, checkins, checkin_rows, checkins_existed);
    rewrite_rows!(conn, exercises, exercise_rows, exercises_existed);
    rewrite_rows!(conn, sessions, session_rows, sessions_existed);
    Ok(signs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_follows_the_recorded_offset() {
        // 2026-03-02T03:30Z is a Monday in UTC…
        let at = 1_772_422_200_000;
        assert_eq!(
            local_time(at, None),
            LocalTime {
                day: 20_514,
                hour: 3,
                weekday: 0
            }
        );
        // …and still Sunday evening 22:30 in New York (UTC−5).
        assert_eq!(
            local_time(at, Some(-300)),
            LocalTime {
                day: 20_513,
                hour: 22,
                weekday: 6
            }
        );
    }

    #[test]
    fn the_epoch_was_a_thursday() {
        assert_eq!(local_time(0, None).weekday, 3);
        assert_eq!(
            local_time(-1, None),
            LocalTime {
                day: -1,
                hour: 23,
                weekday: 2
            }
        );
    }
}
