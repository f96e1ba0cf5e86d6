//! Patients: enrollment now; read models, trends and consent as they land.

pub mod enroll;
