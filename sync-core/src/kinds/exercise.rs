//! A coping-skill exercise the patient practised, with their craving before and after. Written
//! by the patient only.

use crate::field::{FieldType, SCALE_0_10, SKILLS, TZ_OFFSET};
use crate::view::PatientText;

record_kind! {
    /// A coping-skill exercise.
    view Exercise of Exercise;
    fields {
        /// Skill practised.
        skill: Option<String> = FieldType::Tag(&SKILLS), Patient;
        /// Start, ms UTC.
        started_at: Option<i64> = FieldType::TimestampMs, Patient;
        /// Patient's UTC offset then, minutes.
        tz_offset_min: Option<i16> = TZ_OFFSET, Patient;
        /// Duration, minutes.
        duration_min: Option<u16> = FieldType::Int { min: 0, max: 600 }, Patient;
        /// Craving before, 0–10.
        craving_before: Option<u8> = SCALE_0_10, Patient;
        /// Craving after, 0–10.
        craving_after: Option<u8> = SCALE_0_10, Patient;
        /// Helpfulness 1–5 (1 = not at all … 5 = very helpful).
        helpfulness: Option<u8> = FieldType::Int { min: 1, max: 5 }, Patient;
        /// Free note (patient text).
        note: Option<PatientText> = FieldType::Text { max_chars: 2000 }, Patient;
    }
    deleted by Patient;
    read model "exercises" listed by started_at, derived [LocalDay, LocalHour];
}
