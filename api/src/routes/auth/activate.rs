//! `POST /v1/auth/activate`: a one-time enrollment code, a new password and a device name for
//! a pair of tokens. This is how a patient's phone (or a new counselor) first signs in.

use crate::auth::{password, rate_limit, token};
use crate::clock::now_ms;
use crate::db;
use crate::domain::display_name;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::repo::accounts;
use crate::repo::enrollment::{self, RedeemError};
use crate::routes::auth::tokens;
use crate::secret::Secret;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// Activation request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    /// The code the clinic handed out, e.g. `7K3M-QX9D-2HBT` (case and dashes do not matter).
    pub code: Secret<String>,
    /// The password the person chooses.
    pub password: Secret<String>,
    /// A name for this device.
    pub device_name: String,
}

fn invalid_code() -> ApiError {
    ApiError::unauthorized(
        ErrorCode::InvalidEnrollmentCode,
        "the enrollment code is not valid",
    )
}

/// Activates an account.
#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty))]
pub async fn activate(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ActivateRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let device_name = display_name(&body.device_name, "device_name")?;
    password::check_strength(&body.password)?;
    let address = rate_limit::client_address(&req, &state.settings.rate_limit);
    let limits = state.settings.rate_limit.clone();
    let Some(code) = token::normalize_enrollment_code(body.code.expose()) else {
        db::run(&state.pool, move |conn| {
            rate_limit::count_address_attempt(conn, &limits, "activate", &address, now_ms())
        })
        .await?;
        return Err(invalid_code());
    };
    let digest = token::digest(&code);
    // The attempt is counted before the password is hashed, so an address over its limit costs
    // no argon2 (the hashing threads are the ones sign-ins wait for). The new password is salted
    // like every other account with the same email (see `auth::password`); an unknown code pays
    // the same hash.
    let email = db::run(&state.pool, {
        let digest = digest.clone();
        move |conn| {
            rate_limit::count_address_attempt(conn, &limits, "activate", &address, now_ms())?;
            enrollment::email_for_code(conn, &digest)
        }
    })
    .await?;
    let hash = match email {
        Some(email) => password::hash_for(email, body.password).await?,
        None => password::hash(body.password).await?,
    };

    let state_for_tx = state.clone();
    let outcome = db::run(&state.pool, move |conn| {
        db::write_tx(conn, |conn| {
            let now = now_ms();
            let account = match enrollment::redeem(conn, &digest, now)? {
                Ok(account) => account,
                Err(e) => return Ok(Err(e)),
            };
            let user = accounts::find(conn, account)?
                .ok_or_else(|| ApiError::internal("enrollment code for a missing account"))?;
            accounts::activate(conn, user.id, &hash, now)?;
            let device = accounts::create_device(conn, user.id, &device_name, now)?;
            tokens::issue(conn, &state_for_tx, &user, device, None, now).map(Ok)
        })
    })
    .await?;

    match outcome {
        Ok(tokens) => {
            tracing::Span::current().record("user_id", tracing::field::display(tokens.user.id));
            tracing::info!(device_id = %tokens.device_id, "account activated");
            Ok(HttpResponse::Created().json(tokens))
        }
        Err(RedeemError::Unknown) => Err(invalid_code()),
        Err(RedeemError::Expired { .. }) => Err(ApiError::Gone {
            code: ErrorCode::EnrollmentCodeExpired,
            message: "this enrollment code has expired; ask the clinic for a new one".into(),
        }),
        Err(RedeemError::AlreadyUsed { .. }) => Err(ApiError::Conflict {
            code: ErrorCode::EnrollmentCodeUsed,
            message: "this enrollment code was already used; sign in with your password instead"
                .into(),
        }),
    }
}
