//! The IOP hours ledger.
//!
//! Per week (Monday to Sunday, local time), the hours of the patient's sessions that are
//! scheduled (not cancelled, not deleted) and attended (marked attended, late or left early),
//! against the IOP minimum of ASAM level 2.1: 9 hours a week for adults, 6 for adolescents.
//! Weeks and the minimum come from the patient's current track (its time zone and population);
//! a patient on no track is counted as an adult, in the UTC offset of their latest check-in
//! (UTC if they have none). Sessions belong to the week they start in.

use crate::db::DbConnection;
use crate::error::{ApiError, ErrorCode};
use crate::repo::tracks;
use crate::schedule::recurrence::{self, add_days, Population};
use crate::services::tracks::spec_of;
use jiff::civil::Date;
use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;
use serde::Serialize;
use uuid::Uuid;

/// At most this many weeks in one ledger.
pub const MAX_WEEKS: usize = 106;
/// The level of care the minimum belongs to.
pub const LEVEL_OF_CARE: &str = "ASAM 2.1";

/// One week of the ledger.
#[derive(Debug, Serialize)]
pub struct LedgerWeek {
    /// Monday, `YYYY-MM-DD`.
    pub week_start: String,
    /// Sunday, `YYYY-MM-DD`.
    pub week_end: String,
    /// Minutes of sessions scheduled (not cancelled, not deleted) that start this week.
    pub scheduled_minutes: i64,
    /// Minutes of those marked attended, late or left early.
    pub attended_minutes: i64,
    /// `scheduled_minutes / 60`.
    pub scheduled_hours: f64,
    /// `attended_minutes / 60`.
    pub attended_hours: f64,
    /// Scheduled hours reach the weekly minimum.
    pub meets_minimum_scheduled: bool,
    /// Attended hours reach the weekly minimum.
    pub meets_minimum_attended: bool,
}

/// The ledger.
#[derive(Debug, Serialize)]
pub struct Ledger {
    /// The patient.
    pub patient_id: Uuid,
    /// The patient's current track, if any.
    pub track_id: Option<String>,
    /// `adult` or `adolescent`.
    pub population: String,
    /// The level of care the minimum belongs to (`ASAM 2.1`).
    pub level_of_care: &'static str,
    /// The weekly minimum in hours: 9 (adult) or 6 (adolescent).
    pub minimum_hours_per_week: f64,
    /// Time zone the weeks are counted in: an IANA name, or a UTC offset like `-05:00`.
    pub time_zone: String,
    /// The weeks, oldest first.
    pub weeks: Vec<LedgerWeek>,
}

fn hours(minutes: i64) -> f64 {
    // Minutes are far below 2^52: the conversion is exact.
    minutes as f64 / 60.0
}

/// The ledger of `patient` for the weeks of local dates `from` to `to` (defaults as for the
/// endpoint). Asks nobody's permission: callers check [`crate::access::require_read`] and log the
/// read first (`GET /v1/patients/{id}/iop-hours`, the dashboard's patient page).
pub fn ledger(
    conn: &mut DbConnection,
    patient: Uuid,
    from: Option<Date>,
    to: Option<Date>,
    now_ms: i64,
) -> Result<Ledger, ApiError> {
    let patient_id = patient.to_string();
    let track = tracks::current_track_of(conn, &patient_id)?;
    let (tz, tz_name, population, default_range) = match &track {
        Some(row) => {
            let spec = spec_of(row)?;
            let range = (spec.start_date, spec.end_date()?);
            (
                spec.time_zone.clone(),
                spec.time_zone_name.clone(),
                spec.population,
                Some(range),
            )
        }
        None => {
            let minutes = tracks::latest_tz_offset(conn, &patient_id)?.unwrap_or(0);
            let offset =
                Offset::from_seconds(minutes.saturating_mul(60)).map_err(ApiError::internal)?;
            (
                TimeZone::fixed(offset),
                offset.to_string(),
                Population::Adult,
                None,
            )
        }
    };
    let today = Timestamp::from_millisecond(now_ms)
        .map_err(ApiError::internal)?
        .to_zoned(tz.clone())
        .date();
    let (default_from, default_to) = match default_range {
        Some(range) => range,
        None => (add_days(today, -27)?, today),
    };
    let from = from.unwrap_or(default_from);
    let to = to.unwrap_or(default_to);
    if from > to {
        return Err(ApiError::validation(
            ErrorCode::InvalidQuery,
            "from must not be after to",
        ));
    }
    let weeks = recurrence::local_weeks(&tz, from, to)?;
    if weeks.len() > MAX_WEEKS {
        return Err(ApiError::validation(
            ErrorCode::RangeTooLong,
            format!("a ledger covers at most {MAX_WEEKS} weeks"),
        ));
    }
    let minimum = population.minimum_minutes_per_week();
    let mut out = Vec::with_capacity(weeks.len());
    for week in weeks {
        let (scheduled, attended) =
            tracks::minutes_in(conn, &patient_id, week.start_ms, week.end_ms)?;
        out.push(LedgerWeek {
            week_start: week.monday.to_string(),
            week_end: week.sunday.to_string(),
            scheduled_minutes: scheduled,
            attended_minutes: attended,
            scheduled_hours: hours(scheduled),
            attended_hours: hours(attended),
            meets_minimum_scheduled: scheduled >= minimum,
            meets_minimum_attended: attended >= minimum,
        });
    }
    Ok(Ledger {
        patient_id: patient,
        track_id: track.map(|t| t.id),
        population: population.as_str().to_string(),
        level_of_care: LEVEL_OF_CARE,
        minimum_hours_per_week: hours(minimum),
        time_zone: tz_name,
        weeks: out,
    })
}
