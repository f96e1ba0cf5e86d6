//! Stored tracks, read back into the typed form the schedule rules work on.

use crate::error::ApiError;
use crate::repo::tracks::TrackRow;
use crate::schedule::recurrence::{self, SlotInput, TrackInput, TrackSpec};

/// Rebuilds the typed form of a stored track (its shape was valid when stored; the limits it
/// must meet to be enrolled in may have narrowed since: see [`recurrence::check_limits`]).
pub fn spec_of(row: &TrackRow) -> Result<TrackSpec, ApiError> {
    let schedule: Vec<SlotInput> =
        serde_json::from_str(&row.schedule).map_err(|_| ApiError::internal("corrupt schedule"))?;
    recurrence::parse_stored(&TrackInput {
        name: row.name.clone(),
        time_zone: row.time_zone.clone(),
        population: row.population.clone(),
        start_date: row.start_date.clone(),
        weeks: i64::from(row.weeks),
        schedule,
    })
    .map_err(|e| ApiError::internal(format!("stored track no longer valid: {}", e.code())))
}
