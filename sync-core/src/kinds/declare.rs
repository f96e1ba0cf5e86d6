//! `record_kind!`: one declaration of a record kind, from which its schema table, write-policy
//! rows, typed view and input builder are generated (see `docs/record-kinds.md`).
//!
//! ```text
//! record_kind! {
//!     /// The view's doc comment.
//!     view CheckIn of Checkin;
//!     fields {
//!         /// The field's doc comment (the view's and the builder method's).
//!         intensity: Option<u8> = SCALE_0_10, Patient;
//!         …
//!     }
//!     deleted by Patient;
//!     read model "checkins" listed by recorded_at, derived [LocalDay, LocalHour];
//! }
//! ```
//!
//! Each field line is `name: ViewType = FieldType, Writer;`. The view type is one that
//! implements [`super::FieldValue`] (it decides the JSON decoding, what the builder takes, and
//! whether the field is patient text); the field type is a [`crate::schema::FieldType`]
//! expression; the writer is a [`crate::policy::Writer`] variant. The `read model` line is left
//! out by a kind the server keeps no table for.

/// Declares one record kind in the module it is invoked in: `FIELDS`, `POLICY`, `READ_MODEL`,
/// `field_cells`, the view struct with its `View` impl, and the per-field methods of
/// `Writes<View>`.
macro_rules! record_kind {
    (@read_model $View:ident [$($name:ident : $ty:ty = $fty:expr),*]) => {
        None
    };
    (
        @read_model $View:ident [$($name:ident : $ty:ty = $fty:expr),*]
        $table:literal listed by $listed:ident, [$($derived:ident),*]
    ) => {{
        // The listed field must be one of the view's.
        const _: fn(&$View) = |v| {
            let _ = &v.$listed;
        };
        Some($crate::kinds::ReadModel {
            table: $table,
            listed_by: stringify!($listed),
            derived: &[$($crate::kinds::Derived::$derived),*],
            fields: &[$(
                $crate::kinds::Column {
                    name: stringify!($name),
                    ty: $crate::kinds::ColumnType::of(&$fty),
                    not_null: <$ty as $crate::kinds::FieldValue>::NOT_NULL,
                },
            )*],
        })
    }};
    (
        $(#[doc = $doc:literal])*
        view $View:ident of $variant:ident;
        fields {
            $(
                $(#[doc = $fdoc:literal])*
                $name:ident : $ty:ty = $fty:expr, $writer:ident;
            )*
        }
        deleted by $deleter:ident;
        $(read model $table:literal listed by $listed:ident, derived [$($derived:ident),* $(,)?];)?
    ) => {
        use $crate::kinds::FieldValue as _;

        /// The fields of this kind, in declaration order (without `_deleted`, which every kind
        /// has).
        pub static FIELDS: &[$crate::field::FieldSpec] = &[$(
            $crate::field::FieldSpec {
                name: stringify!($name),
                ty: $fty,
                patient_text: <$ty as $crate::kinds::FieldValue>::PATIENT_TEXT,
            },
        )*];

        /// Who writes each field of this kind, the tombstone last.
        pub const POLICY: &[$crate::field::Rule] = &[
            $(
                $crate::field::Rule {
                    field: stringify!($name),
                    writer: $crate::field::Writer::$writer,
                },
            )*
            $crate::field::Rule {
                field: $crate::field::DELETED,
                writer: $crate::field::Writer::$deleter,
            },
        ];

        /// The server-side table this kind is listed from, if it has one.
        pub static READ_MODEL: Option<$crate::kinds::ReadModel> = record_kind!(
            @read_model $View [$($name : $ty = $fty),*]
            $($table listed by $listed, [$($derived),*])?
        );

        /// A document's field values as its read-model columns store them, in declaration
        /// order, read through the typed view.
        pub fn field_cells<'a>(
            key: $crate::kinds::DocKey,
            fields: impl IntoIterator<Item = (&'a str, &'a serde_json::Value)>,
        ) -> Vec<$crate::kinds::Cell> {
            let view = <$View as $crate::view::View>::from_fields(key, fields);
            vec![$(view.$name.into_cell()),*]
        }

        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
        pub struct $View {
            /// Owning patient.
            pub patient: uuid::Uuid,
            /// Document id.
            pub id: uuid::Uuid,
            $(
                $(#[doc = $fdoc])*
                pub $name: $ty,
            )*
        }

        impl $crate::view::View for $View {
            const KIND: $crate::kinds::DocKind = $crate::kinds::DocKind::$variant;

            fn from_fields<'a>(
                key: $crate::kinds::DocKey,
                fields: impl IntoIterator<Item = (&'a str, &'a serde_json::Value)>,
            ) -> Self {
                let mut view = $View {
                    patient: key.patient,
                    id: key.doc,
                    ..Default::default()
                };
                for (field, value) in fields {
                    let (base, element) = match field.split_once('/') {
                        Some((base, element)) => (base, Some(element)),
                        None => (field, None),
                    };
                    match base {
                        $(stringify!($name) => view.$name.read(element, value),)*
                        _ => {}
                    }
                }
                $(view.$name.finish();)*
                view
            }
        }

        impl $crate::kinds::Writes<$View> {
            $(
                $(#[doc = $fdoc])*
                pub fn $name(mut self, value: <$ty as $crate::kinds::FieldValue>::Input<'_>) -> Self {
                    <$ty as $crate::kinds::FieldValue>::write(stringify!($name), value, self.buffer());
                    self
                }
            )*
        }
    };
}
