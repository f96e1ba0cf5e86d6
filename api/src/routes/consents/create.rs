//! `POST /v1/patients/{id}/consents`: the patient consents to share their records.

use crate::auth::AuthUser;
use crate::clock::now_ms;
use crate::db;
use crate::domain::Role;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::repo::accounts;
use crate::repo::consents::{self, ConsentRow};
use crate::routes::body::Body;
use crate::routes::consents::{require_owner, ConsentView};
use crate::secret::Secret;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

/// Longest purpose, in characters.
pub const MAX_PURPOSE_CHARS: usize = 200;

/// Who the consent is for.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Grantee {
    /// Every counselor on the patient's care team.
    CareTeam,
    /// One named counselor (who must also be on the care team to see anything).
    Counselor,
}

/// A new consent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateConsentRequest {
    /// `care_team` or `counselor`.
    pub grantee: Grantee,
    /// The counselor, when `grantee` is `counselor`.
    #[serde(default)]
    pub counselor_id: Option<Uuid>,
    /// What the records may be used for (1–200 characters), e.g. "treatment in the IOP". The
    /// patient's own words: redacted in any debug output.
    pub purpose: Secret<String>,
    /// When the consent lapses by itself (ms since the epoch); absent: until revoked.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// Gives consent.
#[tracing::instrument(skip_all, fields(patient_id = %path))]
pub async fn create_consent(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let patient = path.into_inner();
    // Who may give this consent is judged before the body (403 for the care team, 404 for
    // strangers), and again in the write below.
    db::run(&state.pool, move |conn| {
        require_owner(conn, &caller, patient)
    })
    .await?;
    let body: CreateConsentRequest = body.json().await?;
    let purpose = body.purpose.expose().trim().to_string();
    let chars = purpose.chars().count();
    if chars == 0 || chars > MAX_PURPOSE_CHARS || !sync_core::text::is_one_line(&purpose) {
        return Err(ApiError::validation(
            ErrorCode::InvalidPurpose,
            format!(
                "purpose must be 1 to {MAX_PURPOSE_CHARS} characters without control characters"
            ),
        ));
    }
    let now = now_ms();
    if body.expires_at.is_some_and(|e| e <= now) {
        return Err(ApiError::validation(
            ErrorCode::InvalidExpiry,
            "expires_at must be in the future",
        ));
    }
    let view = db::run(&state.pool, move |conn| {
        require_owner(conn, &caller, patient)?;
        let counselor = match (body.grantee, body.counselor_id) {
            (Grantee::CareTeam, None) => None,
            (Grantee::CareTeam, Some(_)) => {
                return Err(ApiError::validation(
                    ErrorCode::InvalidGrantee,
                    "counselor_id goes only with grantee \"counselor\"",
                ))
            }
            (Grantee::Counselor, None) => {
                return Err(ApiError::validation(
                    ErrorCode::InvalidGrantee,
                    "grantee \"counselor\" needs counselor_id",
                ))
            }
            (Grantee::Counselor, Some(id)) => {
                let known = accounts::find(conn, id)?
                    .is_some_and(|u| u.role == Role::Counselor && u.clinic_id == caller.clinic_id);
                if !known {
                    return Err(ApiError::validation(
                        ErrorCode::UnknownCounselor,
                        "counselor_id is not a counselor of this clinic",
                    ));
                }
                Some(id.to_string())
            }
        };
        let row = ConsentRow {
            id: Uuid::now_v7().to_string(),
            patient_id: patient.to_string(),
            grantee: match body.grantee {
                Grantee::CareTeam => "care_team".into(),
                Grantee::Counselor => "counselor".into(),
            },
            counselor_id: counselor,
            purpose,
            created_at: now,
            expires_at: body.expires_at,
            revoked_at: None,
        };
        consents::insert(conn, &row)?;
        Ok(ConsentView::new(row, now))
    })
    .await?;
    tracing::info!(consent_id = %view.id, grantee = %view.grantee, "consent given");
    Ok(HttpResponse::Created().json(view))
}
