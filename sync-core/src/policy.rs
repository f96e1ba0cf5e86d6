//! Write policy as data: which role may write which field of which kind.
//!
//! The rules, one row per field of each kind ([`rules`], declared with the kind's fields):
//! - **Patients** write only their own documents (`author.user == op.patient`): every field of
//!   their check-ins and exercises, and the `rsvp` / `rsvp_note` of their sessions. Never a
//!   session's time, status or attendance, never their plan.
//! - **Counselors** write only for patients they are on the care team of *with the patient's
//!   active consent* (the caller decides that and passes [`Relation::CareTeam`]; sync-core has no
//!   database): every field of sessions except the patient's rsvp, and every field of plans. Never
//!   a patient's check-ins or exercises: those are the patient's own account.
//! - **Admins** manage accounts and enrollment, not care records: they write no document field.
//!   Least privilege for 42 CFR Part 2 data; a clinic that wants front-desk scheduling should
//!   give that person a counselor account on the care team, so access stays consented and logged.
//!
//! The tombstone `_deleted` follows the same owner as the document: the patient for check-ins
//! and exercises, the counselor for sessions and plans.

use crate::op::{Author, DocKind, Op, Role};
use crate::reject::{RejectCode, Rejection};

/// The author's relation to the patient whose document the op writes, as established by the
/// caller (care-team assignment plus active consent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// On the patient's care team, and the patient's consent to share is active.
    CareTeam,
    /// No such relation (or consent revoked).
    None,
}

pub use crate::field::{Rule, Writer};

/// The write policy of one kind, generated from its declaration in [`crate::kinds`]: one row
/// per field, the tombstone last.
pub use crate::kinds::rules;

/// Who writes `kind.field` (`field` may be `name/<element>`), if the field exists.
pub fn writer(kind: DocKind, field: &str) -> Option<Writer> {
    let base = field.split_once('/').map_or(field, |(b, _)| b);
    rules(kind)
        .iter()
        .find(|r| r.field == base)
        .map(|r| r.writer)
}

/// May `author`, standing in `relation` to the op's patient, write this op?
///
/// Checks identity and role only; call [`crate::schema::validate`] for the value.
/// Codes: `not_your_patient` (a patient writing someone else's document, a counselor without a
/// consented care-team relation), `forbidden_field` (the role may not write this field),
/// `unknown_field`.
pub fn may_write(author: &Author, relation: Relation, op: &Op) -> Result<(), Rejection> {
    let base = op
        .field
        .split_once('/')
        .map_or(op.field.as_str(), |(b, _)| b);
    let forbidden = || {
        Rejection::new(
            RejectCode::ForbiddenField,
            format!(
                "a {} may not write {}.{base}",
                role_name(author.role),
                op.kind.as_str()
            ),
        )
    };
    let Some(w) = writer(op.kind, &op.field) else {
        return Err(Rejection::new(
            RejectCode::UnknownField,
            format!("unknown field for {}", op.kind.as_str()),
        ));
    };
    match author.role {
        Role::Patient => {
            if author.user != op.patient {
                return Err(Rejection::new(
                    RejectCode::NotYourPatient,
                    "a patient may only write their own records",
                ));
            }
            if w == Writer::Patient {
                Ok(())
            } else {
                Err(forbidden())
            }
        }
        Role::Counselor => {
            if relation != Relation::CareTeam {
                return Err(Rejection::new(
                    RejectCode::NotYourPatient,
                    "not on this patient's care team with active consent",
                ));
            }
            if w == Writer::Counselor {
                Ok(())
            } else {
                Err(forbidden())
            }
        }
        Role::Admin => Err(forbidden()),
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Patient => "patient",
        Role::Counselor => "counselor",
        Role::Admin => "admin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;
    use crate::schema::{self, DELETED};
    use serde_json::json;
    use uuid::Uuid;

    const PATIENT: Uuid = Uuid::from_u128(0x1);
    const OTHER_PATIENT: Uuid = Uuid::from_u128(0x2);
    const COUNSELOR: Uuid = Uuid::from_u128(0xc);
    const ADMIN: Uuid = Uuid::from_u128(0xa);

    fn op(kind: DocKind, field: &str) -> Op {
        Op {
            id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
            patient: PATIENT,
            kind,
            doc: Uuid::from_u128(0xd),
            field: field.into(),
            value: json!(true),
            hlc: Hlc::new(1, 0, 1).unwrap(),
            device_seq: 1,
        }
    }

    fn patient() -> Author {
        Author {
            user: PATIENT,
            role: Role::Patient,
        }
    }
    fn counselor() -> Author {
        Author {
            user: COUNSELOR,
            role: Role::Counselor,
        }
    }
    fn admin() -> Author {
        Author {
            user: ADMIN,
            role: Role::Admin,
        }
    }

    fn code(a: Author, rel: Relation, kind: DocKind, field: &str) -> Option<RejectCode> {
        may_write(&a, rel, &op(kind, field)).err().map(|r| r.code)
    }

    #[test]
    fn the_policy_names_every_schema_field_exactly_once() {
        for kind in DocKind::ALL {
            let names = schema::fields(kind).iter().map(|s| s.name).chain([DELETED]);
            for name in names {
                let n = rules(kind).iter().filter(|r| r.field == name).count();
                assert_eq!(n, 1, "{}.{name}", kind.as_str());
            }
            assert_eq!(rules(kind).len(), schema::fields(kind).len() + 1);
        }
    }

    #[test]
    fn a_patient_writes_every_field_of_their_own_checkins() {
        for s in schema::CHECKIN {
            let field = if matches!(s.ty, schema::FieldType::Set(_)) {
                format!("{}/stress", s.name)
            } else {
                s.name.to_string()
            };
            assert_eq!(
                code(patient(), Relation::None, DocKind::Checkin, &field),
                None
            );
        }
    }

    #[test]
    fn a_patient_writes_every_field_of_their_own_exercises() {
        for s in schema::EXERCISE {
            assert_eq!(
                code(patient(), Relation::None, DocKind::Exercise, s.name),
                None
            );
        }
    }

    #[test]
    fn a_patient_may_delete_their_own_checkin() {
        assert_eq!(
            code(patient(), Relation::None, DocKind::Checkin, DELETED),
            None
        );
    }

    #[test]
    fn a_patient_cannot_write_another_patients_checkin() {
        let other = Author {
            user: OTHER_PATIENT,
            role: Role::Patient,
        };
        assert_eq!(
            code(other, Relation::CareTeam, DocKind::Checkin, "intensity"),
            Some(RejectCode::NotYourPatient)
        );
    }

    #[test]
    fn a_patient_may_rsvp_to_their_session() {
        assert_eq!(
            code(patient(), Relation::None, DocKind::Session, "rsvp"),
            None
        );
        assert_eq!(
            code(patient(), Relation::None, DocKind::Session, "rsvp_note"),
            None
        );
    }

    #[test]
    fn a_patient_cannot_move_a_session() {
        assert_eq!(
            code(patient(), Relation::None, DocKind::Session, "starts_at"),
            Some(RejectCode::ForbiddenField)
        );
    }

    #[test]
    fn a_patient_cannot_mark_their_own_attendance() {
        assert_eq!(
            code(patient(), Relation::None, DocKind::Session, "attendance"),
            Some(RejectCode::ForbiddenField)
        );
    }

    #[test]
    fn a_patient_cannot_delete_a_session() {
        assert_eq!(
            code(patient(), Relation::None, DocKind::Session, DELETED),
            Some(RejectCode::ForbiddenField)
        );
    }

    #[test]
    fn a_patient_cannot_edit_their_plan() {
        assert_eq!(
            code(
                patient(),
                Relation::None,
                DocKind::Plan,
                "skills/meditation"
            ),
            Some(RejectCode::ForbiddenField)
        );
    }

    #[test]
    fn a_counselor_on_the_care_team_schedules_sessions_and_marks_attendance() {
        for f in [
            "kind",
            "title",
            "starts_at",
            "status",
            "attendance",
            DELETED,
        ] {
            assert_eq!(
                code(counselor(), Relation::CareTeam, DocKind::Session, f),
                None,
                "{f}"
            );
        }
    }

    #[test]
    fn a_counselor_on_the_care_team_writes_the_plan() {
        for f in [
            "skills/urge_surfing",
            "prompt_times/08:00",
            "weekly_hours_target",
            "phase",
        ] {
            assert_eq!(
                code(counselor(), Relation::CareTeam, DocKind::Plan, f),
                None,
                "{f}"
            );
        }
    }

    #[test]
    fn a_counselor_cannot_rsvp_for_the_patient() {
        assert_eq!(
            code(counselor(), Relation::CareTeam, DocKind::Session, "rsvp"),
            Some(RejectCode::ForbiddenField)
        );
    }

    #[test]
    fn a_counselor_cannot_write_a_patients_checkin() {
        assert_eq!(
            code(
                counselor(),
                Relation::CareTeam,
                DocKind::Checkin,
                "intensity"
            ),
            Some(RejectCode::ForbiddenField)
        );
    }

    #[test]
    fn a_counselor_cannot_write_a_patients_exercise() {
        assert_eq!(
            code(counselor(), Relation::CareTeam, DocKind::Exercise, "note"),
            Some(RejectCode::ForbiddenField)
        );
    }

    #[test]
    fn a_counselor_off_the_care_team_writes_nothing() {
        assert_eq!(
            code(counselor(), Relation::None, DocKind::Session, "starts_at"),
            Some(RejectCode::NotYourPatient)
        );
    }

    #[test]
    fn an_admin_writes_no_care_record() {
        for kind in DocKind::ALL {
            for s in schema::fields(kind) {
                assert_eq!(
                    code(admin(), Relation::CareTeam, kind, s.name),
                    Some(RejectCode::ForbiddenField)
                );
            }
        }
    }

    #[test]
    fn an_unknown_field_is_not_silently_allowed() {
        assert_eq!(
            code(patient(), Relation::None, DocKind::Checkin, "secret"),
            Some(RejectCode::UnknownField)
        );
    }
}
