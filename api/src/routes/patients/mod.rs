//! Patients: enrollment and the read models of their records.

pub mod access_log;
pub mod enroll;
pub mod iop_hours;
pub mod list;
pub mod records;
pub mod trends;
