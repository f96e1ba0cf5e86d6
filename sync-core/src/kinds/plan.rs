//! A patient's treatment plan: assigned coping skills, daily prompt times, the weekly hours
//! target and the phase of treatment. Written by the counselor only; read through pulls (the
//! server keeps no table for it).

use crate::field::{FieldType, SetElement, SKILLS};

/// Treatment phases of a plan.
pub const PHASES: &[&str] = &[
    "intake",
    "intensive",
    "step_down",
    "aftercare",
    "discharged",
];

record_kind! {
    /// A patient's treatment plan.
    view Plan of Plan;
    fields {
        /// Assigned coping skills (sorted).
        skills: Vec<String> = FieldType::Set(SetElement::Tag(&SKILLS)), Counselor;
        /// Daily check-in prompt times "HH:MM" in the patient's local time (sorted).
        prompt_times: Vec<String> = FieldType::Set(SetElement::TimeOfDay), Counselor;
        /// Target hours of treatment per week.
        weekly_hours_target: Option<u8> = FieldType::Int { min: 0, max: 40 }, Counselor;
        /// intake, intensive, step_down, aftercare, discharged.
        phase: Option<String> = FieldType::Enum(PHASES), Counselor;
    }
    deleted by Counselor;
}
