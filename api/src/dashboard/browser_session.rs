//! Browser sessions of the dashboard, stored in the database so that any server behind a load
//! balancer can serve any request (servers keep nothing in memory).
//!
//! The cookie carries a 256-bit random token; the table keeps only its SHA-256, so a database
//! leak hands out no usable session. Each session has a device of its own (`dashboard
//! (browser)`), which authors the ops the counselor writes from the dashboard: the op log tells
//! which browser session made a change. Every request moves `last_seen_at`; a session left idle
//! longer than `TETHER_DASHBOARD_IDLE_MINUTES`, or older than [`MAX_AGE_MS`], is ended on its
//! next request (automatic logoff), and signing out ends it at once.

use crate::auth::{token, AuthUser};
use crate::db::{self, DbConnection};
use crate::domain::Role;
use crate::error::ApiError;
use crate::repo::accounts::{self, User};
use crate::repo::dashboard_sessions;
use std::time::Duration;
use uuid::Uuid;

/// The device name dashboard sessions write under.
pub const DEVICE_NAME: &str = "dashboard (browser)";
/// However active, a session ends after a working day and must sign in again.
pub const MAX_AGE_MS: i64 = 12 * 3_600_000;

/// A live session, as a request finds it.
#[derive(Debug, Clone)]
pub struct Active {
    /// The counselor, with the session's device: usable with [`crate::access`] and the push path.
    pub user: AuthUser,
    /// Their name, for the page header.
    pub display_name: String,
}

/// What a session token turned out to be.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// A live session (its idle clock now restarted).
    Active(Active),
    /// A session that was idle too long or is too old: ended now.
    Expired,
    /// No such session, or one already ended.
    Unknown,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Starts a session for `user` (a counselor) and returns its token, for the cookie.
pub fn start(conn: &mut DbConnection, user: &User, now_ms: i64) -> Result<String, ApiError> {
    let session_token = token::new_refresh_token();
    let hash = token::digest(&session_token);
    db::write_tx(conn, |conn| {
        let device = accounts::create_device(conn, user.id, DEVICE_NAME, now_ms)?;
        dashboard_sessions::insert(
            conn,
            &hash,
            &user.id.to_string(),
            &device.to_string(),
            now_ms,
        )?;
        Ok::<_, ApiError>(())
    })?;
    Ok(session_token)
}

/// Finds the session of `session_token`, ends it when it has been idle longer than `idle` (or
/// is older than [`MAX_AGE_MS`]), and otherwise restarts its idle clock.
pub fn resume(
    conn: &mut DbConnection,
    session_token: &str,
    now_ms: i64,
    idle: Duration,
) -> Result<Lookup, ApiError> {
    let hash = token::digest(session_token);
    let Some(found) = dashboard_sessions::find_open(conn, &hash)? else {
        return Ok(Lookup::Unknown);
    };
    let role = Role::parse(&found.role).ok_or_else(|| ApiError::internal("corrupt role"))?;
    let expired = now_ms.saturating_sub(found.last_seen_at) > ms(idle)
        || now_ms.saturating_sub(found.created_at) > MAX_AGE_MS
        || role != Role::Counselor;
    if expired {
        end_hash(conn, &hash, now_ms)?;
        return Ok(Lookup::Expired);
    }
    dashboard_sessions::touch(conn, &hash, now_ms)?;
    let parse = |s: &str| Uuid::parse_str(s).map_err(|_| ApiError::internal("corrupt id"));
    Ok(Lookup::Active(Active {
        user: AuthUser {
            user_id: parse(&found.user_id)?,
            role,
            clinic_id: parse(&found.clinic_id)?,
            device_id: parse(&found.device_id)?,
        },
        display_name: found.display_name,
    }))
}

fn end_hash(conn: &mut DbConnection, hash: &str, now_ms: i64) -> Result<(), ApiError> {
    db::write_tx(conn, |conn| dashboard_sessions::end(conn, hash, now_ms))
}

/// Ends the session of `session_token` (signing out); ending an unknown or ended one is a no-op.
pub fn end(conn: &mut DbConnection, session_token: &str, now_ms: i64) -> Result<(), ApiError> {
    end_hash(conn, &token::digest(session_token), now_ms)
}
