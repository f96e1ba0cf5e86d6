//! Program tracks and the session schedules generated from them.
//!
//! [`recurrence`] is pure: it validates a track definition and expands it into dated occurrences
//! in the clinic's time zone, with deterministic session ids, and computes the local weeks the IOP
//! hours ledger reports. [`generator`] executes: it writes the occurrences as session documents
//! through the sync push path, so phones receive them on their next pull.

pub mod generator;
pub mod recurrence;
