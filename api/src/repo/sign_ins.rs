//! Sign-ins: one sign-in on one device, continued by its refresh-token family (the table is
//! `auth_sessions`, and the errors say `session_…`: those names are the contract and stay; in the
//! code a "session" is a treatment session, see docs/architecture.md).
//!
//! Access tokens are JWTs any server can verify, but a signature cannot be taken back. So each
//! access token names its session (`sid`), and every authenticated request reads the session's
//! row by primary key ([`check`]): signing out, a detected refresh-token reuse, or the session's
//! absolute lifetime ends its access tokens on the next request, on every server behind a load
//! balancer, instead of up to an access-token lifetime later. This is the one place a request
//! learns whether its session still stands; account deactivation ends sessions here too.

use crate::db::schema::auth_sessions;
use crate::db::DbConnection;
use crate::error::ApiError;
use diesel::prelude::*;
use std::time::Duration;
use uuid::Uuid;

/// Starts a session (its id is the refresh-token family's).
pub fn start(
    conn: &mut DbConnection,
    id: Uuid,
    user: Uuid,
    device: Uuid,
    now_ms: i64,
) -> Result<(), ApiError> {
    diesel::insert_into(auth_sessions::table)
        .values((
            auth_sessions::id.eq(id.to_string()),
            auth_sessions::user_id.eq(user.to_string()),
            auth_sessions::device_id.eq(device.to_string()),
            auth_sessions::created_at.eq(now_ms),
        ))
        .execute(conn)?;
    Ok(())
}

/// What a request's session turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The session stands; it began at this time (ms).
    Live {
        /// When the session was signed in.
        started_at: i64,
    },
    /// Signed out, or ended because its refresh token was reused.
    Revoked,
    /// Older than the absolute session lifetime.
    Expired,
    /// No such session for this user.
    Unknown,
}

/// When a session that began at `started_at` ends, however often it is refreshed.
pub fn ends_at(started_at: i64, max_age: Duration) -> i64 {
    started_at.saturating_add(i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX))
}

/// Whether session `id` of `user` still stands at `now_ms`: one primary-key read.
pub fn check(
    conn: &mut DbConnection,
    id: Uuid,
    user: Uuid,
    now_ms: i64,
    max_age: Duration,
) -> Result<Standing, ApiError> {
    let row = auth_sessions::table
        .find(id.to_string())
        .select((
            auth_sessions::user_id,
            auth_sessions::created_at,
            auth_sessions::revoked_at,
        ))
        .first::<(String, i64, Option<i64>)>(conn)
        .optional()?;
    Ok(match row {
        None => Standing::Unknown,
        Some((owner, _, _)) if owner != user.to_string() => Standing::Unknown,
        Some((_, _, Some(_))) => Standing::Revoked,
        Some((_, started_at, None)) if ends_at(started_at, max_age) <= now_ms => Standing::Expired,
        Some((_, started_at, None)) => Standing::Live { started_at },
    })
}

/// Ends one session.
pub fn revoke(conn: &mut DbConnection, id: &str, now_ms: i64) -> Result<usize, ApiError> {
    Ok(diesel::update(
        auth_sessions::table
            .find(id)
            .filter(auth_sessions::revoked_at.is_null()),
    )
    .set(auth_sessions::revoked_at.eq(now_ms))
    .execute(conn)?)
}

/// Ends every session of one device.
pub fn revoke_device(
    conn: &mut DbConnection,
    device: Uuid,
    now_ms: i64,
) -> Result<usize, ApiError> {
    Ok(diesel::update(
        auth_sessions::table
            .filter(auth_sessions::device_id.eq(device.to_string()))
            .filter(auth_sessions::revoked_at.is_null()),
    )
    .set(auth_sessions::revoked_at.eq(now_ms))
    .execute(conn)?)
}

/// Ends every session of a user.
pub fn revoke_user(conn: &mut DbConnection, user: Uuid, now_ms: i64) -> Result<usize, ApiError> {
    Ok(diesel::update(
        auth_sessions::table
            .filter(auth_sessions::user_id.eq(user.to_string()))
            .filter(auth_sessions::revoked_at.is_null()),
    )
    .set(auth_sessions::revoked_at.eq(now_ms))
    .execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_ends_its_maximum_age_after_it_began() {
        assert_eq!(ends_at(1_000, Duration::from_secs(2)), 3_000);
        assert_eq!(ends_at(i64::MAX - 1, Duration::from_secs(2)), i64::MAX);
    }
}
