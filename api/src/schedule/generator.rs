//! Writes a track's sessions for one patient as session documents, through the sync push path
//! ([`crate::sync::push::push`]), so they are logged, merged and pulled like any other change.
//!
//! # The generator devices
//!
//! Generated ops are authored by the enrolling counselor from a server-side "schedule generator"
//! device: one `devices` row per counselor, track and patient, with a deterministic id (UUID v5
//! of the three), created once and reused when the patient is enrolled again. It is created
//! already revoked, so no token is ever issued for it and no sign-in can take it over; the push
//! path does not ask (it trusts the [`AuthUser`] it is given).
//!
//! # All or nothing
//!
//! An enrollment writes every missing session of the patient in one push, and that push accepts
//! every op of it or none:
//!
//! - every op is judged before the push exactly as the push judges it (sync-core's schema and
//!   write policy, the caller's standing): an op that would be refused refuses the enrollment
//!   (422 `track_not_enrollable`, or 404 when the counselor may no longer act for the patient),
//!   and nothing is written. A track is judged the same way when it is defined
//!   ([`crate::schedule::recurrence::check_limits`]), so this only refuses tracks stored before
//!   today's limits;
//! - op ids are fresh, so none is a duplicate;
//! - the device's sequence numbers stay dense, like a phone's, so its receipt has no gaps: the
//!   next numbers are one past the device's receipt, read in one snapshot with the sessions the
//!   patient already has. Because the device belongs to this one (counselor, track, patient), the
//!   only push that can take the same numbers is a concurrent enrollment of the same patient in
//!   the same track by the same counselor, which read the same snapshot and so pushes the same
//!   number of ops from the same first number: one of the two is stored whole and the other is
//!   refused whole (`device_seq_reused`), and the loser reads again, finds every session there
//!   and writes nothing. (With one device per counselor, two patients' enrollments at once
//!   could overlap in part, and a part of one would be stored.)
//!
//! # Regeneration
//!
//! Session ids are deterministic ([`Occurrence::doc_id`]), so enrolling twice names the same
//! documents. Documents that already exist — even deleted ones — are left alone: a counselor may
//! have rescheduled or cancelled them, and the patient's rsvp and the attendance belong to them.

use crate::access::{self, Standing};
use crate::auth::AuthUser;
use crate::db::snapshot::read_snapshot;
use crate::db::DbConnection;
use crate::domain::Role;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::repo::{accounts, sessions};
use crate::schedule::recurrence::{format_time, Occurrence};
use crate::sync::push::PushLimits;
use crate::sync::server_writes::{self, lost_its_number, lost_standing, MAX_RENUMBERINGS};
use std::collections::HashSet;
use sync_core::op::op_id;
use sync_core::{may_write, Author, DocKind, Hlc, Op};
use uuid::Uuid;

/// Namespace of generator device ids.
const DEVICE_NAMESPACE: Uuid = Uuid::from_u128(0x5c4e_d01e_7e74_4e2a_9b1d_0000_0000_0002);
/// The generator device's name.
pub const DEVICE_NAME: &str = "schedule generator";
/// What a generation wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generated {
    /// Sessions written now.
    pub created: usize,
    /// Sessions that already existed and were left as they are.
    pub existing: usize,
}

/// The generator device of a counselor's enrollments of one patient in one track.
pub fn device_id(counselor: Uuid, track: Uuid, patient: Uuid) -> Uuid {
    Uuid::new_v5(
        &DEVICE_NAMESPACE,
        format!("tether/schedule-generator/{counselor}/{track}/{patient}").as_bytes(),
    )
}

/// The generator device, registered on first use.
fn ensure_device(
    conn: &mut DbConnection,
    counselor: Uuid,
    track: Uuid,
    patient: Uuid,
    now_ms: i64,
) -> Result<Uuid, ApiError> {
    let id = device_id(counselor, track, patient);
    accounts::ensure_revoked_device(conn, id, counselor, DEVICE_NAME, now_ms)?;
    Ok(id)
}

/// What the database holds for this enrollment, read in one snapshot: the patient's sessions
/// among the track's, and the device's next free sequence number.
fn snapshot(
    conn: &mut DbConnection,
    patient: Uuid,
    ids: &[String],
    device: Uuid,
) -> Result<(HashSet<String>, u64), ApiError> {
    read_snapshot(conn, |conn| {
        let existing = sessions::existing_ids(conn, &patient.to_string(), ids)?;
        let next = server_writes::next_seq(conn, device)?;
        Ok((existing, next))
    })
}

/// The ops that write `new` sessions, numbered from `first`, each judged as the push will
/// judge it; an op that would be refused refuses them all.
fn build_ops(
    author: &AuthUser,
    standing: Standing,
    patient: Uuid,
    new: &[(Uuid, &Occurrence)],
    first: u64,
    now_ms: i64,
) -> Result<Vec<Op>, ApiError> {
    let node = u64::from_le_bytes(
        author.device_id.as_bytes()[8..16]
            .try_into()
            .map_err(ApiError::internal)?,
    );
    let wall = u64::try_from(now_ms).map_err(ApiError::internal)?;
    let writer = Author {
        user: author.user_id,
        role: sync_core::Role::Counselor,
    };
    let mut ops: Vec<Op> = Vec::with_capacity(new.len() * 5);
    for (doc, occurrence) in new {
        for (field, value) in occurrence.fields() {
            let index = u64::try_from(ops.len()).map_err(ApiError::internal)?;
            let counter = u32::try_from(index).map_err(|_| ApiError::internal("hlc counter"))?;
            let hlc = Hlc::new(wall, counter, node).map_err(ApiError::internal)?;
            let random: [u8; 10] = Uuid::new_v4().as_bytes()[..10]
                .try_into()
                .map_err(ApiError::internal)?;
            let op = Op {
                id: op_id(&hlc, &random),
                patient,
                kind: DocKind::Session,
                doc: *doc,
                field: field.to_string(),
                value,
                hlc,
                device_seq: first + index,
            };
            if let Err(r) =
                sync_core::validate(&op).and_then(|()| may_write(&writer, standing.relation(), &op))
            {
                return Err(not_enrollable(&format!(
                    "the session of {} at {} would be refused ({})",
                    occurrence.local_date,
                    format_time(occurrence.start_time),
                    r.code.as_str()
                )));
            }
            ops.push(op);
        }
    }
    Ok(ops)
}

/// 422 `track_not_enrollable`: the track cannot be written for a patient as it is.
pub fn not_enrollable(why: &str) -> ApiError {
    ApiError::validation(
        ErrorCode::TrackNotEnrollable,
        format!("this track cannot be enrolled in: {why}; nothing was written (define the track again within today's limits)"),
    )
}

/// Writes the sessions of `occurrences` that `patient` does not have yet, authored by
/// `counselor` (who must have standing: the push path checks it again), all or none (see the
/// module's comment).
pub fn generate(
    conn: &mut DbConnection,
    counselor: &AuthUser,
    track: Uuid,
    patient: Uuid,
    occurrences: &[Occurrence],
    limits: PushLimits,
    now_ms: i64,
) -> Result<Generated, ApiError> {
    let device = ensure_device(conn, counselor.user_id, track, patient, now_ms)?;
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

    for _ in 0..MAX_RENUMBERINGS {
        let (existing, first) = snapshot(conn, patient, &ids, device)?;
        let new: Vec<(Uuid, &Occurrence)> = docs
            .iter()
            .filter(|(d, _)| !existing.contains(&d.to_string()))
            .copied()
            .collect();
        let generated = Generated {
            created: new.len(),
            existing: existing.len(),
        };
        if new.is_empty() {
            return Ok(generated);
        }
        let standing = access::standing(conn, counselor, patient)?;
        if !matches!(standing, Standing::CareTeam { .. }) {
            return Err(ApiError::NotFound("no such patient".into()));
        }
        let ops = build_ops(&author, standing, patient, &new, first, now_ms)?;
        let outcome = server_writes::push_ops(conn, &author, &ops, limits, now_ms)?;
        if outcome.rejected.is_empty() {
            return Ok(generated);
        }
        let all_refused = outcome.accepted.is_empty() && outcome.duplicates.is_empty();
        if !all_refused {
            // The module's argument says this cannot happen; if it does, say so loudly.
            tracing::error!(
                accepted = outcome.accepted.len(),
                refused = outcome.rejected.len(),
                "schedule generator: an enrollment was stored in part"
            );
            return Err(ApiError::internal(
                "schedule generator: an enrollment was stored in part",
            ));
        }
        if outcome.rejected.iter().all(lost_its_number) {
            // A concurrent enrollment of the same patient took these numbers: read again.
            continue;
        }
        // Standing lost between the check above and the push: nothing was stored.
        if outcome.rejected.iter().all(lost_standing) {
            return Err(ApiError::NotFound("no such patient".into()));
        }
        let code = outcome
            .rejected
            .first()
            .map_or("refused", |r| r.code.as_str());
        return Err(not_enrollable(&format!(
            "its sessions were refused ({code})"
        )));
    }
    // Concurrent enrollments of this patient kept taking the numbers first: nothing of this
    // one is stored, and trying again is safe.
    Err(ApiError::Unavailable)
}
