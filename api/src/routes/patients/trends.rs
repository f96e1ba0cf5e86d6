//! `GET /v1/patients/{id}/trends?from=YYYY-MM-DD&to=YYYY-MM-DD`: craving trajectory, triggers,
//! time-of-day patterns, what coping skills do, adherence, attendance and risk flags.
//!
//! Dates are the patient's local calendar days, as each check-in's phone recorded them (its UTC
//! offset travels with it), so a check-in at 23:30 belongs to the day the patient lived it in,
//! wherever the counselor sits and whatever daylight-saving did in between.

use crate::access::{self, ReadAction};
use crate::auth::AuthUser;
use crate::calendar::{parse_day, InvalidDay};
use crate::clock::now_ms;
use crate::db;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::trends::{self, Trends};
use actix_web::web;
use serde::Deserialize;
use uuid::Uuid;

/// 422 `invalid_query`, naming the date field and the form it must take.
fn invalid_query(e: InvalidDay) -> ApiError {
    ApiError::validation(ErrorCode::InvalidQuery, e.to_string())
}

/// `?from=&to=`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendParams {
    /// First local date, inclusive (default: 27 days before `to`).
    pub from: Option<String>,
    /// Last local date, inclusive (default: the patient's today).
    pub to: Option<String>,
}

/// Computes trends.
#[tracing::instrument(skip_all, fields(patient_id = %path))]
pub async fn trends(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    params: web::Query<TrendParams>,
) -> Result<web::Json<Trends>, ApiError> {
    let patient = path.into_inner();
    let from = params
        .from
        .as_deref()
        .map(|d| parse_day(d, "from"))
        .transpose()
        .map_err(invalid_query)?;
    let to = params
        .to
        .as_deref()
        .map(|d| parse_day(d, "to"))
        .transpose()
        .map_err(invalid_query)?;
    let settings = state.settings.trends.clone();
    let trends = db::run(&state.pool, move |conn| {
        let standing = access::require_read(conn, &caller, patient)?;
        access::record_read(conn, &caller, patient, standing, ReadAction::Trends)?;
        trends::compute(conn, &patient.to_string(), (from, to), now_ms(), &settings)
    })
    .await?;
    Ok(web::Json(trends))
}
