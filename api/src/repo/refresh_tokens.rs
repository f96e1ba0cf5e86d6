//! Rotating refresh tokens with reuse detection.
//!
//! A family is one sign-in on one device. Each refresh marks the presented token used and adds
//! its successor to the family. Presenting a token that was already used means two parties hold
//! the same session (a stolen token, or a copy of the phone's storage): the whole family is
//! revoked, and both must sign in again. A family is a session of [`crate::repo::sign_ins`]
//! (same id): revoking the family ends the session, which ends its access tokens too, and a
//! session past its absolute lifetime refreshes no more however often it was used.

use crate::db::schema::refresh_tokens;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::repo::sign_ins::{self, Standing};
use diesel::prelude::*;
use std::time::Duration;
use uuid::Uuid;

/// Stores a new token (by digest) in a family.
pub fn insert(
    conn: &mut DbConnection,
    family: Uuid,
    user: Uuid,
    device: Uuid,
    token_digest: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<(), ApiError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::now_v7().to_string()),
            refresh_tokens::family_id.eq(family.to_string()),
            refresh_tokens::user_id.eq(user.to_string()),
            refresh_tokens::device_id.eq(device.to_string()),
            refresh_tokens::token_hash.eq(token_digest),
            refresh_tokens::created_at.eq(now_ms),
            refresh_tokens::expires_at.eq(now_ms.saturating_add(ttl_ms)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The session a valid refresh token belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    /// The family to continue.
    pub family: Uuid,
    /// The user.
    pub user: Uuid,
    /// The device.
    pub device: Uuid,
    /// When the session was signed in (ms), for its absolute lifetime.
    pub started_at: i64,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, Copy)]
pub enum Rotation {
    /// The token was current: it is now used, and the caller issues its successor.
    Rotated(Session),
    /// No such token, or it was revoked by sign-out.
    Invalid,
    /// The token's time is up.
    Expired,
    /// The session is older than the absolute session lifetime.
    SessionExpired,
    /// The token was already used: its family has just been revoked.
    ReuseDetected {
        /// The revoked family's user, for the log.
        user: Uuid,
    },
}

fn uuid(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::internal("corrupt id on a refresh token"))
}

/// Consumes a presented token of a session no older than `max_age`. Call inside a write
/// transaction.
pub fn rotate(
    conn: &mut DbConnection,
    token_digest: &str,
    now_ms: i64,
    max_age: Duration,
) -> Result<Rotation, ApiError> {
    type Row = (
        String,
        String,
        String,
        String,
        i64,
        Option<i64>,
        Option<i64>,
    );
    let Some((id, family, user, device, expires_at, used_at, revoked_at)) = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_digest))
        .select((
            refresh_tokens::id,
            refresh_tokens::family_id,
            refresh_tokens::user_id,
            refresh_tokens::device_id,
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
            refresh_tokens::revoked_at,
        ))
        .first::<Row>(conn)
        .optional()?
    else {
        return Ok(Rotation::Invalid);
    };
    if revoked_at.is_some() {
        return Ok(Rotation::Invalid);
    }
    if used_at.is_some() {
        revoke_family(conn, &family, now_ms)?;
        return Ok(Rotation::ReuseDetected { user: uuid(&user)? });
    }
    let started_at = match sign_ins::check(conn, uuid(&family)?, uuid(&user)?, now_ms, max_age)? {
        Standing::Live { started_at } => started_at,
        Standing::Expired => return Ok(Rotation::SessionExpired),
        Standing::Revoked | Standing::Unknown => return Ok(Rotation::Invalid),
    };
    if expires_at <= now_ms {
        return Ok(Rotation::Expired);
    }
    let claimed = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(&id))
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now_ms))
    .execute(conn)?;
    if claimed != 1 {
        // Another request rotated it between our read and write: that is reuse too.
        revoke_family(conn, &family, now_ms)?;
        return Ok(Rotation::ReuseDetected { user: uuid(&user)? });
    }
    Ok(Rotation::Rotated(Session {
        family: uuid(&family)?,
        user: uuid(&user)?,
        device: uuid(&device)?,
        started_at,
    }))
}

fn revoke_family(conn: &mut DbConnection, family: &str, now_ms: i64) -> Result<(), ApiError> {
    sign_ins::revoke(conn, family, now_ms)?;
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now_ms))
    .execute(conn)?;
    Ok(())
}

/// Revokes every session of one device (sign-out on that phone).
pub fn revoke_device(
    conn: &mut DbConnection,
    device: Uuid,
    now_ms: i64,
) -> Result<usize, ApiError> {
    sign_ins::revoke_device(conn, device, now_ms)?;
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::device_id.eq(device.to_string()))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now_ms))
    .execute(conn)?)
}

/// Revokes every session of a user on every device (sign-out everywhere).
pub fn revoke_user(conn: &mut DbConnection, user: Uuid, now_ms: i64) -> Result<usize, ApiError> {
    sign_ins::revoke_user(conn, user, now_ms)?;
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user.to_string()))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now_ms))
    .execute(conn)?)
}
