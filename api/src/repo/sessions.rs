//! Single sessions of the `sessions` read model, as the schedule page, the caseload and the
//! schedule generator read them (lists by time, and one session by id, are in [`crate::repo::read_models`]).

use crate::db::schema::sessions;
use crate::db::DbConnection;
use crate::error::ApiError;
use diesel::prelude::*;
use std::collections::HashSet;

/// How many ids one `IN (…)` list carries, well below every backend's limit on bound values.
const IN_CHUNK: usize = 500;

/// The start and title of an upcoming session.
#[derive(Debug, Clone, Queryable)]
pub struct Upcoming {
    /// Session id.
    pub doc_id: String,
    /// Start (ms UTC).
    pub starts_at: Option<i64>,
    /// Kind of session.
    pub kind: Option<String>,
    /// Title.
    pub title: Option<String>,
}

/// The patient's first session that starts after `now_ms` and is neither deleted nor cancelled.
pub fn next_after(
    conn: &mut DbConnection,
    patient: &str,
    now_ms: i64,
) -> Result<Option<Upcoming>, ApiError> {
    Ok(sessions::table
        .filter(sessions::patient_id.eq(patient))
        .filter(sessions::deleted.eq(false))
        .filter(sessions::starts_at.gt(now_ms))
        .filter(
            sessions::status
                .is_null()
                .or(sessions::status.ne("cancelled")),
        )
        .order(sessions::starts_at.asc())
        .select((
            sessions::doc_id,
            sessions::starts_at,
            sessions::kind,
            sessions::title,
        ))
        .first::<Upcoming>(conn)
        .optional()?)
}

/// The session documents among `ids` that the patient already has (deleted ones included).
pub fn existing_ids(
    conn: &mut DbConnection,
    patient: &str,
    ids: &[String],
) -> Result<HashSet<String>, ApiError> {
    let mut out = HashSet::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let found: Vec<String> = sessions::table
            .filter(sessions::patient_id.eq(patient))
            .filter(sessions::doc_id.eq_any(chunk))
            .select(sessions::doc_id)
            .load(conn)?;
        out.extend(found);
    }
    Ok(out)
}
