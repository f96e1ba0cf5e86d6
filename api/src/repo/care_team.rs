//! Care-team assignments: which counselors are responsible for which patients.

use crate::db::schema::care_team;
use crate::db::DbConnection;
use crate::error::ApiError;
use diesel::prelude::*;
use uuid::Uuid;

/// Assigns a counselor to a patient (a no-op when already assigned).
pub fn assign(
    conn: &mut DbConnection,
    counselor: Uuid,
    patient: Uuid,
    now_ms: i64,
) -> Result<(), ApiError> {
    if is_assigned(conn, counselor, patient)? {
        return Ok(());
    }
    diesel::insert_into(care_team::table)
        .values((
            care_team::counselor_id.eq(counselor.to_string()),
            care_team::patient_id.eq(patient.to_string()),
            care_team::created_at.eq(now_ms),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether the counselor is on the patient's care team.
pub fn is_assigned(
    conn: &mut DbConnection,
    counselor: Uuid,
    patient: Uuid,
) -> Result<bool, ApiError> {
    let count: i64 = care_team::table
        .filter(care_team::counselor_id.eq(counselor.to_string()))
        .filter(care_team::patient_id.eq(patient.to_string()))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// The patients on a counselor's care team (ids as stored).
pub fn patients_of(conn: &mut DbConnection, counselor: Uuid) -> Result<Vec<String>, ApiError> {
    Ok(care_team::table
        .filter(care_team::counselor_id.eq(counselor.to_string()))
        .select(care_team::patient_id)
        .load(conn)?)
}
