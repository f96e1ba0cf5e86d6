//! Pull: the current state of every field changed after the caller's cursor, for every patient
//! the caller may read, page by page.
//!
//! Cost grows with what changed, not with history: each field appears once, at its latest
//! value, however often it was edited. A device is not sent back the field states it wrote itself
//! (unless another write has since won), so a push followed by a pull costs nothing extra.

use crate::access::{self, ReadAction};
use crate::auth::AuthUser;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::repo::sync_store;
use crate::sync::cursor::Cursor;
use serde::Serialize;
use sync_core::FieldState;
use uuid::Uuid;

/// One page of changes.
#[derive(Debug, Serialize)]
pub struct PullPage {
    /// Latest state of each changed field, in stream order per patient.
    pub changes: Vec<FieldState>,
    /// Where the next pull starts.
    pub cursor: String,
    /// More changes are waiting: pull again with `cursor` now.
    pub has_more: bool,
}

/// Reads one page. Patients are read in id order; within a patient, changes in stream order.
pub fn pull(
    conn: &mut DbConnection,
    caller: &AuthUser,
    cursor: Option<&str>,
    limit: usize,
) -> Result<PullPage, ApiError> {
    let mut cursor = match cursor {
        Some(text) => Cursor::decode(text)?,
        None => Cursor::default(),
    };
    let readable = access::readable_patients(conn, caller)?;
    let ids: Vec<Uuid> = readable.iter().map(|(p, _)| *p).collect();
    cursor.retain(&ids);
    let device = caller.device_id.to_string();
    let mut changes = Vec::new();
    let mut has_more = false;

    'patients: for (patient, standing) in &readable {
        let patient_id = patient.to_string();
        let mut position = cursor.position(*patient);
        let returned_before = changes.len();
        loop {
            let room = limit - changes.len();
            let want = i64::try_from(room + 1).unwrap_or(i64::MAX);
            let rows = sync_store::fields_after(conn, &patient_id, position, want)?;
            let exhausted = rows.len() <= room;
            for row in rows {
                if changes.len() == limit {
                    has_more = true;
                    cursor.set(*patient, position);
                    if changes.len() > returned_before {
                        access::record_read(conn, caller, *patient, *standing, ReadAction::Pull)?;
                    }
                    break 'patients;
                }
                position = row.seq;
                if row.device_id != device {
                    changes.push(row.into_state()?);
                }
            }
            if exhausted {
                break;
            }
        }
        cursor.set(*patient, position);
        if changes.len() > returned_before {
            access::record_read(conn, caller, *patient, *standing, ReadAction::Pull)?;
        }
    }
    Ok(PullPage {
        changes,
        cursor: cursor.encode(),
        has_more,
    })
}
