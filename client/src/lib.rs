//! The phone half of Tether: a library a phone app (through FFI later) or any Rust program
//! embeds to keep a patient's records on the device, write them offline and sync them with the
//! server.
//!
//! - [`store::Store`] — the device's SQLite file: its replica, HLC, outbox, pull cursor, session.
//!   Every local write goes to the replica and the outbox in one transaction.
//! - [`Client::sync`] — push the outbox in batches, drop what the server acknowledged, pull pages
//!   until `has_more` is false; retries with backoff and jitter, refreshes the access token,
//!   re-stamps unsynced ops when the server finds the device clock ahead. An explicit state
//!   machine ([`sync::Phase`]), safe to interrupt anywhere.
//! - [`records`] — typed calls for what a patient does, all working offline.
//! - [`transport::Transport`] — the HTTP seam; [`fleet`] drives real HTTP with injected faults.
//!
//! Tokens are [`Secret`]s and notes sync-core `PatientText`s: neither prints through `Debug`.

pub mod cli;
pub mod client;
pub mod error;
pub mod fleet;
pub mod records;
pub mod retry;
pub mod secret;
pub mod store;
pub mod sync;
pub mod transport;
pub mod wire;

pub use client::{Client, Status, SyncConfig};
pub use error::ClientError;
pub use records::{CheckinInput, ExerciseInput, SessionInput, Trend};
pub use secret::Secret;
pub use store::Store;
pub use sync::SyncReport;
pub use transport::{HttpTransport, Transport};
