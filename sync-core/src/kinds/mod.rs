//! Record kinds, each declared once.
//!
//! A kind's file (e.g. [`checkin`]) holds one `record_kind!` declaration: its fields with their
//! types and ranges, who writes each, its typed view and the view's field types, and the
//! read-model table the server lists it from. From that one declaration come the schema table
//! ([`crate::schema::fields`]), the write-policy rows ([`crate::policy::rules`]), the typed view
//! ([`crate::view::View`]) and the input builder ([`Writes`]) a phone uses to write one. The
//! list below names every kind once and gives [`DocKind`] and its wire names. A test in the
//! black-box suite checks the read-model tables and `openapi.yaml` against the declarations.
//!
//! The recipe for a new kind is `docs/record-kinds.md`.

#[macro_use]
mod declare;
mod read_model;
mod value;
mod writes;

pub mod checkin;
pub mod exercise;
pub mod plan;
pub mod session;

pub use read_model::{local_time, Cell, Column, ColumnType, Derived, LocalTime, ReadModel};
pub use value::FieldValue;
pub use writes::Writes;

use crate::field::{FieldSpec, Rule};

/// Declares [`DocKind`] and the per-kind lookups from the one list of kinds.
macro_rules! doc_kinds {
    ($($(#[doc = $doc:literal])* $variant:ident = $wire:literal in $module:ident;)*) => {
        /// The kinds of document Tether syncs.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        pub enum DocKind {
            $($(#[doc = $doc])* #[serde(rename = $wire)] $variant,)*
        }

        /// How many kinds there are.
        const COUNT: usize = [$($wire),*].len();

        impl DocKind {
            /// Every kind, in a stable order.
            pub const ALL: [DocKind; COUNT] = [$(DocKind::$variant),*];

            /// The wire name (`"checkin"`, …).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(DocKind::$variant => $wire,)*
                }
            }
        }

        /// The fields of `kind` (without `_deleted`, which every kind has).
        pub fn fields(kind: DocKind) -> &'static [FieldSpec] {
            match kind {
                $(DocKind::$variant => $module::FIELDS,)*
            }
        }

        /// Who writes each field of `kind`, the tombstone last.
        pub fn rules(kind: DocKind) -> &'static [Rule] {
            match kind {
                $(DocKind::$variant => $module::POLICY,)*
            }
        }

        /// The table the server lists `kind` from, if it keeps one.
        pub fn read_model(kind: DocKind) -> Option<&'static ReadModel> {
            match kind {
                $(DocKind::$variant => $module::READ_MODEL.as_ref(),)*
            }
        }

        /// The read-model cells of a document from its merged fields, after the key and the
        /// tombstone and before `updated_at` (see [`ReadModel::columns`]): its field cells, then
        /// its derived cells. `None` for a kind without a read model.
        pub fn row_cells<'a>(
            key: DocKey,
            fields: impl IntoIterator<Item = (&'a str, &'a serde_json::Value)>,
        ) -> Option<Vec<Cell>> {
            let rm = read_model(key.kind)?;
            let mut cells = match key.kind {
                $(DocKind::$variant => $module::field_cells(key, fields),)*
            };
            let derived: Vec<Cell> = rm.derived_cells(&cells).collect();
            cells.extend(derived);
            Some(cells)
        }
    };
}

/// Identifies a document: `(patient, kind, doc)`. Declared beside the kinds (and re-exported by
/// [`crate::replica`], which keys its state by it) so the kinds' own code names it without
/// reaching up into the replica.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct DocKey {
    /// Owning patient.
    pub patient: uuid::Uuid,
    /// Schema.
    pub kind: DocKind,
    /// Document id.
    pub doc: uuid::Uuid,
}

doc_kinds! {
    /// A craving check-in, written by the patient.
    Checkin = "checkin" in checkin;
    /// A coping-skill exercise, written by the patient.
    Exercise = "exercise" in exercise;
    /// A treatment session on the schedule, written by the counselor (rsvp by the patient).
    Session = "session" in session;
    /// The patient's treatment plan, written by the counselor.
    Plan = "plan" in plan;
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::view::{CheckIn, PatientText, Session, View};

    fn key(kind: DocKind) -> DocKey {
        DocKey {
            patient: Uuid::from_u128(1),
            kind,
            doc: Uuid::from_u128(2),
        }
    }

    fn read<V: View>(writes: &[(String, serde_json::Value)]) -> V {
        V::from_fields(key(V::KIND), writes.iter().map(|(f, v)| (f.as_str(), v)))
    }

    #[test]
    fn a_checkin_built_field_by_field_reads_back_as_written() {
        let triggers = ["stress".to_string(), "lonely".to_string()];
        let note = PatientText::new("slept badly");
        let writes = Writes::<CheckIn>::new()
            .recorded_at(Some(1_720_000_000_000))
            .intensity(Some(6))
            .triggers(&triggers)
            .mood(None)
            .crisis(Some(true))
            .note(Some(&note))
            .into_fields();
        let fields: Vec<&str> = writes.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "recorded_at",
                "intensity",
                "triggers/stress",
                "triggers/lonely",
                "crisis",
                "note"
            ]
        );
        for (field, value) in &writes {
            crate::schema::validate_value(DocKind::Checkin, field, value).unwrap();
        }
        let c: CheckIn = read(&writes);
        assert_eq!(c.intensity, Some(6));
        assert_eq!(c.triggers, ["lonely", "stress"]);
        assert_eq!(c.mood, None);
        assert!(c.crisis);
        assert_eq!(c.note, Some(note));
    }

    #[test]
    fn an_edit_can_clear_a_field_remove_an_element_and_delete() {
        let writes = Writes::<CheckIn>::new()
            .clear("note")
            .remove("triggers", "stress")
            .deleted(true)
            .into_fields();
        assert_eq!(
            writes,
            [
                ("note".to_string(), json!(null)),
                ("triggers/stress".to_string(), json!(false)),
                ("_deleted".to_string(), json!(true)),
            ]
        );
    }

    #[test]
    fn neither_a_view_nor_a_builder_prints_patient_text() {
        let note = PatientText::new("SECRET words");
        let s: Session = read(
            &Writes::<Session>::new()
                .rsvp(Some("yes"))
                .rsvp_note(Some(&note))
                .into_fields(),
        );
        assert_eq!(s.rsvp.as_deref(), Some("yes"));
        assert!(!format!("{s:?}").contains("SECRET"));
        let custom = ["custom:SECRET".to_string()];
        let builder = Writes::<CheckIn>::new().note(Some(&note)).triggers(&custom);
        assert!(!format!("{builder:?}").contains("SECRET"));
        // Serialised, the text is a plain string, as it always was.
        assert_eq!(
            serde_json::to_value(&s).unwrap()["rsvp_note"],
            "SECRET words"
        );
    }

    #[test]
    fn a_checkin_becomes_one_cell_per_column_between_the_tombstone_and_updated_at() {
        let note = PatientText::new("slept badly");
        // 2026-03-02T03:30Z, Sunday 22:30 in New York.
        let writes = Writes::<CheckIn>::new()
            .recorded_at(Some(1_772_422_200_000))
            .tz_offset_min(Some(-300))
            .intensity(Some(6))
            .triggers(&["stress".to_string(), "lonely".to_string()])
            .note(Some(&note))
            .into_fields();
        let cells = row_cells(
            key(DocKind::Checkin),
            writes.iter().map(|(f, v)| (f.as_str(), v)),
        )
        .unwrap();
        let rm = read_model(DocKind::Checkin).unwrap();
        let names: Vec<&str> = rm.columns().map(|c| c.name).collect();
        // Without patient_id, doc_id, deleted and updated_at.
        assert_eq!(cells.len(), names.len() - 4);
        let cell = |name: &str| &cells[names.iter().position(|n| *n == name).unwrap() - 3];
        assert_eq!(cell("recorded_at"), &Cell::Int(Some(1_772_422_200_000)));
        assert_eq!(cell("intensity"), &Cell::Int(Some(6)));
        assert_eq!(cell("mood"), &Cell::Int(None));
        assert_eq!(cell("lapse"), &Cell::Bool(None));
        assert_eq!(cell("crisis"), &Cell::Bool(Some(false)));
        assert_eq!(
            cell("triggers"),
            &Cell::Text(Some(r#"["lonely","stress"]"#.into()))
        );
        assert_eq!(cell("note"), &Cell::Text(Some("slept badly".into())));
        assert_eq!(cell("local_day"), &Cell::Int(Some(20_513)));
        assert_eq!(cell("local_hour"), &Cell::Int(Some(22)));
        assert_eq!(cell("local_weekday"), &Cell::Int(Some(6)));
        assert!(row_cells(key(DocKind::Plan), []).is_none());
    }

    #[test]
    fn a_document_without_its_listed_time_has_no_local_time() {
        let cells = row_cells(key(DocKind::Exercise), []).unwrap();
        let rm = read_model(DocKind::Exercise).unwrap();
        let derived = &cells[rm.fields.len()..];
        assert_eq!(derived, [Cell::Int(None), Cell::Int(None)]);
    }

    #[test]
    fn flags_and_sets_are_not_null_columns_and_the_rest_may_be_null() {
        let rm = read_model(DocKind::Checkin).unwrap();
        let not_null: Vec<&str> = rm
            .columns()
            .filter(|c| c.not_null)
            .map(|c| c.name)
            .collect();
        assert_eq!(
            not_null,
            [
                "patient_id",
                "doc_id",
                "deleted",
                "triggers",
                "crisis",
                "updated_at"
            ]
        );
    }

    #[test]
    fn every_kind_has_its_wire_name_and_its_lookups() {
        let names: Vec<&str> = DocKind::ALL.into_iter().map(DocKind::as_str).collect();
        assert_eq!(names, ["checkin", "exercise", "session", "plan"]);
        for kind in DocKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert_eq!(DocKind::parse(kind.as_str()).unwrap(), kind);
            if let Some(rm) = read_model(kind) {
                assert!(fields(kind).iter().any(|f| f.name == rm.listed_by));
            }
        }
        assert!(read_model(DocKind::Plan).is_none());
    }
}
