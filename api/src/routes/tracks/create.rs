//! `POST /v1/tracks`: a counselor defines a program track.

use crate::auth::AuthUser;
use crate::clock::now_ms;
use crate::db;
use crate::domain::Role;
use crate::error::ApiError;
use crate::repo::tracks::{self, TrackRow};
use crate::routes::body::Body;
use crate::routes::tracks::TrackResponse;
use crate::schedule::recurrence::{self, TrackInput};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use uuid::Uuid;

/// Validates and stores a track; 201 with the track.
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn create_track(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Counselor])?;
    let input: TrackInput = body.json().await?;
    let spec = recurrence::validate(&input)?;
    let schedule = serde_json::to_string(&spec.slot_inputs()).map_err(ApiError::internal)?;
    let row = TrackRow {
        id: Uuid::now_v7().to_string(),
        clinic_id: caller.clinic_id.to_string(),
        created_by: caller.user_id.to_string(),
        name: spec.name.clone(),
        time_zone: spec.time_zone_name.clone(),
        population: spec.population.as_str().to_string(),
        start_date: spec.start_date.to_string(),
        weeks: i32::try_from(spec.weeks).map_err(ApiError::internal)?,
        schedule,
        created_at: now_ms(),
    };
    let response = TrackResponse::build(&row)?;
    db::run(&state.pool, move |conn| tracks::insert(conn, &row)).await?;
    Ok(HttpResponse::Created().json(response))
}
