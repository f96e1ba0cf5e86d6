//! `POST /v1/auth/login`: email and password for a pair of tokens.

use crate::auth::{password, rate_limit};
use crate::clock::now_ms;
use crate::db;
use crate::domain::{display_name, Email};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::repo::accounts;
use crate::routes::auth::session::{self, TokenResponse};
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
    let device_name = display_name(
        body.device_name.as_deref().unwrap_or("unnamed device"),
        "device_name",
    )?;
    // A malformed email cannot match an account; answer as for a wrong password.
    let email = Email::parse(&body.email).map_err(|_| invalid_credentials())?;
    let address = rate_limit::client_address(&req, &state.settings.rate_limit);

    let limits = state.settings.rate_limit.clone();
    let account = email.as_str().to_string();
    let named_device = body.device_id;
    let candidates = db::run(&state.pool, {
        let (account, address) = (account.clone(), address.clone());
        move |conn| {
            let now = now_ms();
            let own_device = match named_device {
                Some(device) => accounts::is_live_device_of_email(conn, device, &account)?,
                None => false,
            };
            // Counted before the password is judged, so concurrent guesses cannot slip past.
            rate_limit::count_sign_in(conn, &limits, &account, &address, own_device, now)?;
            accounts::find_all_by_email(conn, &account)
        }
    })
    .await?;

    // The same argon2 work whatever the number of accounts with this email (see `auth::password`).
    let stored = candidates.iter().map(|u| u.password_hash.clone()).collect();
    let matched = password::verify_among(stored, body.password, state.sign_in_cost).await?;
    let Some(user) = matched.and_then(|i| candidates.into_iter().nth(i)) else {
        return Err(invalid_credentials());
    };
    tracing::Span::current().record("user_id", tracing::field::display(user.id));

    let state_for_tx = state.clone();
    let tokens = db::run(&state.pool, move |conn| {
        db::write_tx(conn, |conn| {
            let now = now_ms();
            rate_limit::signed_in(conn, &account, &address, now)?;
            let device =
                accounts::reuse_or_create_device(conn, user.id, body.device_id, &device_name, now)?;
            session::issue(conn, &state_for_tx, &user, device, None, now)
        })
    })
    .await?;
    tracing::info!(device_id = %tokens.device_id, "signed in");
    Ok(web::Json(tokens))
}
