//! "I need help now": what the server sends back when a pushed check-in signals a crisis, for the
//! phone to show at once. A crisis is not a trend to review later.

use crate::trends::flags::{is_crisis, FlagSettings};
use sync_core::wire::{CrisisResource, CrisisResources};

/// What the phone shows first. It claims nothing the server has not done: a crisis check-in is
/// stored and raised on the counselor's caseload, but nobody is paged, so the patient is told to
/// call now rather than to wait for a call.
pub const MESSAGE: &str = "You are not alone. If you are in danger or thinking about harming \
yourself, call 911, or call or text 988, now. Your check-in is saved, but your care team is not \
alerted right away: do not wait for them to call.";

/// The resources (United States).
pub fn resources() -> CrisisResources {
    CrisisResources {
        message: MESSAGE.into(),
        resources: vec![
            CrisisResource {
                name: "988 Suicide & Crisis Lifeline".into(),
                phone: "988".into(),
                text: Some("988".into()),
                description: "Free, confidential support 24/7 for people in distress, including substance-use crises.".into(),
            },
            CrisisResource {
                name: "SAMHSA National Helpline".into(),
                phone: "1-800-662-4357".into(),
                text: None,
                description: "Free, confidential treatment referral and information, 24/7, in English and Spanish.".into(),
            },
            CrisisResource {
                name: "Emergency services".into(),
                phone: "911".into(),
                text: None,
                description: "For a medical emergency or immediate danger.".into(),
            },
        ],
    }
}

/// What a check-in says about a crisis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrisisSigns {
    /// "I need help now".
    pub crisis: bool,
    /// A lapse was recorded.
    pub lapse: bool,
    /// The craving's intensity, if given.
    pub intensity: Option<i64>,
}

impl CrisisSigns {
    /// The signs of a check-in as its read-model row holds them.
    pub fn of_row(crisis: bool, lapse: Option<bool>, intensity: Option<i32>) -> Self {
        CrisisSigns {
            crisis,
            lapse: lapse.unwrap_or(false),
            intensity: intensity.map(i64::from),
        }
    }

    /// The signs of a check-in as sync-core's view reads it.
    pub fn of_checkin(c: &sync_core::CheckIn) -> Self {
        CrisisSigns {
            crisis: c.crisis,
            lapse: c.lapse.unwrap_or(false),
            intensity: c.intensity.map(i64::from),
        }
    }

    /// Whether these signs call for crisis resources now.
    pub fn call_for_help(&self, settings: &FlagSettings) -> bool {
        is_crisis(self.crisis, self.lapse, self.intensity, settings)
    }
}
