//! Consents and the access log, as stored.

use crate::db::schema::{access_log, consents, users};
use crate::db::DbConnection;
use crate::error::ApiError;
use diesel::prelude::*;
use uuid::Uuid;

/// A consent row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consents)]
pub struct ConsentRow {
    pub id: String,
    pub patient_id: String,
    pub grantee: String,
    pub counselor_id: Option<String>,
    pub purpose: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Stores a new consent.
pub fn insert(conn: &mut DbConnection, row: &ConsentRow) -> Result<(), ApiError> {
    diesel::insert_into(consents::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Every consent a patient has given, newest first.
pub fn of_patient(conn: &mut DbConnection, patient: Uuid) -> Result<Vec<ConsentRow>, ApiError> {
    Ok(consents::table
        .filter(consents::patient_id.eq(patient.to_string()))
        .order((consents::created_at.desc(), consents::id.desc()))
        .select(ConsentRow::as_select())
        .load(conn)?)
}

/// Revokes one of a patient's consents (a no-op when already revoked); `false` when the patient
/// has no such consent.
pub fn revoke(
    conn: &mut DbConnection,
    patient: Uuid,
    consent: Uuid,
    now_ms: i64,
) -> Result<bool, ApiError> {
    let of_patient = consents::table
        .filter(consents::id.eq(consent.to_string()))
        .filter(consents::patient_id.eq(patient.to_string()));
    let revoked = diesel::update(of_patient.clone().filter(consents::revoked_at.is_null()))
        .set(consents::revoked_at.eq(now_ms))
        .execute(conn)?;
    if revoked > 0 {
        return Ok(true);
    }
    // Already revoked (a no-op), or not this patient's consent at all.
    Ok(of_patient.count().get_result::<i64>(conn)? > 0)
}

/// One access-log entry with the reader's name.
#[derive(Debug, Clone, Queryable)]
pub struct AccessRow {
    pub id: String,
    pub at: i64,
    pub actor_id: String,
    pub actor_name: String,
    pub actor_role: String,
    pub action: String,
    pub consent_id: String,
}

/// A patient's access log, newest first, after an optional `(at, id)` position.
pub fn access_log_page(
    conn: &mut DbConnection,
    patient: Uuid,
    from: Option<i64>,
    to: Option<i64>,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<AccessRow>, ApiError> {
    let mut query = access_log::table
        .inner_join(users::table.on(users::id.eq(access_log::actor_id)))
        .filter(access_log::patient_id.eq(patient.to_string()))
        .into_boxed();
    if let Some(from) = from {
        query = query.filter(access_log::at.ge(from));
    }
    if let Some(to) = to {
        query = query.filter(access_log::at.lt(to));
    }
    if let Some((at, id)) = after {
        query = query.filter(
            access_log::at
                .lt(at)
                .or(access_log::at.eq(at).and(access_log::id.lt(id))),
        );
    }
    Ok(query
        .order((access_log::at.desc(), access_log::id.desc()))
        .limit(limit + 1)
        .select((
            access_log::id,
            access_log::at,
            access_log::actor_id,
            users::display_name,
            access_log::actor_role,
            access_log::action,
            access_log::consent_id,
        ))
        .load(conn)?)
}

/// Every consent of `patients` in force at `now_ms` (not revoked, not expired) that covers
/// counselor `counselor` (naming them or the whole care team), as `(patient, consent)` ids,
/// newest first.
pub fn active_covering(
    conn: &mut DbConnection,
    patients: &[String],
    counselor: Uuid,
    now_ms: i64,
) -> Result<Vec<(String, String)>, ApiError> {
    Ok(consents::table
        .filter(consents::patient_id.eq_any(patients))
        .filter(consents::revoked_at.is_null())
        .filter(
            consents::expires_at
                .is_null()
                .or(consents::expires_at.gt(now_ms)),
        )
        .filter(
            consents::grantee
                .eq("care_team")
                .or(consents::counselor_id.eq(counselor.to_string())),
        )
        .order((consents::created_at.desc(), consents::id.desc()))
        .select((consents::patient_id, consents::id))
        .load(conn)?)
}

/// One staff read, as the access log stores it.
#[derive(Debug, Clone, Copy)]
pub struct AccessEntry<'a> {
    /// Whose records were read.
    pub patient: Uuid,
    /// Who read them.
    pub actor: Uuid,
    /// The reader's role, as stored.
    pub actor_role: &'a str,
    /// What was read, as stored.
    pub action: &'a str,
    /// The consent that allowed the read.
    pub consent: Uuid,
    /// When, in milliseconds UTC.
    pub at: i64,
}

/// Appends one entry to the access log.
pub fn record_access(conn: &mut DbConnection, entry: &AccessEntry<'_>) -> Result<(), ApiError> {
    diesel::insert_into(access_log::table)
        .values((
            access_log::id.eq(Uuid::now_v7().to_string()),
            access_log::patient_id.eq(entry.patient.to_string()),
            access_log::actor_id.eq(entry.actor.to_string()),
            access_log::actor_role.eq(entry.actor_role),
            access_log::action.eq(entry.action),
            access_log::consent_id.eq(entry.consent.to_string()),
            access_log::at.eq(entry.at),
        ))
        .execute(conn)?;
    Ok(())
}
