//! Clinics, users and devices.
//!
//! # An email is unique within a clinic, not across clinics
//!
//! That an address has an account in an addiction-treatment program is itself a disclosure. If
//! emails were unique across the database, staff of clinic X enrolling `sam@example.test` would
//! learn from a 409 that clinic Y treats Sam. So uniqueness is per clinic: enrolling an address
//! that another clinic uses creates a real, separate account, and everything staff of X can see
//! (status, body, the account in their lists, its enrollment code working, the time taken) is
//! what they see for an unused address. Only a collision inside their own clinic answers 409
//! `email_taken`: those accounts are theirs to see. Sign-in resolves the account by email and
//! password with the same argon2 work whatever the number of accounts (see `auth::password`);
//! when one password opens several accounts of one email, the oldest account signs in.

use crate::db::schema::{clinics, devices, users};
use crate::db::{is_unique_violation, DbConnection};
use crate::domain::{Email, Role};
use crate::error::ApiError;
use crate::error::ErrorCode;
use diesel::prelude::*;
use uuid::Uuid;

/// A user as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// Id (UUID text).
    pub id: String,
    /// Clinic id (UUID text).
    pub clinic_id: String,
    /// `admin`, `counselor` or `patient`.
    pub role: String,
    /// Sign-in email, normalised.
    pub email: String,
    /// Name shown to staff.
    pub display_name: String,
    /// argon2id PHC string; `None` until the account is activated.
    pub password_hash: Option<String>,
    /// Created (ms).
    pub created_at: i64,
    /// Activated (ms).
    pub activated_at: Option<i64>,
}

/// A user with typed ids, as handlers use it.
#[derive(Debug, Clone)]
pub struct User {
    /// Id.
    pub id: Uuid,
    /// Clinic.
    pub clinic_id: Uuid,
    /// Role.
    pub role: Role,
    /// Email.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Password hash, if activated.
    pub password_hash: Option<String>,
}

fn parse_uuid(text: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text)
        .map_err(|_| ApiError::internal(format!("corrupt {what} id in the database")))
}

impl TryFrom<UserRow> for User {
    type Error = ApiError;

    fn try_from(row: UserRow) -> Result<Self, ApiError> {
        Ok(Self {
            id: parse_uuid(&row.id, "user")?,
            clinic_id: parse_uuid(&row.clinic_id, "clinic")?,
            role: Role::parse(&row.role)
                .ok_or_else(|| ApiError::internal("corrupt role in the database"))?,
            email: row.email,
            display_name: row.display_name,
            password_hash: row.password_hash,
        })
    }
}

/// Finds a clinic by name, creating it if there is none; returns its id.
pub fn ensure_clinic(conn: &mut DbConnection, name: &str, now_ms: i64) -> Result<Uuid, ApiError> {
    if let Some(id) = clinics::table
        .filter(clinics::name.eq(name))
        .select(clinics::id)
        .first::<String>(conn)
        .optional()?
    {
        return parse_uuid(&id, "clinic");
    }
    let id = Uuid::now_v7();
    diesel::insert_into(clinics::table)
        .values((
            clinics::id.eq(id.to_string()),
            clinics::name.eq(name),
            clinics::created_at.eq(now_ms),
        ))
        .execute(conn)?;
    Ok(id)
}

/// What a new account needs.
#[derive(Debug)]
pub struct NewUser<'a> {
    /// Clinic.
    pub clinic_id: Uuid,
    /// Role.
    pub role: Role,
    /// Email.
    pub email: &'a Email,
    /// Display name.
    pub display_name: &'a str,
    /// Password hash, for accounts created with a password (the first admin).
    pub password_hash: Option<&'a str>,
}

/// Creates an account; an email already in use in the same clinic is a 409 `email_taken` (in
/// another clinic it is no conflict: see the module doc).
pub fn insert_user(
    conn: &mut DbConnection,
    new: &NewUser<'_>,
    now_ms: i64,
) -> Result<Uuid, ApiError> {
    let id = Uuid::now_v7();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(id.to_string()),
            users::clinic_id.eq(new.clinic_id.to_string()),
            users::role.eq(new.role.as_str()),
            users::email.eq(new.email.as_str()),
            users::display_name.eq(new.display_name),
            users::password_hash.eq(new.password_hash),
            users::created_at.eq(now_ms),
            users::activated_at.eq(new.password_hash.map(|_| now_ms)),
        ))
        .execute(conn)
        .map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::Conflict {
                    code: ErrorCode::EmailTaken,
                    message: "an account with this email already exists in this clinic".into(),
                }
            } else {
                e.into()
            }
        })?;
    Ok(id)
}

/// Finds the oldest account with a normalised email.
pub fn find_by_email(conn: &mut DbConnection, email: &str) -> Result<Option<User>, ApiError> {
    Ok(find_all_by_email(conn, email)?.into_iter().next())
}

/// Every account with a normalised email (one per clinic at most), oldest first: the candidates
/// of a sign-in.
pub fn find_all_by_email(conn: &mut DbConnection, email: &str) -> Result<Vec<User>, ApiError> {
    users::table
        .filter(users::email.eq(email))
        .order((users::created_at.asc(), users::id.asc()))
        .select(UserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(User::try_from)
        .collect()
}

/// Every account's email and password hash (accounts with a password only), for the sign-in
/// cost judged at start-up.
pub fn emails_and_hashes(conn: &mut DbConnection) -> Result<Vec<(String, String)>, ApiError> {
    let rows: Vec<(String, Option<String>)> = users::table
        .select((users::email, users::password_hash))
        .filter(users::password_hash.is_not_null())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(email, hash)| Some((email, hash?)))
        .collect())
}

/// Finds a user by id.
pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<Option<User>, ApiError> {
    users::table
        .find(id.to_string())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .map(User::try_from)
        .transpose()
}

/// Sets a password and marks the account activated.
pub fn activate(
    conn: &mut DbConnection,
    id: Uuid,
    password_hash: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    diesel::update(users::table.find(id.to_string()))
        .set((
            users::password_hash.eq(password_hash),
            users::activated_at.eq(now_ms),
        ))
        .execute(conn)?;
    Ok(())
}

/// Registers a device for a user and returns its id.
pub fn create_device(
    conn: &mut DbConnection,
    user: Uuid,
    name: &str,
    now_ms: i64,
) -> Result<Uuid, ApiError> {
    let id = Uuid::now_v7();
    insert_device(conn, id, user, name, now_ms, None)?;
    Ok(id)
}

/// One new row of `devices`, revoked from the start when `revoked_at` is given.
fn insert_device(
    conn: &mut DbConnection,
    id: Uuid,
    user: Uuid,
    name: &str,
    now_ms: i64,
    revoked_at: Option<i64>,
) -> Result<usize, diesel::result::Error> {
    diesel::insert_into(devices::table)
        .values((
            devices::id.eq(id.to_string()),
            devices::user_id.eq(user.to_string()),
            devices::name.eq(name),
            devices::created_at.eq(now_ms),
            devices::last_seen_at.eq(now_ms),
            devices::revoked_at.eq(revoked_at),
        ))
        .execute(conn)
}

/// Registers a device that is revoked from the start, so no token is ever issued for it and no
/// sign-in can take it over (a server-side author, such as the schedule generator), unless a
/// device with this id exists already: a concurrent registration of the same id is not an error.
pub fn ensure_revoked_device(
    conn: &mut DbConnection,
    id: Uuid,
    user: Uuid,
    name: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    let known: i64 = devices::table
        .filter(devices::id.eq(id.to_string()))
        .count()
        .get_result(conn)?;
    if known > 0 {
        return Ok(());
    }
    let inserted = insert_device(conn, id, user, name, now_ms, Some(now_ms));
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A user's display name; `NotFound` when there is no such user.
pub fn display_name(conn: &mut DbConnection, id: &str) -> Result<String, ApiError> {
    Ok(users::table
        .find(id)
        .select(users::display_name)
        .first(conn)?)
}

/// Reuses a device the user already registered (signing in again on the same phone keeps its
/// identity, and with it the device's op sequence), or registers a new one.
pub fn reuse_or_create_device(
    conn: &mut DbConnection,
    user: Uuid,
    existing: Option<Uuid>,
    name: &str,
    now_ms: i64,
) -> Result<Uuid, ApiError> {
    if let Some(device) = existing {
        let updated = diesel::update(
            devices::table
                .filter(devices::id.eq(device.to_string()))
                .filter(devices::user_id.eq(user.to_string()))
                .filter(devices::revoked_at.is_null()),
        )
        .set((devices::last_seen_at.eq(now_ms), devices::name.eq(name)))
        .execute(conn)?;
        if updated == 1 {
            return Ok(device);
        }
    }
    create_device(conn, user, name, now_ms)
}

/// Whether `device` is a live (not revoked) device of an account with this normalised email:
/// a sign-in that names one comes from the account's own phone.
pub fn is_live_device_of_email(
    conn: &mut DbConnection,
    device: Uuid,
    email: &str,
) -> Result<bool, ApiError> {
    let found = devices::table
        .inner_join(users::table.on(users::id.eq(devices::user_id)))
        .filter(devices::id.eq(device.to_string()))
        .filter(devices::revoked_at.is_null())
        .filter(users::email.eq(email))
        .select(devices::id)
        .first::<String>(conn)
        .optional()?;
    Ok(found.is_some())
}
