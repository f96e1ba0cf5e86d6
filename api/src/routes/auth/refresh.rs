//! `POST /v1/auth/refresh`: a used-once refresh token for a new pair.

use crate::auth::{rate_limit, token};
use crate::clock::now_ms;
use crate::db;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::repo::accounts;
use crate::repo::refresh_tokens::{self, Rotation};
use crate::routes::auth::tokens::{self, TokenResponse};
use crate::secret::Secret;
use crate::state::AppState;
use actix_web::{web, HttpRequest};
use serde::Deserialize;

/// Refresh request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last sign-in or refresh.
    pub refresh_token: Secret<String>,
}

/// Rotates the refresh token. Reusing an old one revokes the whole session (theft detection).
#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty))]
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let digest = token::digest(body.refresh_token.expose());
    let address = rate_limit::client_address(&req, &state.settings.rate_limit);
    let state_for_tx = state.clone();
    let outcome = db::run(&state.pool, move |conn| {
        let limits = &state_for_tx.settings.rate_limit;
        rate_limit::count_address_attempt(conn, limits, "refresh", &address, now_ms())?;
        db::write_tx(conn, |conn| {
            let now = now_ms();
            let max_age = state_for_tx.settings.auth.session_max_age;
            match refresh_tokens::rotate(conn, &digest, now, max_age)? {
                Rotation::Rotated(s) => {
                    let user = accounts::find(conn, s.user)?.ok_or_else(|| {
                        ApiError::unauthorized(
                            ErrorCode::InvalidRefreshToken,
                            "the account no longer exists",
                        )
                    })?;
                    tokens::issue(
                        conn,
                        &state_for_tx,
                        &user,
                        s.device,
                        Some((s.family, s.started_at)),
                        now,
                    )
                    .map(Ok)
                }
                other => Ok(Err(other)),
            }
        })
    })
    .await?;
    match outcome {
        Ok(tokens) => {
            tracing::Span::current().record("user_id", tracing::field::display(tokens.user.id));
            Ok(web::Json(tokens))
        }
        Err(Rotation::ReuseDetected { user }) => {
            tracing::warn!(user_id = %user, "refresh token reused: session revoked");
            Err(ApiError::unauthorized(
                ErrorCode::RefreshTokenReused,
                "this refresh token was already used; the session has been signed out everywhere it was copied, sign in again",
            ))
        }
        Err(Rotation::Expired) => Err(ApiError::unauthorized(
            ErrorCode::RefreshTokenExpired,
            "the refresh token has expired; sign in again",
        )),
        Err(Rotation::SessionExpired) => Err(ApiError::unauthorized(
            ErrorCode::SessionExpired,
            "this sign-in has reached its maximum age; sign in again",
        )),
        Err(Rotation::Invalid | Rotation::Rotated(_)) => Err(ApiError::unauthorized(
            ErrorCode::InvalidRefreshToken,
            "the refresh token is not valid; sign in again",
        )),
    }
}
