//! Who may see and write which patient's records: the one place that decides it.
//!
//! Every read model, pull and push asks here. Today the rule is the care-team assignment: a
//! patient sees their own records; a counselor sees the patients they are assigned to; an admin
//! manages accounts and sees no care records. Consent (42 CFR Part 2) is checked in this same
//! function when it lands, so no endpoint can forget it.

use crate::auth::AuthUser;
use crate::db::schema::care_team;
use crate::db::DbConnection;
use crate::domain::Role;
use crate::error::ApiError;
use diesel::prelude::*;
use sync_core::Relation;
use uuid::Uuid;

/// The caller's standing towards one patient's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The patient themself.
    Owner,
    /// Staff on the patient's care team.
    CareTeam,
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
            Standing::CareTeam => Relation::CareTeam,
            Standing::Owner | Standing::Stranger => Relation::None,
        }
    }
}

/// The caller's standing towards `patient`.
pub fn standing(
    conn: &mut DbConnection,
    caller: &AuthUser,
    patient: Uuid,
) -> Result<Standing, ApiError> {
    match caller.role {
        Role::Patient if caller.user_id == patient => Ok(Standing::Owner),
        Role::Patient | Role::Admin => Ok(Standing::Stranger),
        Role::Counselor => {
            let assigned: i64 = care_team::table
                .filter(care_team::counselor_id.eq(caller.user_id.to_string()))
                .filter(care_team::patient_id.eq(patient.to_string()))
                .count()
                .get_result(conn)?;
            Ok(if assigned > 0 {
                Standing::CareTeam
            } else {
                Standing::Stranger
            })
        }
    }
}

/// Every patient whose records the caller may read, sorted.
pub fn readable_patients(
    conn: &mut DbConnection,
    caller: &AuthUser,
) -> Result<Vec<Uuid>, ApiError> {
    match caller.role {
        Role::Patient => Ok(vec![caller.user_id]),
        Role::Admin => Ok(Vec::new()),
        Role::Counselor => {
            let ids: Vec<String> = care_team::table
                .filter(care_team::counselor_id.eq(caller.user_id.to_string()))
                .select(care_team::patient_id)
                .order(care_team::patient_id.asc())
                .load(conn)?;
            ids.iter()
                .map(|id| {
                    Uuid::parse_str(id)
                        .map_err(|_| ApiError::internal("corrupt patient id on the care team"))
                })
                .collect()
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
