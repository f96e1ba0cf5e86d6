//! `GET /v1/caseload`: every patient the counselor may see, most urgent first (the rule is
//! [`crate::services::caseload`]).

use crate::auth::AuthUser;
use crate::clock::now_ms;
use crate::db;
use crate::domain::Role;
use crate::error::ApiError;
use crate::services::caseload::{build, Caseload};
use crate::state::AppState;
use actix_web::web;

/// Builds the caseload. Each row is a read of that patient's records and is access-logged.
#[tracing::instrument(skip_all)]
pub async fn caseload(
    state: web::Data<AppState>,
    caller: AuthUser,
) -> Result<web::Json<Caseload>, ApiError> {
    caller.require(&[Role::Counselor])?;
    let settings = state.settings.trends.clone();
    let caseload = db::run(&state.pool, move |conn| {
        build(conn, &caller, now_ms(), &settings)
    })
    .await?;
    Ok(web::Json(caseload))
}
