//! `POST /v1/clinicians`: an admin creates a counselor account in their clinic. The counselor
//! receives a one-time activation code and chooses their own password: no admin ever knows it.

use crate::auth::{token, AuthUser};
use crate::clock::now_ms;
use crate::db;
use crate::domain::{display_name, Email, Role};
use crate::error::ApiError;
use crate::repo::{accounts, enrollment};
use crate::routes::body::Body;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// New counselor.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateClinicianRequest {
    /// Sign-in email.
    pub email: String,
    /// Name shown to patients and colleagues.
    pub display_name: String,
}

/// The new account and its activation code.
#[derive(Debug, Serialize)]
pub struct CreateClinicianResponse {
    /// Account id.
    pub id: Uuid,
    /// Always `counselor`.
    pub role: Role,
    /// Normalised email.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// One-time code for `POST /v1/auth/activate`; shown once, stored only as a hash.
    pub activation_code: String,
    /// When the code stops working (ms since the epoch).
    pub activation_expires_at: i64,
}

/// Creates a counselor.
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn create_clinician(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let body: CreateClinicianRequest = body.json().await?;
    let email = Email::parse(&body.email)?;
    let name = display_name(&body.display_name, "display_name")?;
    let code = token::new_enrollment_code();
    let digest = token::digest(&token::normalize_enrollment_code(&code).unwrap_or_default());
    let ttl_ms = i64::try_from(state.settings.auth.enrollment_ttl.as_millis()).unwrap_or(i64::MAX);

    let (id, expires_at, email) = db::run(&state.pool, move |conn| {
        db::write_tx(conn, |conn| {
            let now = now_ms();
            let new = accounts::NewUser {
                clinic_id: caller.clinic_id,
                role: Role::Counselor,
                email: &email,
                display_name: &name,
                password_hash: None,
            };
            let id = accounts::insert_user(conn, &new, now)?;
            let expires_at = enrollment::create(conn, id, &digest, caller.user_id, now, ttl_ms)?;
            Ok((id, expires_at, email))
        })
    })
    .await?;
    tracing::info!(counselor_id = %id, "counselor created");
    Ok(HttpResponse::Created().json(CreateClinicianResponse {
        id,
        role: Role::Counselor,
        email: email.as_str().to_string(),
        display_name: body.display_name.trim().to_string(),
        activation_code: code,
        activation_expires_at: expires_at,
    }))
}
