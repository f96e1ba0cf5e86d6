//! `GET /v1/patients/{id}/iop-hours?from=YYYY-MM-DD&to=YYYY-MM-DD`: the IOP hours ledger (the
//! rule is [`crate::services::iop_hours`]).

use crate::access::{self, ReadAction};
use crate::auth::AuthUser;
use crate::clock::now_ms;
use crate::db;
use crate::error::{ApiError, ErrorCode};
use crate::schedule::recurrence::parse_date;
use crate::services::iop_hours::{ledger, Ledger};
use crate::state::AppState;
use actix_web::web;
use serde::Deserialize;
use uuid::Uuid;

/// `?from=&to=`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerParams {
    /// First local date (its week is included); default: the track's start, or 4 weeks ago.
    pub from: Option<String>,
    /// Last local date (its week is included); default: the track's end, or today.
    pub to: Option<String>,
}

/// Computes the ledger.
#[tracing::instrument(skip_all, fields(patient_id = %path))]
pub async fn iop_hours(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    params: web::Query<LedgerParams>,
) -> Result<web::Json<Ledger>, ApiError> {
    let patient = path.into_inner();
    let params = params.into_inner();
    let from = params
        .from
        .as_deref()
        .map(|d| parse_date(d, "from"))
        .transpose()
        .map_err(|_| {
            ApiError::validation(
                ErrorCode::InvalidQuery,
                "from must be a date like 2026-03-02",
            )
        })?;
    let to = params
        .to
        .as_deref()
        .map(|d| parse_date(d, "to"))
        .transpose()
        .map_err(|_| {
            ApiError::validation(ErrorCode::InvalidQuery, "to must be a date like 2026-03-31")
        })?;
    let ledger = db::run(&state.pool, move |conn| {
        let standing = access::require_read(conn, &caller, patient)?;
        access::record_read(conn, &caller, patient, standing, ReadAction::IopHours)?;
        ledger(conn, patient, from, to, now_ms())
    })
    .await?;
    Ok(web::Json(ledger))
}
