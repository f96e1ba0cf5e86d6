//! Tether's black-box test suite: one binary, one module per feature. Every test starts the real
//! server binary with its own database (SQLite by default, PostgreSQL with `TEST_POSTGRES_URL`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod harness;

mod accounts;
mod accounts_privacy;
mod auth;
mod auth_limits;
mod auth_sessions;
mod backend;
mod checkpoint;
mod cli_help;
mod client;
mod consent;
mod dashboard;
mod dashboard_patient;
mod database;
mod dates;
mod demo;
mod error_codes;
mod errors;
mod fleet;
mod hygiene;
mod migrations;
mod openapi;
mod phone;
mod record_kinds;
mod schedules;
mod spec;
mod sync;
mod sync_access;
mod sync_concurrency;
mod sync_cursor;
mod sync_rejections;
mod tracks;
mod trends;
