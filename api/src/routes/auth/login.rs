//! `POST /v1/auth/login`: email and password for a pair of tokens.

use crate::auth::{credentials, rate_limit};
use crate::clock::now_ms;
use crate::db;
use crate::domain::display_name;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::repo::accounts;
use crate::routes::auth::tokens::{self, TokenResponse};
use crate::secret::Secret;
use crate::state::AppState;
use actix_web::{web, HttpRequest};
use serde::Deserialize;
use uuid::Uuid;

/// Sign-in request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Account email.
    pub email: String,
    /// Password.
    pub password: Secret<String>,
    /// A name for this device, shown in the account's device list.
    #[serde(default)]
    pub device_name: Option<String>,
    /// The device id from an earlier sign-in on this device, to keep its identity.
    #[serde(default)]
    pub device_id: Option<Uuid>,
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized(
        ErrorCode::InvalidCredentials,
        "the email or password is wrong",
    )
}

/// Signs in. Wrong password and unknown email get the same answer after the same work.
#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let body = body.into_inner();
    let named_device = body.device_id;
    let device_name = display_name(
        body.device_name.as_deref().unwrap_or("unnamed device"),
        "device_name",
    )?;
    let attempt = credentials::Attempt {
        email: body.email,
        password: body.password,
        address: rate_limit::client_address(&req, &state.settings.rate_limit),
        device: body.device_id,
    };
    let checked = credentials::check(
        &state.pool,
        &state.settings.rate_limit,
        state.sign_in_cost,
        attempt,
    )
    .await?;
    let Some(verified) = checked else {
        return Err(invalid_credentials());
    };
    tracing::Span::current().record("user_id", tracing::field::display(verified.user.id));

    let state_for_tx = state.clone();
    let tokens = db::run(&state.pool, move |conn| {
        db::write_tx(conn, |conn| {
            let now = now_ms();
            verified.record_sign_in(conn, now)?;
            let user = &verified.user;
            let device =
                accounts::reuse_or_create_device(conn, user.id, named_device, &device_name, now)?;
            tokens::issue(conn, &state_for_tx, user, device, None, now)
        })
    })
    .await?;
    tracing::info!(device_id = %tokens.device_id, "signed in");
    Ok(web::Json(tokens))
}
