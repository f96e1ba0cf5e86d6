//! Whether a push calls for crisis resources: evaluated on arrival, after the commit, whatever
//! day the check-in was made.

use crate::crisis::CrisisSigns;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::repo::checkins;
use crate::sync::push::TakenCheckins;
use crate::trends::flags::FlagSettings;

/// Whether any check-in the push holds ops of signals a crisis: those the merge rewrote as it
/// left them, any others (a retried batch, or an edit that lost) as stored, so a `crisis` flag
/// sent by another device, or a lapse whose intensity arrived separately, counts.
pub fn push_calls_for_help(
    conn: &mut DbConnection,
    taken: &TakenCheckins,
    settings: &FlagSettings,
) -> Result<bool, ApiError> {
    if taken.rewritten.iter().any(|s| s.call_for_help(settings)) {
        return Ok(true);
    }
    for (patient, docs) in &taken.unchanged {
        if any_stored_crisis(conn, patient, docs, settings)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether any of these stored check-ins of `patient` signals a crisis.
fn any_stored_crisis(
    conn: &mut DbConnection,
    patient: &str,
    docs: &[String],
    settings: &FlagSettings,
) -> Result<bool, ApiError> {
    for doc in docs {
        if let Some(row) = checkins::crisis_columns(conn, patient, doc)? {
            if CrisisSigns::of_row(row.crisis, row.lapse, row.intensity).call_for_help(settings) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}
