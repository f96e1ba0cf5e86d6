//! sync-core's integration tests: one binary, one module per concern.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod gen;
mod golden;
mod hlc_laws;
mod merge_laws;
mod replica;
mod schema_rejects;
