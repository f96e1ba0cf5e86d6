//! # tether-test-support
//!
//! Everything a program needs to drive a real Tether server it owns, shared by the black-box
//! tests (`tests/`), the fleet simulator (`tether-fleet`) and the load generator (`tether-load`):
//!
//! - [`Backend`]: SQLite or PostgreSQL; [`Backend::from_env`] is the suite's rule
//!   (`TEST_POSTGRES_URL` set and not blank means PostgreSQL).
//! - [`TestDatabase`]: a throwaway database on either backend, gone when the value is dropped,
//!   also while a panicking test unwinds (a temporary SQLite file, or a uniquely named
//!   PostgreSQL database dropped with its connections terminated).
//! - [`ServerCommand`] and [`RunningServer`]: the server binary started on port 0 with its own
//!   database and environment, ready once it has announced its port and answered `/readyz`,
//!   its log kept for failure messages, killed on drop.
//! - [`run_admin_create`] and [`create_admin`]: the first admin, made by the server's own
//!   `admin create` command with the password on standard input.
//! - [`http`]: a JSON POST or GET with a bearer token, and an answer read as status plus JSON.
//!
//! It is a normal dependency of two shipped binaries, so it only uses crates the workspace
//! already has, never the tests crate, and reports failures as [`Error`] instead of panicking.
//!
//! A test, or a simulator, starts its server like this:
//!
//! ```no_run
//! use tether_test_support::{
//!     create_admin, AdminAccount, Backend, RunningServer, ServerCommand, TestDatabase,
//! };
//!
//! # fn main() -> Result<(), tether_test_support::Error> {
//! let binary = std::path::Path::new("target/debug/tether-api");
//! let db = TestDatabase::create(&Backend::from_env(), "example")?;
//! let admin = AdminAccount {
//!     email: "admin@clinic.test",
//!     name: "Ada Admin",
//!     clinic: "Test Clinic",
//!     password: "a throwaway password",
//! };
//! create_admin(binary, &db.url, &admin)?;
//! let server = RunningServer::start(
//!     ServerCommand::new(binary, &db).env("TETHER_JWT_SECRET", "a signing key long enough 0123"),
//! )?;
//! println!("ready at {}", server.address());
//! // Dropping `server` kills the process; dropping `db` then removes the database.
//! # Ok(())
//! # }
//! ```
//!
//! Keep the server before the database in a struct (fields drop in order), so the process is
//! gone before its database is dropped.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod admin;
mod backend;
mod database;
mod error;
pub mod http;
mod postgres_url;
mod readiness;
mod server;

pub use admin::{create_admin, run_admin_create, AdminAccount};
pub use backend::{Backend, TEST_POSTGRES_URL};
pub use database::TestDatabase;
pub use error::Error;
pub use postgres_url::with_database;
pub use server::{RunningServer, ServerCommand};
