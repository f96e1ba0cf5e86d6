//! The demo's people: synthetic patients whose stories make a living dashboard — one getting
//! worse towards a crisis, one gone quiet and missing sessions, one with a hard evening, one
//! recovering from a lapse, and steadier ones — plus one who has not consented to share.
//!
//! Every name is invented; nothing here describes a real person.

/// How a patient's typical craving moves over the demo period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Course {
    /// From `start` to `end` in a straight line.
    Linear {
        /// Mean craving on the first day.
        start: f64,
        /// Mean craving today.
        end: f64,
    },
    /// Improving from `start` to `low`, then climbing to `peak` over the last `days` days.
    Worsening {
        /// Mean craving on the first day.
        start: f64,
        /// Where the improvement bottomed out.
        low: f64,
        /// Mean craving today.
        peak: f64,
        /// How many days the climb has lasted.
        days: i64,
    },
}

/// A check-in the story needs on a given day (a lapse, a hard night, a crisis).
#[derive(Debug, Clone, Copy)]
pub struct Scripted {
    /// Local days before today (0 = today).
    pub days_ago: i64,
    /// Local hour and minute.
    pub hour: i8,
    /// Local minute.
    pub minute: i8,
    /// Craving 0–10.
    pub intensity: i64,
    /// Mood 1–5.
    pub mood: i64,
    /// A lapse was reported.
    pub lapse: bool,
    /// "I need help now".
    pub crisis: bool,
    /// Triggers named.
    pub triggers: &'static [&'static str],
}

/// One synthetic patient.
#[derive(Debug, Clone)]
pub struct Persona {
    /// Display name.
    pub name: &'static str,
    /// Local part of the sign-in email.
    pub email_local: &'static str,
    /// Whether they consent to share with the care team.
    pub consented: bool,
    /// The substance a lapse names.
    pub substance: &'static str,
    /// The craving trajectory.
    pub course: Course,
    /// Average check-ins a day.
    pub checkins_per_day: f64,
    /// Chance of a day without any check-in.
    pub skip_rate: f64,
    /// Local hours they tend to check in at, with weights.
    pub hours: &'static [(i8, f64)],
    /// Their usual triggers, with weights.
    pub triggers: &'static [(&'static str, f64)],
    /// Coping skills they use, with the craving drop each tends to bring.
    pub skills: &'static [(&'static str, f64)],
    /// Chance a strong craving (7+) comes with a lapse, outside the last ten days.
    pub lapse_rate: f64,
    /// Chance of attending a session.
    pub attendance: f64,
    /// The latest sessions missed in a row (0: the latest two were attended).
    pub missed_streak: usize,
    /// Days without any check-in up to today (a phone gone quiet).
    pub silent_days: i64,
    /// The highest craving of the last three days outside scripted check-ins.
    pub recent_cap: i64,
    /// The check-ins their story needs.
    pub scripted: &'static [Scripted],
}

/// The email domain of every demo account (`.example` is reserved: no mail can go anywhere).
pub const EMAIL_DOMAIN: &str = "demo.tether.example";

/// The patients who consent, in the order `--patients N` takes them: the first five already
/// show every kind of flag.
pub static CONSENTING: &[Persona] = &[
    Persona {
        name: "Marcus Reyes",
        email_local: "marcus.reyes",
        consented: true,
        substance: "alcohol",
        course: Course::Worsening {
            start: 6.5,
            low: 3.4,
            peak: 7.6,
            days: 18,
        },
        checkins_per_day: 2.6,
        skip_rate: 0.06,
        hours: &[(8, 1.0), (13, 0.8), (19, 1.5), (22, 2.5), (23, 1.5)],
        triggers: &[
            ("lonely", 3.0),
            ("stress", 2.0),
            ("cues", 1.5),
            ("sleep", 1.2),
            ("work", 1.0),
            ("conflict", 0.8),
        ],
        skills: &[
            ("urge_surfing", 2.2),
            ("call_support", 3.0),
            ("paced_breathing", 1.3),
            ("distraction", 0.8),
        ],
        lapse_rate: 0.08,
        attendance: 0.82,
        missed_streak: 0,
        silent_days: 0,
        recent_cap: 8,
        scripted: &[
            Scripted {
                days_ago: 12,
                hour: 23,
                minute: 10,
                intensity: 7,
                mood: 2,
                lapse: true,
                crisis: false,
                triggers: &["lonely", "cues"],
            },
            Scripted {
                days_ago: 1,
                hour: 23,
                minute: 40,
                intensity: 9,
                mood: 1,
                lapse: true,
                crisis: false,
                triggers: &["lonely", "conflict", "cues"],
            },
        ],
    },
    Persona {
        name: "Dana Whitfield",
        email_local: "dana.whitfield",
        consented: true,
        substance: "opioids",
        course: Course::Linear {
            start: 6.0,
            end: 4.5,
        },
        checkins_per_day: 1.6,
        skip_rate: 0.18,
        hours: &[(9, 1.0), (12, 1.0), (17, 1.5), (21, 1.0)],
        triggers: &[
            ("pain", 3.0),
            ("anxiety", 2.0),
            ("tired", 1.5),
            ("money", 1.0),
        ],
        skills: &[
            ("paced_breathing", 1.8),
            ("grounding_54321", 1.6),
            ("meditation", 1.2),
        ],
        lapse_rate: 0.03,
        attendance: 0.8,
        missed_streak: 2,
        silent_days: 4,
        recent_cap: 7,
        scripted: &[],
    },
    Persona {
        name: "Priya Natarajan",
        email_local: "priya.natarajan",
        consented: true,
        substance: "stimulants",
        course: Course::Linear {
            start: 5.5,
            end: 4.0,
        },
        checkins_per_day: 3.0,
        skip_rate: 0.04,
        hours: &[(7, 1.0), (11, 1.0), (15, 1.5), (18, 1.5), (21, 1.0)],
        triggers: &[
            ("work", 3.0),
            ("stress", 2.5),
            ("tired", 1.5),
            ("people", 1.0),
            ("celebration", 0.6),
        ],
        skills: &[
            ("physical_activity", 2.6),
            ("play_tape_forward", 2.0),
            ("journaling", 1.0),
            ("halt_check", 1.5),
        ],
        lapse_rate: 0.02,
        attendance: 0.92,
        missed_streak: 0,
        silent_days: 0,
        recent_cap: 7,
        scripted: &[Scripted {
            days_ago: 0,
            hour: 8,
            minute: 5,
            intensity: 8,
            mood: 2,
            lapse: false,
            crisis: false,
            triggers: &["work", "stress", "tired"],
        }],
    },
    Persona {
        name: "Lena Okafor",
        email_local: "lena.okafor",
        consented: true,
        substance: "alcohol",
        course: Course::Linear {
            start: 6.2,
            end: 3.2,
        },
        checkins_per_day: 2.2,
        skip_rate: 0.07,
        hours: &[(10, 1.0), (16, 1.0), (20, 2.0), (22, 1.0)],
        triggers: &[
            ("celebration", 2.0),
            ("people", 2.0),
            ("places", 1.5),
            ("boredom", 1.5),
            ("sadness", 1.0),
        ],
        skills: &[
            ("mutual_help_meeting", 2.8),
            ("call_support", 2.4),
            ("urge_surfing", 1.8),
            ("distraction", 0.9),
        ],
        lapse_rate: 0.04,
        attendance: 0.9,
        missed_streak: 0,
        silent_days: 0,
        recent_cap: 6,
        scripted: &[Scripted {
            days_ago: 5,
            hour: 22,
            minute: 15,
            intensity: 7,
            mood: 2,
            lapse: true,
            crisis: false,
            triggers: &["celebration", "people"],
        }],
    },
    Persona {
        name: "Tom Becker",
        email_local: "tom.becker",
        consented: true,
        substance: "cannabis",
        course: Course::Linear {
            start: 6.0,
            end: 2.0,
        },
        checkins_per_day: 2.0,
        skip_rate: 0.03,
        hours: &[(8, 2.0), (14, 1.0), (21, 2.0)],
        triggers: &[
            ("boredom", 3.0),
            ("tired", 1.5),
            ("places", 1.0),
            ("hungry", 1.0),
        ],
        skills: &[
            ("physical_activity", 2.4),
            ("urge_surfing", 2.0),
            ("meditation", 1.4),
            ("halt_check", 1.1),
        ],
        lapse_rate: 0.0,
        attendance: 0.97,
        missed_streak: 0,
        silent_days: 0,
        recent_cap: 5,
        scripted: &[],
    },
    Persona {
        name: "Sam Whitaker",
        email_local: "sam.whitaker",
        consented: true,
        substance: "nicotine",
        course: Course::Linear {
            start: 4.2,
            end: 3.6,
        },
        checkins_per_day: 2.4,
        skip_rate: 0.08,
        hours: &[(7, 1.5), (12, 1.5), (17, 1.0), (22, 1.0)],
        triggers: &[
            ("stress", 2.0),
            ("cues", 2.0),
            ("hungry", 1.0),
            ("angry", 1.0),
        ],
        skills: &[
            ("paced_breathing", 1.9),
            ("distraction", 1.2),
            ("halt_check", 1.4),
        ],
        lapse_rate: 0.03,
        attendance: 0.88,
        missed_streak: 0,
        silent_days: 0,
        recent_cap: 6,
        scripted: &[],
    },
    Persona {
        name: "Jordan Ellis",
        email_local: "jordan.ellis",
        consented: true,
        substance: "benzodiazepines",
        course: Course::Linear {
            start: 5.0,
            end: 3.0,
        },
        checkins_per_day: 1.8,
        skip_rate: 0.1,
        hours: &[(9, 1.0), (15, 1.0), (23, 2.0)],
        triggers: &[("anxiety", 3.0), ("sleep", 2.0), ("conflict", 1.0)],
        skills: &[
            ("grounding_54321", 2.1),
            ("meditation", 1.7),
            ("journaling", 1.0),
        ],
        lapse_rate: 0.02,
        attendance: 0.9,
        missed_streak: 0,
        silent_days: 0,
        recent_cap: 6,
        scripted: &[],
    },
    Persona {
        name: "Rosa Martinez",
        email_local: "rosa.martinez",
        consented: true,
        substance: "gambling",
        course: Course::Linear {
            start: 5.8,
            end: 3.5,
        },
        checkins_per_day: 2.0,
        skip_rate: 0.06,
        hours: &[(10, 1.0), (19, 2.0), (22, 1.0)],
        triggers: &[("money", 3.0), ("boredom", 2.0), ("cues", 1.5)],
        skills: &[
            ("play_tape_forward", 2.5),
            ("call_support", 2.0),
            ("distraction", 1.0),
        ],
        lapse_rate: 0.03,
        attendance: 0.93,
        missed_streak: 0,
        silent_days: 0,
        recent_cap: 6,
        scripted: &[],
    },
];

/// The patient who has not consented: the dashboard must refuse to show them.
pub static WITHOUT_CONSENT: Persona = Persona {
    name: "Alex Kim",
    email_local: "alex.kim",
    consented: false,
    substance: "alcohol",
    course: Course::Linear {
        start: 5.0,
        end: 4.0,
    },
    checkins_per_day: 2.0,
    skip_rate: 0.1,
    hours: &[(9, 1.0), (18, 1.0), (22, 1.0)],
    triggers: &[("stress", 2.0), ("people", 1.0)],
    skills: &[("paced_breathing", 1.5)],
    lapse_rate: 0.03,
    attendance: 0.9,
    missed_streak: 0,
    silent_days: 0,
    recent_cap: 6,
    scripted: &[],
};

/// The clinic's name; also how the demo recognises a database it already filled.
pub const CLINIC: &str = "Tether Demo Clinic";
/// The counselor's name.
pub const COUNSELOR_NAME: &str = "Casey Counselor";
/// The admin's name.
pub const ADMIN_NAME: &str = "Avery Admin";

/// The fewest and most consenting patients `--patients` accepts.
pub const PATIENTS: std::ops::RangeInclusive<usize> = 5..=8;

/// `local@demo.tether.example`.
pub fn email(local: &str) -> String {
    format!("{local}@{EMAIL_DOMAIN}")
}
