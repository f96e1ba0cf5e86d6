//! A fresh database for one run (from `tether-test-support`), the real server started in-process
//! on port 0 (so the run's CPU meter counts it), and the first admin created directly in the
//! database the way `tether-api admin create` does (there is no server binary to run it with).

use crate::Res;
use api::db::{self, DbPool};
use api::domain::{display_name, Email, Role};
use api::repo::accounts;
use api::secret::Secret;
use api::settings::Settings;
use api::startup::Application;
use std::collections::HashMap;
use std::sync::mpsc;
use tether_test_support::TestDatabase;

/// The signing key of the load-test server (never a real deployment's).
pub const JWT_SECRET: &str = "load-test-signing-key-that-is-long-enough-0123456789";
/// The first admin's email and password.
pub const ADMIN_EMAIL: &str = "admin@load.test";
/// See [`ADMIN_EMAIL`].
pub const ADMIN_PASSWORD: &str = "admin password for the load test";

pub use tether_test_support::Backend;

/// This run's own database (a temporary SQLite file, or a fresh PostgreSQL database), gone when
/// the value is dropped.
pub fn create_database(backend: &Backend) -> Res<TestDatabase> {
    Ok(TestDatabase::create(backend, "load")?)
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
