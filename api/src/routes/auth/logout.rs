//! `POST /v1/auth/logout`: ends the sessions of this device, or of every device.

use crate::auth::AuthUser;
use crate::clock::now_ms;
use crate::db;
use crate::error::ApiError;
use crate::repo::refresh_tokens;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

/// Sign-out options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// Sign out on every device, not just this one.
    #[serde(default)]
    pub all_devices: bool,
}

/// Revokes refresh tokens so no new access token can be had; the current access token lapses
/// within its short lifetime. A body is optional.
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn logout(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: Option<web::Json<LogoutRequest>>,
) -> Result<HttpResponse, ApiError> {
    let all = body.map(|b| b.all_devices).unwrap_or(false);
    let revoked = db::run(&state.pool, move |conn| {
        if all {
            refresh_tokens::revoke_user(conn, caller.user_id, now_ms())
        } else {
            refresh_tokens::revoke_device(conn, caller.device_id, now_ms())
        }
    })
    .await?;
    tracing::info!(all_devices = all, revoked, "signed out");
    Ok(HttpResponse::NoContent().finish())
}
