//! `GET /v1/me`: who the access token belongs to.

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::repo::accounts;
use crate::routes::auth::tokens::UserView;
use crate::state::AppState;
use actix_web::web;
use serde::Serialize;
use uuid::Uuid;

/// The caller's account and the device their token was issued to.
#[derive(Debug, Serialize)]
pub struct MeResponse {
    /// The account.
    pub user: UserView,
    /// The device of this session.
    pub device_id: Uuid,
}

/// Returns the caller's account. A token for an account that no longer exists is a 401.
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn me(
    state: web::Data<AppState>,
    caller: AuthUser,
) -> Result<web::Json<MeResponse>, ApiError> {
    let user = db::run(&state.pool, move |conn| {
        accounts::find(conn, caller.user_id)
    })
    .await?
    .ok_or_else(|| {
        ApiError::unauthorized(ErrorCode::InvalidToken, "the account no longer exists")
    })?;
    Ok(web::Json(MeResponse {
        user: UserView::from(&user),
        device_id: caller.device_id,
    }))
}
