//! The input builder: the field writes of one new or edited document, one typed call per field.
//!
//! The per-field methods (`Writes::<CheckIn>::new().intensity(Some(7))…`) are generated from
//! each kind's declaration; this file holds what every kind shares. The builder only shapes
//! writes: values are still validated against the schema where they are applied (a phone's
//! store, the server's push), so an out-of-range input is refused there with its usual code.

use std::fmt;
use std::marker::PhantomData;

use serde_json::Value;

use crate::field::DELETED;
use crate::view::View;

/// The field writes of one document of the kind `V` reads, in the order they were added.
pub struct Writes<V> {
    writes: Vec<(String, Value)>,
    kind: PhantomData<fn() -> V>,
}

impl<V: View> Writes<V> {
    /// No writes yet.
    pub fn new() -> Self {
        Self {
            writes: Vec::new(),
            kind: PhantomData,
        }
    }

    /// Tombstones the document (`true`) or brings it back (`false`).
    pub fn deleted(mut self, deleted: bool) -> Self {
        self.writes.push((DELETED.to_owned(), Value::Bool(deleted)));
        self
    }

    /// Clears the scalar field `name` (writes `null`).
    pub fn clear(mut self, name: &'static str) -> Self {
        self.writes.push((name.to_owned(), Value::Null));
        self
    }

    /// Takes `element` out of the set field `name` (writes `false` to `name/<element>`).
    pub fn remove(mut self, name: &'static str, element: &str) -> Self {
        self.writes
            .push((format!("{name}/{element}"), Value::Bool(false)));
        self
    }

    /// The writes as `(field, value)` pairs, in the order they were added.
    pub fn into_fields(self) -> Vec<(String, Value)> {
        self.writes
    }

    /// Where the generated per-field methods append.
    #[doc(hidden)]
    pub fn buffer(&mut self) -> &mut Vec<(String, Value)> {
        &mut self.writes
    }
}

impl<V: View> Default for Writes<V> {
    fn default() -> Self {
        Self::new()
    }
}

/// Prints the kind and the number of writes only: values may be patient text, and a custom set
/// element is patient words in a field *name*.
impl<V: View> fmt::Debug for Writes<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writes")
            .field("kind", &V::KIND)
            .field("writes", &self.writes.len())
            .finish()
    }
}
