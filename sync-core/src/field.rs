//! The vocabulary record kinds are declared in: field types and ranges, catalogs, who writes a
//! field. It depends on nothing else in the crate, so the declarations ([`crate::kinds`]), the
//! schema checks ([`crate::schema`]) and the write policy ([`crate::policy`]) all stand on it.

/// Name of the tombstone field present in every kind.
pub const DELETED: &str = "_deleted";

/// Prefix of a custom (patient- or counselor-defined) catalog entry, e.g. `custom:night_shift`.
pub const CUSTOM_PREFIX: &str = "custom:";

/// Longest custom entry name after the prefix, in bytes (the charset is ASCII).
pub const CUSTOM_MAX_LEN: usize = 32;

/// Earliest accepted timestamp: 2000-01-01T00:00:00Z.
pub const MIN_TIMESTAMP_MS: i64 = 946_684_800_000;
/// Latest accepted timestamp: 2100-01-01T00:00:00Z.
pub const MAX_TIMESTAMP_MS: i64 = 4_102_444_800_000;

/// The years a generated schedule (a program track) may start in, so that every session it
/// generates has a `starts_at` the session schema accepts. A track runs at most 52 weeks from its
/// first day, and local times lie between UTC−12:00 and UTC+14:00 (the extremes of the time zone
/// database), so its sessions fall between its first day at 00:00 in UTC+14 and the end of its
/// 364th day in UTC−12: within [`MIN_TIMESTAMP_MS`]`..=`[`MAX_TIMESTAMP_MS`] for a start in
/// 2001–2098, while a track starting on 2000-01-01 at 00:00 in UTC+14 begins on 1999-12-31 (UTC)
/// and one starting in 2099 may end in 2100. (The ops that write the sessions are stamped with
/// the server's clock, not the sessions' times, so the HLC's bounds do not narrow this.)
pub const SCHEDULE_START_YEARS: std::ops::RangeInclusive<i16> = 2001..=2098;

/// A named list of built-in values that also admits `custom:<name>` entries.
#[derive(Debug)]
pub struct Catalog {
    /// Catalog name, for messages.
    pub name: &'static str,
    /// The built-in entries (snake_case).
    pub builtin: &'static [&'static str],
}

impl Catalog {
    /// Is `s` a built-in entry or a well-formed custom one (`custom:` + 1–32 of `[a-z0-9_-]`)?
    pub fn accepts(&self, s: &str) -> bool {
        if let Some(name) = s.strip_prefix(CUSTOM_PREFIX) {
            return is_custom_name(name);
        }
        self.builtin.contains(&s)
    }
}

fn is_custom_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= CUSTOM_MAX_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Craving triggers: HALT (hungry, angry, lonely, tired) and the usual others.
pub static TRIGGERS: Catalog = Catalog {
    name: "trigger",
    builtin: &[
        "hungry",
        "angry",
        "lonely",
        "tired",
        "stress",
        "conflict",
        "people",
        "places",
        "boredom",
        "celebration",
        "pain",
        "sleep",
        "cues",
        "anxiety",
        "sadness",
        "money",
        "work",
    ],
};

/// Coping skills a patient can practise and a counselor can assign.
pub static SKILLS: Catalog = Catalog {
    name: "coping skill",
    builtin: &[
        "urge_surfing",
        "paced_breathing",
        "grounding_54321",
        "halt_check",
        "call_support",
        "play_tape_forward",
        "meditation",
        "physical_activity",
        "journaling",
        "distraction",
        "mutual_help_meeting",
    ],
};

/// Substances a check-in or lapse can name.
pub static SUBSTANCES: Catalog = Catalog {
    name: "substance",
    builtin: &[
        "alcohol",
        "opioids",
        "stimulants",
        "cannabis",
        "benzodiazepines",
        "nicotine",
        "gambling",
        "other",
    ],
};

/// The type and range of a field.
#[derive(Debug)]
pub enum FieldType {
    /// `true` or `false`.
    Bool,
    /// An integer in `min..=max`.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// Milliseconds since the Unix epoch, UTC, in [`MIN_TIMESTAMP_MS`]`..=`[`MAX_TIMESTAMP_MS`].
    TimestampMs,
    /// One of a fixed list of strings.
    Enum(&'static [&'static str]),
    /// A catalog entry (built in or `custom:`).
    Tag(&'static Catalog),
    /// Free text of at most `max_chars` Unicode scalar values, without control characters
    /// other than tab, line feed and carriage return ([`crate::text::is_free_text`]).
    Text {
        /// Maximum length in chars.
        max_chars: usize,
    },
    /// An `https://` URL of at most `max_len` bytes, without whitespace or control characters.
    HttpsUrl {
        /// Maximum length in bytes.
        max_len: usize,
    },
    /// An LWW element set: written as `name/<element>` → `true` (member) / `false` (removed).
    Set(SetElement),
}

/// What a set's elements may be.
#[derive(Debug)]
pub enum SetElement {
    /// Catalog entries.
    Tag(&'static Catalog),
    /// A time of day `"HH:MM"`, 24-hour, zero-padded.
    TimeOfDay,
}

impl SetElement {
    /// Is `e` a valid element?
    pub fn accepts(&self, e: &str) -> bool {
        match self {
            SetElement::Tag(c) => c.accepts(e),
            SetElement::TimeOfDay => is_time_of_day(e),
        }
    }
}

fn is_time_of_day(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' || !b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit) {
        return false;
    }
    let h = (b[0] - b'0') * 10 + (b[1] - b'0');
    let m = (b[3] - b'0') * 10 + (b[4] - b'0');
    h < 24 && m < 60
}

/// One field of a kind.
#[derive(Debug)]
pub struct FieldSpec {
    /// Field name (for a set, the part before `/`).
    pub name: &'static str,
    /// Type and range.
    pub ty: FieldType,
    /// Free text a patient wrote: never log its value.
    pub patient_text: bool,
}

const fn f(name: &'static str, ty: FieldType) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        patient_text: false,
    }
}

/// A 0–10 scale (craving intensity, craving before and after an exercise).
pub const SCALE_0_10: FieldType = FieldType::Int { min: 0, max: 10 };
/// UTC offsets run from -12:00 to +14:00; either sign is accepted up to 14 hours.
pub const TZ_OFFSET: FieldType = FieldType::Int {
    min: -14 * 60,
    max: 14 * 60,
};

/// The tombstone spec shared by every kind.
pub static DELETED_SPEC: FieldSpec = f(DELETED, FieldType::Bool);

/// Which roles may write a field. A patient may only ever write their own documents, and a
/// counselor only with [`crate::policy::Relation::CareTeam`]; this says which of them the field
/// belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// The patient the document belongs to.
    Patient,
    /// A counselor on the patient's care team.
    Counselor,
}

/// One row of a kind's write policy: the field (set fields by their base name; `_deleted` for
/// the tombstone) is written by `writer`.
#[derive(Debug)]
pub struct Rule {
    /// Field name.
    pub field: &'static str,
    /// Who writes it.
    pub writer: Writer,
}
