//! What a kind's server-side read-model table holds, as data: the server writes and lists the
//! table from it, and a test checks the migrated table and the HTTP spec against it.
//!
//! A read-model table has, in this order: `patient_id` and `doc_id` (TEXT, the key), `deleted`
//! (BOOLEAN), one column per field named after it, the [`Derived`] columns the kind declares,
//! and `updated_at` (BIGINT, ms UTC). [`ReadModel::columns`] lists them with their types; a
//! document becomes a row of [`Cell`]s through the kind's typed view, so the server reads a
//! document exactly as a phone does.

use crate::field::FieldType;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// The SQL type of a column, the same on both backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `BIGINT`: timestamps, ms UTC.
    BigInt,
    /// `INTEGER`: bounded integers and derived local times.
    Integer,
    /// `BOOLEAN`.
    Boolean,
    /// `TEXT`: enums, tags, free text, links, ids.
    Text,
    /// `TEXT` holding a JSON array of strings: a set's members, sorted.
    JsonArray,
}

impl ColumnType {
    /// The column type of a field of type `ty`.
    pub const fn of(ty: &FieldType) -> ColumnType {
        match ty {
            FieldType::Bool => ColumnType::Boolean,
            FieldType::Int { .. } => ColumnType::Integer,
            FieldType::TimestampMs => ColumnType::BigInt,
            FieldType::Set(_) => ColumnType::JsonArray,
            FieldType::Enum(_)
            | FieldType::Tag(_)
            | FieldType::Text { .. }
            | FieldType::HttpsUrl { .. } => ColumnType::Text,
        }
    }
}

/// One column of a read-model table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub ty: ColumnType,
    /// Whether it is `NOT NULL` (the key, the tombstone, `updated_at`, a set, and a flag whose
    /// view reads `false` until set).
    pub not_null: bool,
}

/// One value of a row, as the database stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// An integer column (`BIGINT` or `INTEGER`).
    Int(Option<i64>),
    /// A boolean column.
    Bool(Option<bool>),
    /// A text column (a set's JSON array included).
    Text(Option<String>),
}

/// A column computed from the document at write time, so that reads are plain `GROUP BY`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derived {
    /// Days since 1970-01-01 in the patient's local calendar, at the listed time.
    LocalDay,
    /// Hour 0–23, local, at the listed time.
    LocalHour,
    /// 0 = Monday … 6 = Sunday, local, at the listed time.
    LocalWeekday,
}

impl Derived {
    /// The column's name.
    pub fn column(self) -> &'static str {
        match self {
            Derived::LocalDay => "local_day",
            Derived::LocalHour => "local_hour",
            Derived::LocalWeekday => "local_weekday",
        }
    }

    /// Its value at `local`.
    fn of(self, local: LocalTime) -> i32 {
        match self {
            Derived::LocalDay => local.day,
            Derived::LocalHour => local.hour,
            Derived::LocalWeekday => local.weekday,
        }
    }
}

/// The name of the field whose value places a kind's listed time in the patient's calendar.
pub const TZ_OFFSET_FIELD: &str = "tz_offset_min";

/// A kind's read-model table.
#[derive(Debug)]
pub struct ReadModel {
    /// The table's name.
    pub table: &'static str,
    /// The timestamp field a list orders and filters by (`from`, `to`); a document without it
    /// is not listed, so the HTTP item has it always set.
    pub listed_by: &'static str,
    /// Columns computed at write time. Local times are those of `listed_by` at the offset in the
    /// kind's `tz_offset_min` field (UTC without one).
    pub derived: &'static [Derived],
    /// The field columns, in declaration order.
    pub fields: &'static [Column],
}

impl ReadModel {
    /// Every column of the table, in the order of a row: the key, the tombstone, the fields,
    /// the derived columns, `updated_at`.
    pub fn columns(&self) -> impl Iterator<Item = Column> + '_ {
        let text_key = |name| Column {
            name,
            ty: ColumnType::Text,
            not_null: true,
        };
        [
            text_key("patient_id"),
            text_key("doc_id"),
            Column {
                name: "deleted",
                ty: ColumnType::Boolean,
                not_null: true,
            },
        ]
        .into_iter()
        .chain(self.fields.iter().copied())
        .chain(self.derived.iter().map(|d| Column {
            name: d.column(),
            ty: ColumnType::Integer,
            not_null: false,
        }))
        .chain([Column {
            name: "updated_at",
            ty: ColumnType::BigInt,
            not_null: true,
        }])
    }

    /// The derived cells of a document whose field cells (in declaration order) are `fields`.
    pub fn derived_cells(&self, fields: &[Cell]) -> impl Iterator<Item = Cell> + '_ {
        let int = |name: &str| match self.fields.iter().position(|c| c.name == name) {
            Some(i) => match fields.get(i) {
                Some(Cell::Int(v)) => *v,
                _ => None,
            },
            None => None,
        };
        let offset = int(TZ_OFFSET_FIELD).and_then(|m| i16::try_from(m).ok());
        let local = int(self.listed_by).map(|at| local_time(at, offset));
        self.derived
            .iter()
            .map(move |d| Cell::Int(local.map(|l| i64::from(d.of(l)))))
    }
}

/// Local calendar position of an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Days since 1970-01-01, local.
    pub day: i32,
    /// Hour 0–23, local.
    pub hour: i32,
    /// 0 = Monday … 6 = Sunday.
    pub weekday: i32,
}

/// Where `at_ms` (UTC) falls in a calendar `offset_min` minutes from UTC. Without an offset the
/// instant is placed in UTC.
pub fn local_time(at_ms: i64, offset_min: Option<i16>) -> LocalTime {
    let local = at_ms.saturating_add(i64::from(offset_min.unwrap_or(0)) * 60_000);
    let day = local.div_euclid(DAY_MS);
    LocalTime {
        day: i32::try_from(day).unwrap_or(0),
        hour: i32::try_from(local.rem_euclid(DAY_MS) / HOUR_MS).unwrap_or(0),
        // 1970-01-01 was a Thursday (3 when Monday is 0).
        weekday: i32::try_from((day + 3).rem_euclid(7)).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_follows_the_recorded_offset() {
        // 2026-03-02T03:30Z is a Monday in UTC…
        let at = 1_772_422_200_000;
        assert_eq!(
            local_time(at, None),
            LocalTime {
                day: 20_514,
                hour: 3,
                weekday: 0
            }
        );
        // …and still Sunday evening 22:30 in New York (UTC−5).
        assert_eq!(
            local_time(at, Some(-300)),
            LocalTime {
                day: 20_513,
                hour: 22,
                weekday: 6
            }
        );
    }

    #[test]
    fn the_epoch_was_a_thursday() {
        assert_eq!(local_time(0, None).weekday, 3);
        assert_eq!(
            local_time(-1, None),
            LocalTime {
                day: -1,
                hour: 23,
                weekday: 2
            }
        );
    }
}
