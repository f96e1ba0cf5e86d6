//! Staff accounts.

pub mod create;
