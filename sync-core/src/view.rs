//! Typed read views built from a document's fields, and the tombstone rule.
//!
//! **Tombstone rule.** `_deleted` is an ordinary LWW register. A document is deleted exactly when
//! its `_deleted` register holds `true`. Only an explicit `_deleted = false` ordered after the
//! tombstone undeletes it; an ordinary field write with a higher HLC is still merged into the
//! field's state but does *not* bring the document back. Why: "deleted" then depends on one
//! register only, so it is as commutative as every other field (no rule of the form "a write after
//! a delete wins", which would depend on the order replicas saw things), and a late edit from an
//! offline phone cannot resurrect a check-in the patient deliberately deleted.
//!
//! Views are built by [`View::from_fields`] from any `(name, value)` pairs, so a server can build
//! the same structs from its database rows as a phone builds from its [`Replica`]. Values that do
//! not fit (impossible after validation) read as absent.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::op::DocKind;
use crate::replica::{DocKey, Replica};
use crate::schema::DELETED;

/// Free text a patient wrote. `Debug` prints `[redacted]` so it cannot leak into logs by accident;
/// read it with [`PatientText::as_str`]. Serialises as a plain string.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PatientText(String);

impl PatientText {
    /// Wraps text.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The text, for display to someone allowed to read it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PatientText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Does this field list carry a live tombstone?
pub fn is_deleted<'a>(fields: impl IntoIterator<Item = (&'a str, &'a Value)>) -> bool {
    fields
        .into_iter()
        .any(|(f, v)| f == DELETED && v == &Value::Bool(true))
}

/// A typed view of one kind of document.
pub trait View: Sized {
    /// The kind it reads.
    const KIND: DocKind;
    /// Builds the view of document `key` from its fields (tombstone not considered).
    fn from_fields<'a>(key: DocKey, fields: impl IntoIterator<Item = (&'a str, &'a Value)>)
        -> Self;
}

fn int<T: TryFrom<i64>>(v: &Value) -> Option<T> {
    v.as_i64().and_then(|i| T::try_from(i).ok())
}
fn string(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}
fn text(v: &Value) -> Option<PatientText> {
    v.as_str().map(PatientText::new)
}
fn member(set: &mut Vec<String>, element: &str, v: &Value) {
    if v == &Value::Bool(true) {
        set.push(element.to_owned());
    }
}

/// A craving check-in.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CheckIn {
    /// Owning patient.
    pub patient: Uuid,
    /// Document id.
    pub id: Uuid,
    /// When the craving was felt, ms UTC.
    pub recorded_at: Option<i64>,
    /// Patient's UTC offset then, minutes.
    pub tz_offset_min: Option<i16>,
    /// Craving intensity 0–10.
    pub intensity: Option<u8>,
    /// Triggers (sorted).
    pub triggers: Vec<String>,
    /// Mood 1–5.
    pub mood: Option<u8>,
    /// A lapse happened.
    pub lapse: Option<bool>,
    /// Substance involved.
    pub substance: Option<String>,
    /// Where / with whom (patient text).
    pub context: Option<PatientText>,
    /// "I need help now".
    pub crisis: bool,
    /// Free note (patient text).
    pub note: Option<PatientText>,
}

impl View for CheckIn {
    const KIND: DocKind = DocKind::Checkin;
    fn from_fields<'a>(
        key: DocKey,
        fields: impl IntoIterator<Item = (&'a str, &'a Value)>,
    ) -> Self {
        let mut c = CheckIn {
            patient: key.patient,
            id: key.doc,
            ..Default::default()
        };
        for (f, v) in fields {
            match f {
                "recorded_at" => c.recorded_at = v.as_i64(),
                "tz_offset_min" => c.tz_offset_min = int(v),
                "intensity" => c.intensity = int(v),
                "mood" => c.mood = int(v),
                "lapse" => c.lapse = v.as_bool(),
                "substance" => c.substance = string(v),
                "context" => c.context = text(v),
                "crisis" => c.crisis = v.as_bool().unwrap_or(false),
                "note" => c.note = text(v),
                _ => {
                    if let Some(e) = f.strip_prefix("triggers/") {
                        member(&mut c.triggers, e, v);
                    }
                }
            }
        }
        c.triggers.sort();
        c
    }
}

/// A coping-skill exercise.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Exercise {
    /// Owning patient.
    pub patient: Uuid,
    /// Document id.
    pub id: Uuid,
    /// Skill practised.
    pub skill: Option<String>,
    /// Start, ms UTC.
    pub started_at: Option<i64>,
    /// Patient's UTC offset then, minutes.
    pub tz_offset_min: Option<i16>,
    /// Duration, minutes.
    pub duration_min: Option<u16>,
    /// Craving before, 0–10.
    pub craving_before: Option<u8>,
    /// Craving after, 0–10.
    pub craving_after: Option<u8>,
    /// Helpfulness 1–5.
    pub helpfulness: Option<u8>,
    /// Free note (patient text).
    pub note: Option<PatientText>,
}

impl View for Exercise {
    const KIND: DocKind = DocKind::Exercise;
    fn from_fields<'a>(
        key: DocKey,
        fields: impl IntoIterator<Item = (&'a str, &'a Value)>,
    ) -> Self {
        let mut x = Exercise {
            patient: key.patient,
            id: key.doc,
            ..Default::default()
        };
        for (f, v) in fields {
            match f {
                "skill" => x.skill = string(v),
                "started_at" => x.started_at = v.as_i64(),
                "tz_offset_min" => x.tz_offset_min = int(v),
                "duration_min" => x.duration_min = int(v),
                "craving_before" => x.craving_before = int(v),
                "craving_after" => x.craving_after = int(v),
                "helpfulness" => x.helpfulness = int(v),
                "note" => x.note = text(v),
                _ => {}
            }
        }
        x
    }
}

/// A treatment session on a patient's schedule.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Session {
    /// Owning patient.
    pub patient: Uuid,
    /// Document id.
    pub id: Uuid,
    /// group, individual, family, medication, psychoeducation, life_skills, mutual_help.
    pub kind: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Start, ms UTC.
    pub starts_at: Option<i64>,
    /// Duration, minutes.
    pub duration_min: Option<u16>,
    /// Where.
    pub location: Option<String>,
    /// https link for telehealth sessions.
    pub telehealth_url: Option<String>,
    /// scheduled, cancelled, completed.
    pub status: Option<String>,
    /// The patient's answer: yes, no, maybe.
    pub rsvp: Option<String>,
    /// The patient's note with the rsvp (patient text).
    pub rsvp_note: Option<PatientText>,
    /// attended, late, left_early, absent, excused.
    pub attendance: Option<String>,
}

impl View for Session {
    const KIND: DocKind = DocKind::Session;
    fn from_fields<'a>(
        key: DocKey,
        fields: impl IntoIterator<Item = (&'a str, &'a Value)>,
    ) -> Self {
        let mut s = Session {
            patient: key.patient,
            id: key.doc,
            ..Default::default()
        };
        for (f, v) in fields {
            match f {
                "kind" => s.kind = string(v),
                "title" => s.title = string(v),
                "starts_at" => s.starts_at = v.as_i64(),
                "duration_min" => s.duration_min = int(v),
                "location" => s.location = string(v),
                "telehealth_url" => s.telehealth_url = string(v),
                "status" => s.status = string(v),
                "rsvp" => s.rsvp = string(v),
                "rsvp_note" => s.rsvp_note = text(v),
                "attendance" => s.attendance = string(v),
                _ => {}
            }
        }
        s
    }
}

/// A patient's treatment plan.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Plan {
    /// Owning patient.
    pub patient: Uuid,
    /// Document id.
    pub id: Uuid,
    /// Assigned coping skills (sorted).
    pub skills: Vec<String>,
    /// Daily check-in prompt times "HH:MM" in the patient's local time (sorted).
    pub prompt_times: Vec<String>,
    /// Target hours of treatment per week.
    pub weekly_hours_target: Option<u8>,
    /// intake, intensive, step_down, aftercare, discharged.
    pub phase: Option<String>,
}

impl View for Plan {
    const KIND: DocKind = DocKind::Plan;
    fn from_fields<'a>(
        key: DocKey,
        fields: impl IntoIterator<Item = (&'a str, &'a Value)>,
    ) -> Self {
        let mut p = Plan {
            patient: key.patient,
            id: key.doc,
            ..Default::default()
        };
        for (f, v) in fields {
            match f {
                "weekly_hours_target" => p.weekly_hours_target = int(v),
                "phase" => p.phase = string(v),
                _ => {
                    if let Some(e) = f.strip_prefix("skills/") {
                        member(&mut p.skills, e, v);
                    } else if let Some(e) = f.strip_prefix("prompt_times/") {
                        member(&mut p.prompt_times, e, v);
                    }
                }
            }
        }
        p.skills.sort();
        p.prompt_times.sort();
        p
    }
}

impl Replica {
    /// Is this document tombstoned?
    pub fn is_deleted(&self, key: &DocKey) -> bool {
        self.fields(key).is_some_and(is_deleted)
    }

    /// The view of one document; `None` if it has no fields, is tombstoned, or is another kind.
    pub fn view<T: View>(&self, key: &DocKey) -> Option<T> {
        if key.kind != T::KIND || self.is_deleted(key) {
            return None;
        }
        Some(T::from_fields(*key, self.fields(key)?))
    }

    /// Views of every live (not tombstoned) document of `T`'s kind, sorted by document key.
    pub fn list<T: View>(&self) -> Vec<T> {
        self.doc_keys()
            .into_iter()
            .filter(|k| k.kind == T::KIND)
            .filter_map(|k| self.view(&k))
            .collect()
    }

    /// Live check-ins.
    pub fn checkins(&self) -> Vec<CheckIn> {
        self.list()
    }
    /// Live exercises.
    pub fn exercises(&self) -> Vec<Exercise> {
        self.list()
    }
    /// Live sessions.
    pub fn sessions(&self) -> Vec<Session> {
        self.list()
    }
    /// Live plans.
    pub fn plans(&self) -> Vec<Plan> {
        self.list()
    }
}
