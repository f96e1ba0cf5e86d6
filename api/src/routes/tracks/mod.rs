//! Program tracks: a counselor defines a weekly schedule with step-down changes, and enrolling a
//! patient writes their sessions.

pub mod create;
pub mod enroll;
pub mod get;

use crate::error::ApiError;
use crate::repo::tracks::TrackRow;
use crate::schedule::recurrence::{self, SlotInput};
use crate::services::tracks::spec_of;
use serde::Serialize;

/// A track as the API returns it.
#[derive(Debug, Serialize)]
pub struct TrackResponse {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// IANA time zone the schedule is computed in.
    pub time_zone: String,
    /// `adult` (9 h a week minimum) or `adolescent` (6 h).
    pub population: String,
    /// First day of week 1.
    pub start_date: String,
    /// Last day of the last week.
    pub end_date: String,
    /// Length in weeks.
    pub weeks: i64,
    /// The slots, normalized (days Monday first, titles filled in), sorted by `from_week`.
    pub schedule: Vec<SlotInput>,
    /// How many sessions an enrolled patient gets.
    pub sessions_per_patient: usize,
    /// The counselor who defined it.
    pub created_by: String,
    /// When (ms UTC).
    pub created_at: i64,
}

impl TrackResponse {
    /// The response for a stored track.
    pub fn build(row: &TrackRow) -> Result<Self, ApiError> {
        let spec = spec_of(row)?;
        Ok(Self {
            id: row.id.clone(),
            name: spec.name.clone(),
            time_zone: spec.time_zone_name.clone(),
            population: spec.population.as_str().to_string(),
            start_date: spec.start_date.to_string(),
            end_date: spec.end_date()?.to_string(),
            weeks: spec.weeks,
            schedule: spec.slot_inputs(),
            sessions_per_patient: recurrence::occurrences(&spec)?.len(),
            created_by: row.created_by.clone(),
            created_at: row.created_at,
        })
    }
}
