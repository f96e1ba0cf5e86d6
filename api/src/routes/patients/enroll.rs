//! `POST /v1/patients`: a counselor or admin enrolls a patient. The answer carries a one-time
//! enrollment code that the patient types into the phone app (`POST /v1/auth/activate`).

use crate::auth::{token, AuthUser};
use crate::clock::now_ms;
use crate::db;
use crate::domain::{display_name, Email, Role};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::repo::{accounts, care_team, enrollment};
use crate::routes::body::Body;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// New patient.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollPatientRequest {
    /// The patient's sign-in email.
    pub email: String,
    /// Name shown to their care team.
    pub display_name: String,
    /// The counselor to put on the patient's care team. A counselor enrolling a patient is
    /// assigned automatically and may leave this out; an admin must name one.
    #[serde(default)]
    pub counselor_id: Option<Uuid>,
}

/// The new patient and their enrollment code.
#[derive(Debug, Serialize)]
pub struct EnrollPatientResponse {
    /// Patient id.
    pub id: Uuid,
    /// Normalised email.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// The counselor assigned to the care team.
    pub counselor_id: Uuid,
    /// One-time code for the phone; shown once, stored only as a hash.
    pub enrollment_code: String,
    /// When the code stops working (ms since the epoch).
    pub enrollment_expires_at: i64,
}

/// Enrolls a patient.
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn enroll_patient(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin, Role::Counselor])?;
    let body: EnrollPatientRequest = body.json().await?;
    let email = Email::parse(&body.email)?;
    let name = display_name(&body.display_name, "display_name")?;
    let counselor = match (caller.role, body.counselor_id) {
        (Role::Counselor, None) => caller.user_id,
        (_, Some(id)) => id,
        (_, None) => {
            return Err(ApiError::validation(
                ErrorCode::CounselorRequired,
                "name the counselor (counselor_id) who will be on this patient's care team",
            ))
        }
    };
    let code = token::new_enrollment_code();
    let digest = token::digest(&token::normalize_enrollment_code(&code).unwrap_or_default());
    let ttl_ms = i64::try_from(state.settings.auth.enrollment_ttl.as_millis()).unwrap_or(i64::MAX);

    let response = db::run(&state.pool, move |conn| {
        db::write_tx(conn, |conn| {
            let now = now_ms();
            let assigned = accounts::find(conn, counselor)?
                .filter(|u| u.role == Role::Counselor && u.clinic_id == caller.clinic_id)
                .ok_or_else(|| {
                    ApiError::validation(
                        ErrorCode::UnknownCounselor,
                        "counselor_id is not a counselor of this clinic",
                    )
                })?;
            let new = accounts::NewUser {
                clinic_id: caller.clinic_id,
                role: Role::Patient,
                email: &email,
                display_name: &name,
                password_hash: None,
            };
            let id = accounts::insert_user(conn, &new, now)?;
            care_team::assign(conn, assigned.id, id, now)?;
            let expires_at = enrollment::create(conn, id, &digest, caller.user_id, now, ttl_ms)?;
            Ok(EnrollPatientResponse {
                id,
                email: email.as_str().to_string(),
                display_name: name,
                counselor_id: assigned.id,
                enrollment_code: code,
                enrollment_expires_at: expires_at,
            })
        })
    })
    .await?;
    tracing::info!(patient_id = %response.id, counselor_id = %response.counselor_id, "patient enrolled");
    Ok(HttpResponse::Created().json(response))
}
