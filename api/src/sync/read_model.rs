//! Typed read-model rows, built from a document's merged fields with sync-core's own views so the
//! server reads a document exactly as a phone does.
//!
//! Check-ins and exercises also carry the patient's local day, hour and weekday at the moment
//! they happened (from the UTC offset the phone recorded), computed here once at write time so
//! that trends are a plain `GROUP BY` on both backends.

use crate::crisis::CrisisSigns;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::repo::read_models::{self, CheckinRow, ExerciseRow, SessionRow};
use serde_json::Value;
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
    read_models::rewrite_checkins(conn, &checkin_rows, &checkins_existed)?;
    read_models::rewrite_exercises(conn, &exercise_rows, &exercises_existed)?;
    read_models::rewrite_sessions(conn, &session_rows, &sessions_existed)?;
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
