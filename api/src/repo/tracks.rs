//! Program tracks, their enrollments, and the sums the IOP hours ledger reads from the
//! `sessions` read model.

use crate::db::schema::{checkins, sessions, track_enrollments, tracks};
use crate::db::DbConnection;
use crate::error::ApiError;
use diesel::dsl::sum;
use diesel::prelude::*;

/// A stored track.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tracks)]
pub struct TrackRow {
    /// Id (UUID v7).
    pub id: String,
    /// The clinic it belongs to.
    pub clinic_id: String,
    /// The counselor who defined it.
    pub created_by: String,
    /// Name.
    pub name: String,
    /// IANA time zone.
    pub time_zone: String,
    /// `adult` or `adolescent`.
    pub population: String,
    /// First day, `YYYY-MM-DD`.
    pub start_date: String,
    /// Length in weeks.
    pub weeks: i32,
    /// The normalized slots, as JSON.
    pub schedule: String,
    /// When it was defined (ms UTC).
    pub created_at: i64,
}

/// Stores a new track.
pub fn insert(conn: &mut DbConnection, row: &TrackRow) -> Result<(), ApiError> {
    diesel::insert_into(tracks::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

/// A track of `clinic`, if there is one with this id.
pub fn find(conn: &mut DbConnection, id: &str, clinic: &str) -> Result<Option<TrackRow>, ApiError> {
    Ok(tracks::table
        .filter(tracks::id.eq(id))
        .filter(tracks::clinic_id.eq(clinic))
        .select(TrackRow::as_select())
        .first(conn)
        .optional()?)
}

/// Records that `patient` follows `track`; returns whether the enrollment is new. Enrolling
/// again refreshes `enrolled_at`, which makes this the patient's current track.
pub fn enroll(
    conn: &mut DbConnection,
    track: &str,
    patient: &str,
    by: &str,
    now_ms: i64,
) -> Result<bool, ApiError> {
    let updated = diesel::update(
        track_enrollments::table
            .filter(track_enrollments::track_id.eq(track))
            .filter(track_enrollments::patient_id.eq(patient)),
    )
    .set((
        track_enrollments::enrolled_at.eq(now_ms),
        track_enrollments::enrolled_by.eq(by),
    ))
    .execute(conn)?;
    if updated > 0 {
        return Ok(false);
    }
    let inserted = diesel::insert_into(track_enrollments::table)
        .values((
            track_enrollments::track_id.eq(track),
            track_enrollments::patient_id.eq(patient),
            track_enrollments::enrolled_by.eq(by),
            track_enrollments::enrolled_at.eq(now_ms),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The track the patient was most recently enrolled in.
pub fn current_track_of(
    conn: &mut DbConnection,
    patient: &str,
) -> Result<Option<TrackRow>, ApiError> {
    Ok(track_enrollments::table
        .inner_join(tracks::table.on(tracks::id.eq(track_enrollments::track_id)))
        .filter(track_enrollments::patient_id.eq(patient))
        .order((
            track_enrollments::enrolled_at.desc(),
            track_enrollments::track_id.desc(),
        ))
        .select(TrackRow::as_select())
        .first(conn)
        .optional()?)
}

/// The UTC offset (minutes) of the patient's latest check-in, if any.
pub fn latest_tz_offset(conn: &mut DbConnection, patient: &str) -> Result<Option<i32>, ApiError> {
    Ok(checkins::table
        .filter(checkins::patient_id.eq(patient))
        .filter(checkins::deleted.eq(false))
        .filter(checkins::recorded_at.is_not_null())
        .filter(checkins::tz_offset_min.is_not_null())
        .order(checkins::recorded_at.desc())
        .select(checkins::tz_offset_min)
        .first::<Option<i32>>(conn)
        .optional()?
        .flatten())
}

/// Attendance marks that count as attended hours (present for at least part of the session).
pub const ATTENDED: [&str; 3] = ["attended", "late", "left_early"];

/// Minutes scheduled and attended in `[start_ms, end_ms)`: sessions not deleted and not
/// cancelled, by start time; attended ones are those marked attended, late or left early.
pub fn minutes_in(
    conn: &mut DbConnection,
    patient: &str,
    start_ms: i64,
    end_ms: i64,
) -> Result<(i64, i64), ApiError> {
    let rows: Vec<(Option<String>, Option<i64>)> = sessions::table
        .filter(sessions::patient_id.eq(patient))
        .filter(sessions::deleted.eq(false))
        .filter(
            sessions::status
                .is_null()
                .or(sessions::status.ne("cancelled")),
        )
        .filter(sessions::starts_at.ge(start_ms))
        .filter(sessions::starts_at.lt(end_ms))
        .group_by(sessions::attendance)
        .select((sessions::attendance, sum(sessions::duration_min)))
        .load(conn)?;
    let mut scheduled = 0;
    let mut attended = 0;
    for (mark, minutes) in rows {
        let minutes = minutes.unwrap_or(0);
        scheduled += minutes;
        if mark.as_deref().is_some_and(|m| ATTENDED.contains(&m)) {
            attended += minutes;
        }
    }
    Ok((scheduled, attended))
}
