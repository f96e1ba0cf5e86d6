//! Building and running the server. `Application::build` binds its own listener (port 0 picks a
//! free one), so callers learn the real port before serving and never guess or sleep.

use crate::auth::jwt::JwtKeys;
use crate::auth::password;
use crate::db::{self, DbPool};
use crate::error::ApiError;
use crate::routes;
use crate::settings::Settings;
use crate::state::AppState;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{from_fn, DefaultHeaders, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;

/// A bound, migrated, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be opened or migrated.
    #[error("{0}")]
    Database(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Opens the pool and brings the schema up to date.
pub fn open_database(settings: &Settings) -> Result<DbPool, StartupError> {
    let pool = db::build_pool(&settings.database).map_err(StartupError::Database)?;
    let mut conn = pool
        .get()
        .map_err(|e| StartupError::Database(format!("cannot connect to the database: {e}")))?;
    let applied = db::run_migrations(&mut conn).map_err(StartupError::Database)?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(pool)
}

impl Application {
    /// Opens the database, runs migrations and binds the listener.
    pub fn build(settings: Settings) -> Result<Self, StartupError> {
        let pool = open_database(&settings)?;
        let listener = TcpListener::bind(&settings.bind).map_err(|source| StartupError::Bind {
            address: settings.bind.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                address: settings.bind.clone(),
                source,
            })?
            .port();
        password::warm_up();
        let server = serve(listener, pool, settings).map_err(|source| StartupError::Bind {
            address: "listener".into(),
            source,
        })?;
        Ok(Self { port, server })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or SIGINT, then lets in-flight requests finish (up to the configured
    /// shutdown timeout) before returning.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn serve(listener: TcpListener, pool: DbPool, settings: Settings) -> std::io::Result<Server> {
    let shutdown_secs = settings.shutdown_timeout.as_secs();
    let max_body = settings.max_body_bytes;
    let max_push = settings.sync.max_push_bytes;
    let sign_in_cost = sign_in_cost(&pool)?;
    let state = web::Data::new(AppState {
        sign_in_cost,
        pool,
        jwt: Arc::new(JwtKeys::new(&settings.auth.jwt_secret)),
        settings: Arc::new(settings),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(routes::json_config(max_body))
            .app_data(web::PayloadConfig::default().limit(max_body))
            .app_data(
                web::QueryConfig::default().error_handler(|err, _| ApiError::from(err).into()),
            )
            .app_data(web::PathConfig::default().error_handler(|err, _| ApiError::from(err).into()))
            .configure(|cfg| routes::configure(cfg, max_push))
            // HTML pages for counselors; not part of the JSON API (nor of `routes::endpoints`).
            .configure(crate::dashboard::configure)
            .default_service(web::to(routes::not_found))
            // Bearer tokens and their sessions are checked before a handler's extractors run.
            .wrap(from_fn(crate::auth::extractor::check_bearer))
            .wrap(ErrorHandlers::new().default_handler(crate::error::json_error_fallback))
            // Nothing this server answers may be cached (tokens, one-time codes, patient records),
            // and no browser may guess a type other than the one declared (a JSON answer holding
            // patient text must never be sniffed into HTML).
            .wrap(
                DefaultHeaders::new()
                    .add((header::CACHE_CONTROL, "no-store"))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff")),
            )
            .wrap(from_fn(crate::telemetry::request_span))
    })
    .listen(listener)?
    .shutdown_timeout(shutdown_secs)
    .run();
    Ok(server)
}

/// Whether every sign-in must make a second argon2 computation (see `auth::password`): read
/// once here, over every account.
fn sign_in_cost(pool: &DbPool) -> std::io::Result<password::SignInCost> {
    let accounts = pool
        .get()
        .map_err(std::io::Error::other)
        .and_then(|mut conn| {
            crate::repo::accounts::emails_and_hashes(&mut conn)
                .map_err(|e| std::io::Error::other(e.to_string()))
        })?;
    let cost = password::needs_second_computation(
        accounts
            .iter()
            .map(|(email, hash)| (email.as_str(), hash.as_str())),
    );
    if cost == password::SignInCost::Two {
        tracing::info!("some password hashes predate the email salt: every sign-in makes two argon2 computations");
    }
    Ok(cost)
}
