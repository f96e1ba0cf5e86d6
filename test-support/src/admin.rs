//! The first admin of a fresh database, created the way an operator creates one: by running
//! `tether-api admin create` with the password piped on standard input (never on the command
//! line, where any process listing would show it).

use crate::error::Error;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Who `admin create` makes.
#[derive(Debug, Clone, Copy)]
pub struct AdminAccount<'a> {
    /// Their email (they sign in with it).
    pub email: &'a str,
    /// Their display name.
    pub name: &'a str,
    /// The clinic the command creates for them.
    pub clinic: &'a str,
    /// Their password, written to the command's standard input.
    pub password: &'a str,
}

/// Runs `binary admin create` against `database_url` and returns how it ended, success or not
/// (tests look at refusals too).
pub fn run_admin_create(
    binary: &Path,
    database_url: &str,
    admin: &AdminAccount<'_>,
) -> Result<Output, Error> {
    let mut child = Command::new(binary)
        .args([
            "admin",
            "create",
            "--email",
            admin.email,
            "--name",
            admin.name,
        ])
        .args(["--clinic", admin.clinic])
        .env("DATABASE_URL", database_url)
        .env("TETHER_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::Spawn {
            binary: binary.to_path_buf(),
            source,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{}", admin.password).map_err(Error::AdminCommand)?;
    }
    child.wait_with_output().map_err(Error::AdminCommand)
}

/// Creates the first admin; fails unless `admin create` succeeds.
pub fn create_admin(
    binary: &Path,
    database_url: &str,
    admin: &AdminAccount<'_>,
) -> Result<(), Error> {
    let out = run_admin_create(binary, database_url, admin)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::AdminCreate {
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}
