//! A fresh database for one run, the real server started in-process on port 0, and the first
//! admin created directly in the database the way `tether-api admin create` does.

use crate::Res;
use api::db::{self, DbPool};
use api::domain::{display_name, Email, Role};
use api::repo::accounts;
use api::secret::Secret;
use api::settings::Settings;
use api::startup::Application;
use diesel::{Connection, PgConnection, RunQueryDsl};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;
use uuid::Uuid;

/// The signing key of the load-test server (never a real deployment's).
pub const JWT_SECRET: &str = "load-test-signing-key-that-is-long-enough-0123456789";
/// The first admin's email and password.
pub const ADMIN_EMAIL: &str = "admin@load.test";
/// See [`ADMIN_EMAIL`].
pub const ADMIN_PASSWORD: &str = "admin password for the load test";

/// Which database to run against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on the server at this URL.
    Postgres(String),
}

/// A database that exists for this run only; dropped (or deleted) when this value is.
pub struct RunDb {
    /// The URL the server is given.
    pub url: String,
    dir: PathBuf,
    postgres: Option<(String, String)>,
}

impl RunDb {
    /// Creates an empty database.
    pub fn create(backend: &Backend) -> Res<Self> {
        let dir = std::env::temp_dir().join(format!("tether-load-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir)?;
        match backend {
            Backend::Sqlite => Ok(Self {
                url: dir.join("tether.db").display().to_string(),
                dir,
                postgres: None,
            }),
            Backend::Postgres(admin_url) => {
                let name = format!("tether_load_{}", Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(admin_url)
                    .map_err(|e| format!("cannot reach PostgreSQL at the given URL: {e}"))?;
                diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn)?;
                Ok(Self {
                    url: with_database(admin_url, &name),
                    dir,
                    postgres: Some((admin_url.clone(), name)),
                })
            }
        }
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The PostgreSQL database's name.
    pub fn database_name(&self) -> Option<&str> {
        self.postgres.as_ref().map(|(_, name)| name.as_str())
    }
}

impl Drop for RunDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres {
            if let Ok(mut conn) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `postgres://host/db?x` with its database replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

/// The server's settings: production defaults except a fixed key, quiet logs, long-lived access
/// tokens (a run outlasts the default 15 minutes) and no sign-in rate limit for the set-up.
pub fn settings(database_url: &str) -> Res<Settings> {
    let env: HashMap<String, String> = [
        ("DATABASE_URL", database_url),
        ("TETHER_BIND", "127.0.0.1:0"),
        ("TETHER_JWT_SECRET", JWT_SECRET),
        ("TETHER_LOG", "warn"),
        ("TETHER_LOG_FORMAT", "pretty"),
        ("TETHER_ACCESS_TTL_SECS", "86400"),
        ("TETHER_ADDR_MAX_ATTEMPTS", "100000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Ok(Settings::from_map(&env, &[])?)
}

/// Starts the server on its own thread and tokio runtime; returns its port once it listens.
pub fn start(settings: Settings) -> Res<u16> {
    let (tx, rx) = mpsc::channel::<Result<u16, String>>();
    std::thread::Builder::new()
        .name("tether-server".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            };
            runtime.block_on(async move {
                match Application::build(settings) {
                    Ok(app) => {
                        let _ = tx.send(Ok(app.port()));
                        if let Err(e) = app.run_until_stopped().await {
                            eprintln!("server stopped: {e}");
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            });
        })?;
    Ok(rx.recv()??)
}

/// Creates the clinic and its first admin, as `tether-api admin create` does.
pub fn create_admin(pool: &DbPool) -> Res<()> {
    let email = Email::parse(ADMIN_EMAIL)?;
    let name = display_name("Ada Admin", "name")?;
    let hash = api::auth::password::hash_now(&Secret::new(ADMIN_PASSWORD.to_string()))?;
    let mut conn = pool.get()?;
    let now = api::clock::now_ms();
    db::write_tx(&mut conn, |conn| {
        let clinic_id = accounts::ensure_clinic(conn, "Load Clinic", now)?;
        let new = accounts::NewUser {
            clinic_id,
            role: Role::Admin,
            email: &email,
            display_name: &name,
            password_hash: Some(&hash),
        };
        accounts::insert_user(conn, &new, now)?;
        Ok::<_, api::error::ApiError>(())
    })?;
    Ok(())
}
