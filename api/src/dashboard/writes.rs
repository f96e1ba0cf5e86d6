//! Dashboard writes: a counselor's change to a session document becomes sync-core ops authored
//! by the counselor from this browser session's device, run through the server's own push code
//! ([`crate::sync::push::push`]): judged by the same schema, clock and write policy (with the
//! counselor's standing, so consent is checked again), logged, merged and pulled by the phone
//! like any other write. Nothing here writes a read model or field state directly.
//!
//! Stamps: the ops' HLC is the later of the server clock and one tick past the document's
//! current winners, so a counselor's change always wins over what they saw, even when it comes
//! within the same millisecond as the last one. Sequence numbers: the session device's next
//! numbers come from its receipt; two posts of one browser at the same moment may pick the same
//! ones, and the loser's ops (refused `device_seq_reused`, nothing stored) are re-numbered and
//! pushed again ([`crate::sync::server_writes`], as the schedule generator does).

use crate::auth::AuthUser;
use crate::dashboard::error::PageError;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::repo::sync_store;
use crate::sync::push::PushLimits;
use crate::sync::server_writes::{self, lost_its_number, lost_standing, MAX_RENUMBERINGS};
use serde_json::Value;
use std::str::FromStr;
use sync_core::op::op_id;
use sync_core::{DocKey, DocKind, Hlc, Op};
use uuid::Uuid;

/// The latest HLC among the document's current field winners.
fn latest_hlc(
    conn: &mut DbConnection,
    patient: Uuid,
    kind: DocKind,
    doc: Uuid,
) -> Result<Option<Hlc>, ApiError> {
    let rows = sync_store::fields_of_docs(
        conn,
        &patient.to_string(),
        &[(kind.as_str().to_string(), doc.to_string())],
    )?;
    Ok(rows
        .iter()
        .filter(|r| r.kind == kind.as_str() && r.doc_id == doc.to_string())
        .filter_map(|r| Hlc::from_str(&r.hlc).ok())
        .max())
}

/// Writes `fields` of document `key` as `author`, through the push path. A value the schema or
/// policy refuses comes back as [`PageError::Invalid`] with the push path's own message (a
/// counselor who lost standing since the page was shown gets [`PageError::NotFound`]); callers
/// write one logical change per call.
pub fn write_fields(
    conn: &mut DbConnection,
    author: &AuthUser,
    key: DocKey,
    fields: &[(&str, Value)],
    limits: PushLimits,
    now_ms: i64,
) -> Result<(), PageError> {
    let DocKey { patient, kind, doc } = key;
    let node = u64::from_le_bytes(
        author.device_id.as_bytes()[8..16]
            .try_into()
            .map_err(ApiError::internal)?,
    );
    let now = u64::try_from(now_ms).map_err(ApiError::internal)?;
    let (wall, first_counter) = match latest_hlc(conn, patient, kind, doc)? {
        Some(last) if last.wall_ms() >= now => (last.wall_ms(), last.counter().saturating_add(1)),
        _ => (now, 0),
    };
    let mut ops = Vec::with_capacity(fields.len());
    for (i, (field, value)) in fields.iter().enumerate() {
        let counter = first_counter
            .checked_add(u32::try_from(i).map_err(ApiError::internal)?)
            .ok_or_else(|| ApiError::internal("hlc counter"))?;
        let hlc = Hlc::new(wall, counter, node).map_err(ApiError::internal)?;
        let random: [u8; 10] = Uuid::new_v4().as_bytes()[..10]
            .try_into()
            .map_err(ApiError::internal)?;
        ops.push(Op {
            id: op_id(&hlc, &random),
            patient,
            kind,
            doc,
            field: (*field).to_string(),
            value: value.clone(),
            hlc,
            device_seq: 0,
        });
    }

    for _ in 0..MAX_RENUMBERINGS {
        let first = server_writes::next_seq(conn, author.device_id)?;
        server_writes::number_from(&mut ops, first)?;
        let outcome = server_writes::push_ops(conn, author, &ops, limits, now_ms)?;
        let mut retry = Vec::new();
        for r in &outcome.rejected {
            if lost_its_number(r) {
                retry.extend(ops.get(r.index).cloned());
            } else if lost_standing(r) {
                // Consent withdrawn (or care team changed) since the page was shown.
                return Err(PageError::NotFound);
            } else {
                tracing::info!(code = %r.code, "dashboard write refused by the push path");
                return Err(PageError::Invalid(r.message.clone()));
            }
        }
        if retry.is_empty() {
            return Ok(());
        }
        ops = retry;
    }
    Err(ApiError::internal("dashboard write: device sequence kept colliding").into())
}
