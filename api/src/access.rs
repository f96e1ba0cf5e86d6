//! Who may see and write which patient's records: the one place that decides it, and the access
//! log that records every staff read.
//!
//! The rule (42 CFR Part 2): a patient sees their own records. A counselor sees a patient's
//! records only while BOTH hold: they are on the patient's care team, and the patient has an
//! active consent (not revoked, not expired) naming them or the whole care team. Revocation or
//! expiry cuts access at the next request, for reads, pulls and writes alike, because every one
//! of them asks [`standing`]. Admins manage accounts and see no care records.

use crate::auth::AuthUser;
use crate::clock::now_ms;
use crate::db::DbConnection;
use crate::domain::Role;
use crate::error::ApiError;
use crate::repo::{care_team, consents};
use std::borrow::Cow;
use std::collections::HashMap;
use sync_core::kinds::read_model;
use sync_core::DocKind;
use sync_core::Relation;
use uuid::Uuid;

/// The caller's standing towards one patient's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The patient themself.
    Owner,
    /// Staff on the patient's care team, under this active consent.
    CareTeam {
        /// The consent that allows it, recorded with every read.
        consent: Uuid,
    },
    /// Nobody to this patient: their records do not exist as far as the caller can tell.
    Stranger,
}

impl Standing {
    /// Whether the caller may read the patient's records.
    pub fn may_read(self) -> bool {
        !matches!(self, Standing::Stranger)
    }

    /// The relation sync-core's write policy takes. The owner's identity is checked by
    /// sync-core itself (author == patient), so only the care-team standing is passed on.
    pub fn relation(self) -> Relation {
        match self {
            Standing::CareTeam { .. } => Relation::CareTeam,
            Standing::Owner | Standing::Stranger => Relation::None,
        }
    }
}

fn parse(id: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::internal(format!("corrupt {what} id")))
}

/// The active consents of `patients` that cover counselor `counselor` at `now_ms`: patient →
/// the oldest such consent.
fn active_consents(
    conn: &mut DbConnection,
    patients: &[String],
    counselor: Uuid,
    now_ms: i64,
) -> Result<HashMap<String, Uuid>, ApiError> {
    let mut out = HashMap::new();
    for (patient, consent) in consents::active_covering(conn, patients, counselor, now_ms)? {
        out.insert(patient, parse(&consent, "consent")?);
    }
    Ok(out)
}

/// The caller's standing towards `patient`, now.
pub fn standing(
    conn: &mut DbConnection,
    caller: &AuthUser,
    patient: Uuid,
) -> Result<Standing, ApiError> {
    let now_ms = now_ms();
    match caller.role {
        Role::Patient if caller.user_id == patient => Ok(Standing::Owner),
        Role::Patient | Role::Admin => Ok(Standing::Stranger),
        Role::Counselor => {
            if !care_team::is_assigned(conn, caller.user_id, patient)? {
                return Ok(Standing::Stranger);
            }
            Ok(
                active_consents(conn, &[patient.to_string()], caller.user_id, now_ms)?
                    .into_values()
                    .next()
                    .map_or(Standing::Stranger, |consent| Standing::CareTeam { consent }),
            )
        }
    }
}

/// Every patient whose records the caller may read now, sorted, with the caller's standing.
pub fn readable_patients(
    conn: &mut DbConnection,
    caller: &AuthUser,
) -> Result<Vec<(Uuid, Standing)>, ApiError> {
    let now_ms = now_ms();
    match caller.role {
        Role::Patient => Ok(vec![(caller.user_id, Standing::Owner)]),
        Role::Admin => Ok(Vec::new()),
        Role::Counselor => {
            let team = care_team::patients_of(conn, caller.user_id)?;
            let consented = active_consents(conn, &team, caller.user_id, now_ms)?;
            let mut readable = consented
                .into_iter()
                .map(|(patient, consent)| {
                    Ok((parse(&patient, "patient")?, Standing::CareTeam { consent }))
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            readable.sort_by_key(|(p, _)| *p);
            Ok(readable)
        }
    }
}

/// Refuses with 404 unless the caller may read `patient`'s records: a stranger cannot even learn
/// that the patient exists.
pub fn require_read(
    conn: &mut DbConnection,
    caller: &AuthUser,
    patient: Uuid,
) -> Result<Standing, ApiError> {
    let standing = standing(conn, caller, patient)?;
    if standing.may_read() {
        Ok(standing)
    } else {
        Err(ApiError::NotFound("no such patient".into()))
    }
}

/// What staff read, as the access log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAction {
    /// A list of one kind's documents (`read_` and the kind's read-model table:
    /// `read_checkins`, `read_exercises`, `read_sessions`).
    List(DocKind),
    /// A sync pull that returned the patient's records.
    Pull,
    /// The trends and risk flags.
    Trends,
    /// The patient's row on a counselor's caseload.
    Caseload,
    /// The IOP hours ledger (scheduled and attended hours per week).
    IopHours,
}

impl ReadAction {
    /// The stored name.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            ReadAction::List(kind) => {
                let table = read_model(kind).map_or(kind.as_str(), |rm| rm.table);
                return Cow::Owned(format!("read_{table}"));
            }
            ReadAction::Pull => "sync_pull",
            ReadAction::Trends => "read_trends",
            ReadAction::Caseload => "read_caseload",
            ReadAction::IopHours => "read_iop_hours",
        })
    }
}

/// Writes an access-log entry for a staff read (the patient's own reads are not logged). Called
/// before the data is returned: a read that cannot be logged fails.
pub fn record_read(
    conn: &mut DbConnection,
    caller: &AuthUser,
    patient: Uuid,
    standing: Standing,
    action: ReadAction,
) -> Result<(), ApiError> {
    let Standing::CareTeam { consent } = standing else {
        return Ok(());
    };
    consents::record_access(
        conn,
        &consents::AccessEntry {
            patient,
            actor: caller.user_id,
            actor_role: caller.role.as_str(),
            action: &action.name(),
            consent,
            at: now_ms(),
        },
    )
}
