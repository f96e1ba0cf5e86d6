//! `GET /v1/tracks/{id}`: a track of the caller's clinic.

use crate::auth::AuthUser;
use crate::db;
use crate::domain::Role;
use crate::error::ApiError;
use crate::repo::tracks;
use crate::routes::tracks::TrackResponse;
use crate::state::AppState;
use actix_web::web;
use uuid::Uuid;

/// Returns the track; 404 if it is not one of the caller's clinic.
#[tracing::instrument(skip_all, fields(track_id = %path))]
pub async fn get_track(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
) -> Result<web::Json<TrackResponse>, ApiError> {
    caller.require(&[Role::Counselor, Role::Admin])?;
    let id = path.into_inner().to_string();
    let clinic = caller.clinic_id.to_string();
    let row = db::run(&state.pool, move |conn| tracks::find(conn, &id, &clinic))
        .await?
        .ok_or_else(|| ApiError::NotFound("no such track".into()))?;
    Ok(web::Json(TrackResponse::build(&row)?))
}
