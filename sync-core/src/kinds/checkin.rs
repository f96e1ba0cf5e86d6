//! A craving check-in: how strong, what set it off, how the patient feels, whether they lapsed
//! or need help now. Written by the patient only.

use crate::field::{FieldType, SetElement, SCALE_0_10, SUBSTANCES, TRIGGERS, TZ_OFFSET};
use crate::view::PatientText;

record_kind! {
    /// A craving check-in.
    view CheckIn of Checkin;
    fields {
        /// When the craving was felt, ms UTC.
        recorded_at: Option<i64> = FieldType::TimestampMs, Patient;
        /// Patient's UTC offset then, minutes.
        tz_offset_min: Option<i16> = TZ_OFFSET, Patient;
        /// Craving intensity 0–10.
        intensity: Option<u8> = SCALE_0_10, Patient;
        /// Triggers (sorted).
        triggers: Vec<String> = FieldType::Set(SetElement::Tag(&TRIGGERS)), Patient;
        /// Mood 1–5 (1 = very low … 5 = very good).
        mood: Option<u8> = FieldType::Int { min: 1, max: 5 }, Patient;
        /// A lapse happened.
        lapse: Option<bool> = FieldType::Bool, Patient;
        /// Substance involved.
        substance: Option<String> = FieldType::Tag(&SUBSTANCES), Patient;
        /// Where / with whom (patient text).
        context: Option<PatientText> = FieldType::Text { max_chars: 500 }, Patient;
        /// "I need help now": the counselor view raises it as a risk flag.
        crisis: bool = FieldType::Bool, Patient;
        /// Free note (patient text).
        note: Option<PatientText> = FieldType::Text { max_chars: 2000 }, Patient;
    }
    deleted by Patient;
    read model "checkins" listed by recorded_at, derived [LocalDay, LocalHour, LocalWeekday];
}
