//! The counselor's caseload.

pub mod get;
