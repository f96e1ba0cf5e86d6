//! A patient's consents to share their records with their care team (42 CFR Part 2).
//!
//! Only the patient manages them, from the phone. Staff who may read the patient get 403 here
//! (they know the patient exists); everyone else gets 404.

pub mod create;
pub mod list;
pub mod revoke;

use crate::access;
use crate::auth::AuthUser;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::repo::consents::ConsentRow;
use serde::Serialize;
use uuid::Uuid;

/// A consent as the patient sees it.
#[derive(Debug, Serialize)]
pub struct ConsentView {
    /// Consent id.
    pub id: String,
    /// The patient.
    pub patient_id: String,
    /// `care_team` (every counselor on the care team) or `counselor` (one named counselor).
    pub grantee: String,
    /// The named counselor, for `grantee = counselor`.
    pub counselor_id: Option<String>,
    /// What the records may be used for, in the patient's words.
    pub purpose: String,
    /// When it was given (ms).
    pub created_at: i64,
    /// When it lapses by itself (ms), if ever.
    pub expires_at: Option<i64>,
    /// When the patient revoked it (ms).
    pub revoked_at: Option<i64>,
    /// In force right now.
    pub active: bool,
}

impl ConsentView {
    /// The view of a stored consent at `now_ms`.
    pub fn new(row: ConsentRow, now_ms: i64) -> Self {
        let active = row.revoked_at.is_none() && row.expires_at.is_none_or(|e| e > now_ms);
        Self {
            id: row.id,
            patient_id: row.patient_id,
            grantee: row.grantee,
            counselor_id: row.counselor_id,
            purpose: row.purpose,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            active,
        }
    }
}

/// Only the patient manages their consents.
pub fn require_owner(
    conn: &mut DbConnection,
    caller: &AuthUser,
    patient: Uuid,
) -> Result<(), ApiError> {
    match access::standing(conn, caller, patient)? {
        access::Standing::Owner => Ok(()),
        access::Standing::CareTeam { .. } => Err(ApiError::Forbidden(
            "only the patient can give or withdraw consent".into(),
        )),
        access::Standing::Stranger => Err(ApiError::NotFound("no such patient".into())),
    }
}
