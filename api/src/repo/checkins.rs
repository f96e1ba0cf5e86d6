//! Single check-ins of the `checkins` read model, read by their whole key.

use crate::db::schema::checkins;
use crate::db::DbConnection;
use crate::error::ApiError;
use diesel::prelude::*;

/// What a stored check-in says about a crisis, as its row holds it.
#[derive(Debug, Clone, Copy, Queryable)]
pub struct CrisisColumns {
    /// "I need help now".
    pub crisis: bool,
    /// Whether a lapse was recorded, if said.
    pub lapse: Option<bool>,
    /// The craving's intensity, if given.
    pub intensity: Option<i32>,
}

/// The crisis columns of one check-in of `patient`, unless it is unknown or deleted. One query on
/// the whole primary key, a plan no statistics can spoil.
pub fn crisis_columns(
    conn: &mut DbConnection,
    patient: &str,
    doc: &str,
) -> Result<Option<CrisisColumns>, ApiError> {
    Ok(checkins::table
        .filter(checkins::patient_id.eq(patient))
        .filter(checkins::doc_id.eq(doc))
        .filter(checkins::deleted.eq(false))
        .select((checkins::crisis, checkins::lapse, checkins::intensity))
        .first::<CrisisColumns>(conn)
        .optional()?)
}
