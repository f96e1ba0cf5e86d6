//! A database that exists for one test or one simulator run and is gone when its value is
//! dropped, on either backend.
//!
//! SQLite: a file in a fresh temporary directory (the directory also holds the server's log),
//! removed with the directory. PostgreSQL: a database with a unique name created on the server
//! the run was given, dropped with `DROP DATABASE … WITH (FORCE)`, which terminates whatever
//! connections are still open on it and drops it in one statement. `Drop` also runs while a
//! panicking test unwinds, so a failed test leaves nothing behind.

use crate::backend::Backend;
use crate::error::Error;
use crate::postgres_url::with_database;
use diesel::{Connection, PgConnection, RunQueryDsl};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// A throwaway database and its scratch directory.
pub struct TestDatabase {
    /// The URL (or SQLite path) a server is given.
    pub url: String,
    dir: PathBuf,
    postgres: Option<PostgresDatabase>,
}

/// The PostgreSQL database a [`TestDatabase`] created, and where to drop it from.
struct PostgresDatabase {
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// Creates an empty database on `backend`. `purpose` names it (`tether_<purpose>_<uuid>`,
    /// and `tether-<purpose>-<uuid>` for the directory) so a leftover says who made it.
    pub fn create(backend: &Backend, purpose: &str) -> Result<Self, Error> {
        let purpose = identifier(purpose);
        let unique = Uuid::new_v4();
        let dir = std::env::temp_dir().join(format!("tether-{purpose}-{unique}"));
        std::fs::create_dir_all(&dir).map_err(Error::Scratch)?;
        match backend {
            Backend::Sqlite => Ok(Self {
                url: dir.join("tether.db").display().to_string(),
                dir,
                postgres: None,
            }),
            Backend::Postgres(admin_url) => {
                let name = format!("tether_{purpose}_{}", unique.simple());
                let created = create_postgres_database(admin_url, &name);
                if let Err(e) = created {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(e);
                }
                Ok(Self {
                    url: with_database(admin_url, &name),
                    dir,
                    postgres: Some(PostgresDatabase {
                        admin_url: admin_url.clone(),
                        name,
                    }),
                })
            }
        }
    }

    /// The run's scratch directory (removed on drop): a place for the server's log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The PostgreSQL database's name.
    pub fn database_name(&self) -> Option<&str> {
        self.postgres.as_ref().map(|p| p.name.as_str())
    }
}

/// Only lowercase letters, digits and `_`: the name goes into SQL unquoted.
fn identifier(purpose: &str) -> String {
    purpose
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn create_postgres_database(admin_url: &str, name: &str) -> Result<(), Error> {
    let mut conn = PgConnection::establish(admin_url).map_err(Error::PostgresUnreachable)?;
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .map_err(Error::CreateDatabase)?;
    Ok(())
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(PostgresDatabase { admin_url, name }) = &self.postgres {
            if let Ok(mut conn) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::identifier;

    #[test]
    fn a_purpose_becomes_a_plain_sql_identifier() {
        assert_eq!(identifier("fleet-Server; x"), "fleet_server__x");
        assert_eq!(identifier("test"), "test");
    }
}
