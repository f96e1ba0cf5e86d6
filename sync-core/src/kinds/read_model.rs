//! What a kind's server-side read-model table holds, as data: the server writes the table from
//! it and a test checks the migrated table and the HTTP spec against it.
//!
//! A read-model table has, in this order of meaning (the column order in the database is free):
//! `patient_id` and `doc_id` (TEXT, the key), `deleted` (BOOLEAN), one column per scalar field
//! named after it, one TEXT column per set field holding its sorted elements as a JSON array,
//! the [`Derived`] columns the kind declares, and `updated_at` (BIGINT, ms UTC).

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
}

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
}
