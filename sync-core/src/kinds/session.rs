//! A treatment session on a patient's schedule. The counselor writes it; the patient answers the
//! invitation (`rsvp`, `rsvp_note`) and nothing else.

use crate::field::FieldType;
use crate::view::PatientText;

/// Session kinds.
pub const SESSION_KINDS: &[&str] = &[
    "group",
    "individual",
    "family",
    "medication",
    "psychoeducation",
    "life_skills",
    "mutual_help",
];
/// Session statuses.
pub const SESSION_STATUSES: &[&str] = &["scheduled", "cancelled", "completed"];
/// A patient's answers to a session invitation.
pub const RSVPS: &[&str] = &["yes", "no", "maybe"];
/// Attendance marks a counselor records.
pub const ATTENDANCE: &[&str] = &["attended", "late", "left_early", "absent", "excused"];

record_kind! {
    /// A treatment session on a patient's schedule.
    view Session of Session;
    fields {
        /// group, individual, family, medication, psychoeducation, life_skills, mutual_help.
        kind: Option<String> = FieldType::Enum(SESSION_KINDS), Counselor;
        /// Title.
        title: Option<String> = FieldType::Text { max_chars: 120 }, Counselor;
        /// Start, ms UTC.
        starts_at: Option<i64> = FieldType::TimestampMs, Counselor;
        /// Duration, minutes.
        duration_min: Option<u16> = FieldType::Int { min: 5, max: 720 }, Counselor;
        /// Where.
        location: Option<String> = FieldType::Text { max_chars: 200 }, Counselor;
        /// https link for telehealth sessions.
        telehealth_url: Option<String> = FieldType::HttpsUrl { max_len: 2048 }, Counselor;
        /// scheduled, cancelled, completed.
        status: Option<String> = FieldType::Enum(SESSION_STATUSES), Counselor;
        /// The patient's answer: yes, no, maybe.
        rsvp: Option<String> = FieldType::Enum(RSVPS), Patient;
        /// The patient's note with the rsvp (patient text).
        rsvp_note: Option<PatientText> = FieldType::Text { max_chars: 500 }, Patient;
        /// attended, late, left_early, absent, excused.
        attendance: Option<String> = FieldType::Enum(ATTENDANCE), Counselor;
    }
    deleted by Counselor;
    read model "sessions" listed by starts_at, derived [];
}
