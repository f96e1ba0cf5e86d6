//! `POST /v1/auth/logout`: ends the sessions of this device, or of every device.

use crate::auth::AuthUser;
use crate::clock::now_ms;
use crate::db;
use crate::error::{describe_json_error, ApiError};
use crate::repo::refresh_tokens;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// Sign-out options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// Sign out on every device, not just this one.
    #[serde(default)]
    pub all_devices: bool,
}

/// The body is optional, but a body that is there must be right: a typo in `all_devices` must
/// not silently sign out only this device when the person asked for every device.
fn options(req: &HttpRequest, body: &web::Bytes) -> Result<LogoutRequest, ApiError> {
    if body.is_empty() {
        return Ok(LogoutRequest::default());
    }
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType(
            "the request body must be JSON (Content-Type: application/json)".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(describe_json_error(&e)))
}

/// Ends the sessions: their refresh tokens are revoked, and their access tokens (this one too)
/// are refused from the next request on, on every server.
#[tracing::instrument(skip_all)]
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let all = options(&req, &body)?.all_devices;
    let revoked = db::run(&state.pool, move |conn| {
        db::write_tx(conn, |conn| {
            if all {
                refresh_tokens::revoke_user(conn, caller.user_id, now_ms())
            } else {
                refresh_tokens::revoke_device(conn, caller.device_id, now_ms())
            }
        })
    })
    .await?;
    tracing::info!(all_devices = all, revoked, "signed out");
    Ok(HttpResponse::NoContent().finish())
}
