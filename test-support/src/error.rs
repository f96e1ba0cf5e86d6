//! What can go wrong while preparing a database or a server for a run.

use std::path::PathBuf;

/// A failure to set up (never to tear down: tear-down is best effort, in `Drop`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scratch directory (SQLite file, server log) could not be made or written.
    #[error("cannot prepare the scratch directory: {0}")]
    Scratch(#[source] std::io::Error),
    /// The PostgreSQL server given for the run did not accept a connection.
    #[error("cannot reach PostgreSQL at the given URL: {0}")]
    PostgresUnreachable(#[source] diesel::ConnectionError),
    /// `CREATE DATABASE` failed.
    #[error("cannot create the run's database: {0}")]
    CreateDatabase(#[source] diesel::result::Error),
    /// The server binary could not be started at all.
    #[error("cannot start {}: {source}", binary.display())]
    Spawn {
        /// The binary that was asked for.
        binary: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: std::io::Error,
    },
    /// The server started but never announced its port or never answered `/readyz`.
    #[error("the server did not start; its log:\n{log}")]
    NotStarted {
        /// Everything the server wrote to its log.
        log: String,
    },
    /// `tether-api admin create` could not be run or fed its password.
    #[error("cannot run admin create: {0}")]
    AdminCommand(#[source] std::io::Error),
    /// `tether-api admin create` ran and failed.
    #[error("admin create failed: {stderr}")]
    AdminCreate {
        /// What the command wrote to standard error.
        stderr: String,
    },
}
