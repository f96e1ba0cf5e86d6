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
//! Each kind's view struct and its [`View`] impl are generated from the kind's declaration in
//! [`crate::kinds`]. Views are built by [`View::from_fields`] from any `(name, value)` pairs, so a server can build
//! the same structs from its database rows as a phone builds from its [`Replica`]. Values that do
//! not fit (impossible after validation) read as absent.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// The text, owned, for a store that keeps it.
    pub fn into_string(self) -> String {
        self.0
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

pub use crate::kinds::checkin::CheckIn;
pub use crate::kinds::exercise::Exercise;
pub use crate::kinds::plan::Plan;
pub use crate::kinds::session::Session;

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
