//! How a typed-view field reads its stored registers and how a [`super::Writes`] builder writes
//! it: one trait implemented for each Rust type a declaration may give a field.
//!
//! The view type decides three things at once, so a declaration cannot get them out of step:
//! how the field decodes from JSON, what the builder takes for it, and whether it holds patient
//! text (only [`PatientText`] does, and its `Debug` prints `[redacted]`).

use serde_json::Value;

use super::read_model::Cell;
use crate::view::PatientText;

/// A Rust type a declared field may have in its typed view.
pub trait FieldValue: Default {
    /// Does the field hold free text a patient wrote (never to be logged)?
    const PATIENT_TEXT: bool = false;

    /// What a builder takes to write the field: `None` writes nothing (an absent input leaves
    /// the field as it is); a set takes the elements to add.
    type Input<'a>;

    /// Reads one stored register of the field: `element` is `Some` for a set element
    /// (`name/<element>`), `None` for the field itself. A value that does not fit (impossible
    /// after validation) reads as absent.
    fn read(&mut self, element: Option<&str>, value: &Value);

    /// Brings the value to its canonical form once every register is read (sets are sorted).
    fn finish(&mut self) {}

    /// Appends the writes of `input` to field `name` to `out`.
    fn write(name: &'static str, input: Self::Input<'_>, out: &mut Vec<(String, Value)>);

    /// Whether the value is never absent, so its read-model column is `NOT NULL`.
    const NOT_NULL: bool = false;

    /// The value as its read-model column stores it.
    fn into_cell(self) -> Cell;
}

/// Integers: read when the stored number fits the type.
macro_rules! integer_field {
    ($($int:ty),*) => {$(
        impl FieldValue for Option<$int> {
            type Input<'a> = Option<$int>;
            fn read(&mut self, element: Option<&str>, value: &Value) {
                if element.is_none() {
                    *self = value.as_i64().and_then(|i| <$int>::try_from(i).ok());
                }
            }
            fn write(name: &'static str, input: Option<$int>, out: &mut Vec<(String, Value)>) {
                if let Some(v) = input {
                    out.push((name.to_owned(), Value::from(v)));
                }
            }
            fn into_cell(self) -> Cell {
                Cell::Int(self.map(i64::from))
            }
        }
    )*};
}
integer_field!(u8, u16, u32, i16, i32, i64);

impl FieldValue for Option<bool> {
    type Input<'a> = Option<bool>;
    fn read(&mut self, element: Option<&str>, value: &Value) {
        if element.is_none() {
            *self = value.as_bool();
        }
    }
    fn write(name: &'static str, input: Option<bool>, out: &mut Vec<(String, Value)>) {
        if let Some(v) = input {
            out.push((name.to_owned(), Value::Bool(v)));
        }
    }
    fn into_cell(self) -> Cell {
        Cell::Bool(self)
    }
}

/// A flag that reads `false` until it is set (e.g. a check-in's `crisis`).
impl FieldValue for bool {
    type Input<'a> = Option<bool>;
    fn read(&mut self, element: Option<&str>, value: &Value) {
        if element.is_none() {
            *self = value.as_bool().unwrap_or(false);
        }
    }
    fn write(name: &'static str, input: Option<bool>, out: &mut Vec<(String, Value)>) {
        <Option<bool> as FieldValue>::write(name, input, out);
    }
    const NOT_NULL: bool = true;
    fn into_cell(self) -> Cell {
        Cell::Bool(Some(self))
    }
}

impl FieldValue for Option<String> {
    type Input<'a> = Option<&'a str>;
    fn read(&mut self, element: Option<&str>, value: &Value) {
        if element.is_none() {
            *self = value.as_str().map(str::to_owned);
        }
    }
    fn write(name: &'static str, input: Option<&str>, out: &mut Vec<(String, Value)>) {
        if let Some(v) = input {
            out.push((name.to_owned(), Value::String(v.to_owned())));
        }
    }
    fn into_cell(self) -> Cell {
        Cell::Text(self)
    }
}

impl FieldValue for Option<PatientText> {
    const PATIENT_TEXT: bool = true;
    type Input<'a> = Option<&'a PatientText>;
    fn read(&mut self, element: Option<&str>, value: &Value) {
        if element.is_none() {
            *self = value.as_str().map(PatientText::new);
        }
    }
    fn write(name: &'static str, input: Option<&PatientText>, out: &mut Vec<(String, Value)>) {
        if let Some(v) = input {
            out.push((name.to_owned(), Value::String(v.as_str().to_owned())));
        }
    }
    fn into_cell(self) -> Cell {
        Cell::Text(self.map(PatientText::into_string))
    }
}

/// An LWW element set: the elements whose register holds `true`, sorted.
impl FieldValue for Vec<String> {
    type Input<'a> = &'a [String];
    fn read(&mut self, element: Option<&str>, value: &Value) {
        if let Some(e) = element {
            if value == &Value::Bool(true) {
                self.push(e.to_owned());
            }
        }
    }
    fn finish(&mut self) {
        self.sort();
    }
    fn write(name: &'static str, input: &[String], out: &mut Vec<(String, Value)>) {
        for e in input {
            out.push((format!("{name}/{e}"), Value::Bool(true)));
        }
    }
    const NOT_NULL: bool = true;
    /// The sorted members as a JSON array.
    fn into_cell(self) -> Cell {
        Cell::Text(Some(Value::from(self).to_string()))
    }
}
