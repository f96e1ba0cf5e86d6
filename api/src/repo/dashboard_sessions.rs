//! Dashboard browser sessions, as stored: only the SHA-256 of each session token, with the
//! device the session writes under.

use crate::db::schema::{dashboard_sessions, devices, users};
use crate::db::DbConnection;
use crate::error::ApiError;
use diesel::prelude::*;

/// A session that has not been ended, with its counselor's account as stored.
#[derive(Debug, Clone, Queryable)]
pub struct OpenSession {
    /// The signed-in user's id.
    pub user_id: String,
    /// The device the session writes under.
    pub device_id: String,
    /// When it started, in milliseconds UTC.
    pub created_at: i64,
    /// Its last request, in milliseconds UTC.
    pub last_seen_at: i64,
    /// The user's role, as stored.
    pub role: String,
    /// The user's clinic.
    pub clinic_id: String,
    /// The user's name, for the page header.
    pub display_name: String,
}

/// Stores a new session under the token digest `hash`.
pub fn insert(
    conn: &mut DbConnection,
    hash: &str,
    user: &str,
    device: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    diesel::insert_into(dashboard_sessions::table)
        .values((
            dashboard_sessions::token_hash.eq(hash),
            dashboard_sessions::user_id.eq(user),
            dashboard_sessions::device_id.eq(device),
            dashboard_sessions::created_at.eq(now_ms),
            dashboard_sessions::last_seen_at.eq(now_ms),
        ))
        .execute(conn)?;
    Ok(())
}

/// The session whose token digest is `hash`, unless it has been ended.
pub fn find_open(conn: &mut DbConnection, hash: &str) -> Result<Option<OpenSession>, ApiError> {
    Ok(dashboard_sessions::table
        .inner_join(users::table.on(users::id.eq(dashboard_sessions::user_id)))
        .filter(dashboard_sessions::token_hash.eq(hash))
        .filter(dashboard_sessions::ended_at.is_null())
        .select((
            dashboard_sessions::user_id,
            dashboard_sessions::device_id,
            dashboard_sessions::created_at,
            dashboard_sessions::last_seen_at,
            users::role,
            users::clinic_id,
            users::display_name,
        ))
        .first::<OpenSession>(conn)
        .optional()?)
}

/// Restarts a session's idle clock.
pub fn touch(conn: &mut DbConnection, hash: &str, now_ms: i64) -> Result<(), ApiError> {
    diesel::update(dashboard_sessions::table.find(hash))
        .set(dashboard_sessions::last_seen_at.eq(now_ms))
        .execute(conn)?;
    Ok(())
}

/// Ends a session and revokes its device, which writes nothing more (like a signed-out phone);
/// ending an unknown or ended session changes nothing. Run inside a write transaction.
pub fn end(conn: &mut DbConnection, hash: &str, now_ms: i64) -> Result<(), ApiError> {
    let device: Option<String> = diesel::update(
        dashboard_sessions::table
            .find(hash)
            .filter(dashboard_sessions::ended_at.is_null()),
    )
    .set(dashboard_sessions::ended_at.eq(now_ms))
    .returning(dashboard_sessions::device_id)
    .get_result(conn)
    .optional()?;
    if let Some(device) = device {
        diesel::update(devices::table.find(device))
            .set(devices::revoked_at.eq(now_ms))
            .execute(conn)?;
    }
    Ok(())
}
