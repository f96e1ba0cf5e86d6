//! One-time activation codes for new patients and counselors, stored hashed.

use crate::db::schema::enrollment_codes;
use crate::db::DbConnection;
use crate::error::ApiError;
use diesel::prelude::*;
use uuid::Uuid;

/// Stores a new code (by its digest) for an account; returns its expiry (ms).
pub fn create(
    conn: &mut DbConnection,
    account: Uuid,
    code_digest: &str,
    created_by: Uuid,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<i64, ApiError> {
    let expires_at = now_ms.saturating_add(ttl_ms);
    diesel::insert_into(enrollment_codes::table)
        .values((
            enrollment_codes::id.eq(Uuid::now_v7().to_string()),
            enrollment_codes::patient_id.eq(account.to_string()),
            enrollment_codes::code_hash.eq(code_digest),
            enrollment_codes::created_by.eq(created_by.to_string()),
            enrollment_codes::created_at.eq(now_ms),
            enrollment_codes::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(expires_at)
}

/// Why a code could not be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedeemError {
    /// No such code.
    Unknown,
    /// The code exists but its time is up.
    Expired {
        /// Whose code it was (to count the failure against the account).
        account: Uuid,
    },
    /// The code was already used.
    AlreadyUsed {
        /// Whose code it was.
        account: Uuid,
    },
}

/// Marks a code used and returns the account it activates. Call inside a write transaction: the
/// conditional update makes two concurrent redemptions of one code end with exactly one winner.
pub fn redeem(
    conn: &mut DbConnection,
    code_digest: &str,
    now_ms: i64,
) -> Result<Result<Uuid, RedeemError>, ApiError> {
    let Some((id, account, expires_at, used_at)) = enrollment_codes::table
        .filter(enrollment_codes::code_hash.eq(code_digest))
        .select((
            enrollment_codes::id,
            enrollment_codes::patient_id,
            enrollment_codes::expires_at,
            enrollment_codes::used_at,
        ))
        .first::<(String, String, i64, Option<i64>)>(conn)
        .optional()?
    else {
        return Ok(Err(RedeemError::Unknown));
    };
    let account = Uuid::parse_str(&account)
        .map_err(|_| ApiError::internal("corrupt account id on an enrollment code"))?;
    if used_at.is_some() {
        return Ok(Err(RedeemError::AlreadyUsed { account }));
    }
    if expires_at <= now_ms {
        return Ok(Err(RedeemError::Expired { account }));
    }
    let claimed = diesel::update(
        enrollment_codes::table
            .filter(enrollment_codes::id.eq(&id))
            .filter(enrollment_codes::used_at.is_null()),
    )
    .set(enrollment_codes::used_at.eq(now_ms))
    .execute(conn)?;
    if claimed == 1 {
        Ok(Ok(account))
    } else {
        Ok(Err(RedeemError::AlreadyUsed { account }))
    }
}

/// The normalised email of the account a code was issued for, if the code exists (used or not):
/// what its new password is salted with. Read before the slow hash, outside any transaction.
pub fn email_for_code(
    conn: &mut DbConnection,
    code_digest: &str,
) -> Result<Option<String>, ApiError> {
    use crate::db::schema::users;
    Ok(enrollment_codes::table
        .inner_join(users::table.on(users::id.eq(enrollment_codes::patient_id)))
        .filter(enrollment_codes::code_hash.eq(code_digest))
        .select(users::email)
        .first::<String>(conn)
        .optional()?)
}
