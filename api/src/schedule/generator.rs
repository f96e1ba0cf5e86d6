//! Writes a track's sessions for one patient as session documents, through the sync push path
//! ([`crate::sync::push::push`]), so they are logged, merged and pulled like any other change.
//!
//! # The generator device
//!
//! Generated ops are authored by the enrolling counselor from a server-side "schedule generator"
//! device of theirs: one `devices` row per counselor with a deterministic id (UUID v5 of the
//! counselor id), created once and reused. It is created already revoked, so no token is ever
//! issued for it and no sign-in can take it over; the push path does not ask (it trusts the
//! [`AuthUser`] it is given).
//!
//! Its `device_seq` counter must stay dense, like a phone's, so its receipt has no gaps. Rather
//! than a counter column (which a failed push after the reservation would leave with holes), the
//! next numbers are taken from the device's receipt — the highest sequence number the server
//! holds for it — just before the push. Two enrollments by the same counselor at the same moment
//! may pick the same numbers; the push then refuses the loser's ops with `device_seq_reused`
//! (nothing of them is stored) and they are re-numbered from the new receipt and pushed again.
//! The push is its own transaction (and SQLite cannot nest `BEGIN IMMEDIATE`), so this optimistic
//! retry is what keeps the counter dense without editing the push path.
//!
//! # Regeneration
//!
//! Session ids are deterministic ([`Occurrence::doc_id`]), so enrolling twice names the same
//! documents. Documents that already exist — even deleted ones — are left alone: a counselor may
//! have rescheduled or cancelled them, and the patient's rsvp and the attendance belong to them.

use crate::auth::AuthUser;
use crate::db::schema::{devices, sessions};
use crate::db::DbConnection;
use crate::domain::Role;
use crate::error::ApiError;
use crate::repo::sync_store;
use crate::schedule::recurrence::Occurrence;
use crate::sync::push::{self, PushLimits};
use diesel::prelude::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use sync_core::op::op_id;
use sync_core::{DocKind, Hlc, Op};
use uuid::Uuid;

/// Namespace of generator device ids.
const DEVICE_NAMESPACE: Uuid = Uuid::from_u128(0x5c4e_d01e_7e74_4e2a_9b1d_0000_0000_0002);
/// The generator device's name.
pub const DEVICE_NAME: &str = "schedule generator";
/// How often ops refused for a reused sequence number are re-numbered and pushed again.
const MAX_ATTEMPTS: usize = 5;
const IN_CHUNK: usize = 500;

/// What a generation wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generated {
    /// Sessions written now.
    pub created: usize,
    /// Sessions that already existed and were left as they are.
    pub existing: usize,
}

/// The generator device id of a counselor.
pub fn device_id(counselor: Uuid) -> Uuid {
    Uuid::new_v5(
        &DEVICE_NAMESPACE,
        format!("tether/schedule-generator/{counselor}").as_bytes(),
    )
}

/// The counselor's generator device, registered on first use.
fn ensure_device(conn: &mut DbConnection, counselor: Uuid, now_ms: i64) -> Result<Uuid, ApiError> {
    let id = device_id(counselor);
    let known: i64 = devices::table
        .filter(devices::id.eq(id.to_string()))
        .count()
        .get_result(conn)?;
    if known == 0 {
        let inserted = diesel::insert_into(devices::table)
            .values((
                devices::id.eq(id.to_string()),
                devices::user_id.eq(counselor.to_string()),
                devices::name.eq(DEVICE_NAME),
                devices::created_at.eq(now_ms),
                devices::last_seen_at.eq(now_ms),
                devices::revoked_at.eq(Some(now_ms)),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => {}
            // Registered by a concurrent enrollment.
            Err(e) if crate::db::is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(id)
}

/// The session documents among `ids` that the patient already has (deleted ones included).
fn existing_docs(
    conn: &mut DbConnection,
    patient: Uuid,
    ids: &[String],
) -> Result<HashSet<String>, ApiError> {
    let mut out = HashSet::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let found: Vec<String> = sessions::table
            .filter(sessions::patient_id.eq(patient.to_string()))
            .filter(sessions::doc_id.eq_any(chunk))
            .select(sessions::doc_id)
            .load(conn)?;
        out.extend(found);
    }
    Ok(out)
}

/// The next free sequence number of a device: one past everything the server holds for it.
fn next_seq(conn: &mut DbConnection, device: Uuid) -> Result<u64, ApiError> {
    let (high_water, pending) = sync_store::load_receipt(conn, &device.to_string())?;
    let top = pending.last().copied().unwrap_or(0).max(high_water);
    u64::try_from(top + 1).map_err(ApiError::internal)
}

/// The fields one occurrence is written with.
fn fields(o: &Occurrence) -> [(&'static str, Value); 5] {
    [
        ("kind", json!(o.kind)),
        ("title", json!(o.title)),
        ("starts_at", json!(o.starts_at_ms)),
        ("duration_min", json!(o.duration_min)),
        ("status", json!("scheduled")),
    ]
}

/// Writes the sessions of `occurrences` that `patient` does not have yet, authored by
/// `counselor` (who must have standing: the push path checks it again).
pub fn generate(
    conn: &mut DbConnection,
    counselor: &AuthUser,
    track: Uuid,
    patient: Uuid,
    occurrences: &[Occurrence],
    limits: PushLimits,
    now_ms: i64,
) -> Result<Generated, ApiError> {
    let device = ensure_device(conn, counselor.user_id, now_ms)?;
    let author = AuthUser {
        user_id: counselor.user_id,
        role: Role::Counselor,
        clinic_id: counselor.clinic_id,
        device_id: device,
    };
    let docs: Vec<(Uuid, &Occurrence)> = occurrences
        .iter()
        .map(|o| (o.doc_id(track, patient), o))
        .collect();
    let ids: Vec<String> = docs.iter().map(|(d, _)| d.to_string()).collect();
    let existing = existing_docs(conn, patient, &ids)?;
    let new: Vec<&(Uuid, &Occurrence)> = docs
        .iter()
        .filter(|(d, _)| !existing.contains(&d.to_string()))
        .collect();

    let node = u64::from_le_bytes(
        device.as_bytes()[8..16]
            .try_into()
            .map_err(ApiError::internal)?,
    );
    let wall = u64::try_from(now_ms).map_err(ApiError::internal)?;
    let mut ops: Vec<Op> = Vec::with_capacity(new.len() * 5);
    let mut counter: u32 = 0;
    for (doc, occurrence) in &new {
        for (field, value) in fields(occurrence) {
            let hlc = Hlc::new(wall, counter, node).map_err(ApiError::internal)?;
            counter = counter
                .checked_add(1)
                .ok_or_else(|| ApiError::internal("hlc counter"))?;
            let random: [u8; 10] = Uuid::new_v4().as_bytes()[..10]
                .try_into()
                .map_err(ApiError::internal)?;
            ops.push(Op {
                id: op_id(&hlc, &random),
                patient,
                kind: DocKind::Session,
                doc: *doc,
                field: field.to_string(),
                value,
                hlc,
                device_seq: 0,
            });
        }
    }

    let mut attempt = 0;
    while !ops.is_empty() {
        attempt += 1;
        if attempt > MAX_ATTEMPTS {
            return Err(ApiError::internal(
                "schedule generator: device sequence kept colliding",
            ));
        }
        let first = next_seq(conn, device)?;
        for (i, op) in ops.iter_mut().enumerate() {
            op.device_seq = first + u64::try_from(i).map_err(ApiError::internal)?;
        }
        let raw = ops
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<Value>, _>>()
            .map_err(ApiError::internal)?;
        let outcome = push::push(conn, &author, raw, limits, now_ms)?;
        let mut retry = Vec::new();
        for r in &outcome.rejected {
            if r.code != "device_seq_reused" {
                return Err(ApiError::internal(format!(
                    "schedule generator: op refused ({})",
                    r.code
                )));
            }
            if let Some(op) = ops.get(r.index) {
                retry.push(op.clone());
            }
        }
        ops = retry;
    }
    Ok(Generated {
        created: new.len(),
        existing: existing.len(),
    })
}
