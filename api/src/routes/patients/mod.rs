//! Patients: enrollment and the read models of their records.

pub mod access_log;
pub mod checkins;
pub mod enroll;
pub mod exercises;
pub mod iop_hours;
pub mod list;
pub mod sessions;
pub mod trends;
