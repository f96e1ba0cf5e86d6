//! Ops the server writes itself, as a device of a counselor: the schedule generator's sessions
//! and the dashboard's edits. They go through the same push path as a phone's ops ([`push::push`]),
//! so they are judged, logged, merged and pulled like any other write.
//!
//! Such a device has no outbox of its own: its next sequence numbers are read from what the
//! server holds for it, so two writes of one device at the same moment may pick the same
//! numbers. The loser's ops are refused `device_seq_reused` with nothing stored, and the writer
//! numbers them again and pushes them once more, at most [`MAX_RENUMBERINGS`] times.

use crate::auth::AuthUser;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::repo::sync_store;
use crate::sync::push::{self, server_reject, PushLimits, PushOutcome};
use serde_json::Value;
use sync_core::wire::RejectedOp;
use sync_core::{Op, RejectCode};
use uuid::Uuid;

/// How often a write is numbered again before it gives up (nothing of it is then stored).
pub const MAX_RENUMBERINGS: usize = 5;

/// The next free sequence number of a device: one past everything the server holds for it.
pub fn next_seq(conn: &mut DbConnection, device: Uuid) -> Result<u64, ApiError> {
    let (high_water, pending) = sync_store::load_receipt(conn, &device.to_string())?;
    let top = pending.last().copied().unwrap_or(0).max(high_water);
    u64::try_from(top + 1).map_err(ApiError::internal)
}

/// Gives `ops` consecutive sequence numbers from `first`.
pub fn number_from(ops: &mut [Op], first: u64) -> Result<(), ApiError> {
    for (i, op) in ops.iter_mut().enumerate() {
        op.device_seq = first + u64::try_from(i).map_err(ApiError::internal)?;
    }
    Ok(())
}

/// Pushes ops this server wrote as `author`, through the push path.
pub fn push_ops(
    conn: &mut DbConnection,
    author: &AuthUser,
    ops: &[Op],
    limits: PushLimits,
    now_ms: i64,
) -> Result<PushOutcome, ApiError> {
    let raw = ops
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<Value>, _>>()
        .map_err(ApiError::internal)?;
    push::push(conn, author, raw, limits, now_ms)
}

/// Was the op refused only because another write of the device took its number first?
pub fn lost_its_number(rejected: &RejectedOp) -> bool {
    rejected.code == server_reject::DEVICE_SEQ_REUSED
}

/// Was the op refused because the author may no longer write for the patient (consent
/// withdrawn or care team changed since the author's standing was checked)?
pub fn lost_standing(rejected: &RejectedOp) -> bool {
    rejected.code == RejectCode::NotYourPatient.as_str()
}
