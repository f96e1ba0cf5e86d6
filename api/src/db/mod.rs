//! Storage: one connection type over SQLite and PostgreSQL, the pool, migrations, and the one
//! helper through which every query runs off the async executor.
//!
//! The backend is chosen by the database URL at start-up; every query is written once against
//! [`DbConnection`] and runs unchanged on both.

mod checkpoint;
pub mod fixed_sql;
pub mod group_commit;
pub mod schema;
pub mod snapshot;

use crate::error::ApiError;
use crate::settings::{Backend, DatabaseSettings};
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// Migrations for each backend, embedded in the binary. Both folders carry the same versions.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
/// See [`SQLITE_MIGRATIONS`].
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// A connection to whichever backend the URL selected.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// Production backend.
    Pg(PgConnection),
    /// Embedded default.
    Sqlite(SqliteConnection),
}

/// The connection pool shared by all workers.
pub type DbPool = Pool<ConnectionManager<DbConnection>>;
/// A connection checked out of the pool.
pub type PooledConn = PooledConnection<ConnectionManager<DbConnection>>;
/// Failure to check out a connection in time.
pub type PoolError = diesel::r2d2::PoolError;

/// No connection within the pool's timeout: the database is busy or away, which the phone is told
/// to retry (503 with `Retry-After`).
impl From<PoolError> for ApiError {
    fn from(err: PoolError) -> Self {
        tracing::warn!(cause = %err, "no database connection available");
        Self::Unavailable
    }
}

/// SQLite's per-connection settings: foreign keys on, wait (rather than fail) on a locked
/// database, WAL for concurrent readers, NORMAL sync (in WAL mode durable against application
/// crashes), and temporary storage in memory: a multi-row write keeps its statement journal
/// (what it needs to undo itself if a later row fails) in memory instead of a temporary file,
/// which took about a sixth of a push's time in `write` calls.
pub const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;";

/// Per-connection set-up. SQLite's settings are per connection, so they are applied to every
/// connection the pool opens. The pool owns the set-up, so a SQLite database's checkpointer and
/// writer connection live (and stop) with its pool.
#[derive(Debug)]
struct ConnectionSetup {
    _checkpointer: Option<checkpoint::Checkpointer>,
    _writer: Option<std::sync::Arc<group_commit::Writer>>,
}

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(sqlite) = conn {
            sqlite
                .batch_execute(SQLITE_PRAGMAS)
                .map_err(diesel::r2d2::Error::QueryError)?;
            sqlite
                .batch_execute(checkpoint::LOG_PRAGMAS)
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Builds the pool and checks that one connection can be made, so a wrong URL fails at start-up
/// with a clear message rather than on the first request.
pub fn build_pool(settings: &DatabaseSettings) -> Result<DbPool, String> {
    let (url, checkpointer, writer) = match settings.backend {
        Backend::Sqlite => {
            let path = settings.sqlite_path();
            if path.is_empty() || path == ":memory:" {
                return Err(
                    "an in-memory SQLite database cannot be pooled; give a file path".into(),
                );
            }
            (
                path.to_string(),
                Some(checkpoint::Checkpointer::start(
                    path,
                    settings.wal_restart_frames,
                )?),
                Some(group_commit::Writer::open(path)?),
            )
        }
        Backend::Postgres => {
            let url = with_connect_timeout(settings.url.expose(), settings.acquire_timeout);
            probe_postgres(&url, settings)?;
            (url, None, None)
        }
    };
    Pool::builder()
        .max_size(settings.pool_size)
        .connection_timeout(settings.acquire_timeout)
        .connection_customizer(Box::new(ConnectionSetup {
            _checkpointer: checkpointer,
            _writer: writer,
        }))
        .build(ConnectionManager::<DbConnection>::new(url))
        .map_err(|e| format!("cannot open the database ({}): {e}", settings.redacted()))
}

/// Connects once, directly, so that a server that cannot reach PostgreSQL says why at once
/// (libpq's own words: connection refused, no such host, database does not exist, password
/// authentication failed) and where it tried, instead of the pool's retries ending in diesel's
/// "Invalid connection url for multiconnection" after the acquire timeout. libpq's messages
/// name host, port, user and database; a few of its URL-parsing errors quote a part of the URL
/// (`invalid percent-encoded token: "…"`), so the URL's credentials are cut out of the message.
fn probe_postgres(url: &str, settings: &DatabaseSettings) -> Result<(), String> {
    PgConnection::establish(url).map(drop).map_err(|e| {
        format!(
            "cannot connect to PostgreSQL at {}: {}",
            settings.redacted(),
            without_credentials(e.to_string().trim(), url)
        )
    })
}

/// `message` with the URL and, when it holds a password, its user-and-password part and the
/// password (as written and percent-decoded) replaced by `[redacted]`.
fn without_credentials(message: &str, url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let userinfo = authority.rsplit_once('@').map(|(userinfo, _)| userinfo);
    let password = userinfo.and_then(|u| u.split_once(':')).map(|(_, p)| p);
    let mut secrets: Vec<String> = vec![url.to_string()];
    if let (Some(userinfo), Some(password)) = (userinfo, password) {
        secrets.push(userinfo.to_string());
        secrets.push(password.to_string());
        secrets.push(percent_decoded(password));
    }
    let mut scrubbed = message.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        scrubbed = scrubbed.replace(secret.as_str(), "[redacted]");
    }
    scrubbed
}

/// `%XX` escapes decoded (anything malformed kept as it is, lossy UTF-8).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL with libpq's `connect_timeout` (whole seconds, at least 2) set to the pool's acquire
/// timeout unless the URL sets its own: without it a host that drops packets keeps a
/// connection attempt waiting for minutes, at start-up and whenever the pool reconnects.
fn with_connect_timeout(url: &str, timeout: std::time::Duration) -> String {
    if url.contains("connect_timeout=") {
        return url.to_string();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}connect_timeout={}",
        timeout.as_secs().max(2)
    )
}

/// Applies every pending migration for the connection's backend; returns how many ran.
pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, String> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Pg(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    applied.map_err(|e| format!("migration failed: {e}"))
}

/// Runs a blocking database closure on actix's blocking thread pool, inside the caller's tracing
/// span, with a pooled connection. Every diesel call in the server goes through here.
pub async fn run<T, F>(pool: &DbPool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    actix_web::web::block(move || {
        let _entered = span.enter();
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await
    .map_err(ApiError::internal)?
}

/// The queue of this process's SQLite write transactions (see [`write_tx`]).
static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Nanoseconds the SQLite write lock has been held in this process, all databases together.
static SQLITE_WRITER_HELD_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How long this process has held the SQLite write lock, in all. SQLite admits one writer at a
/// time, so this time per write is the most writes a second the process can ever make; the
/// load generator prints it beside the throughput it measured.
pub fn sqlite_write_lock_held() -> std::time::Duration {
    std::time::Duration::from_nanos(
        SQLITE_WRITER_HELD_NS.load(std::sync::atomic::Ordering::Relaxed),
    )
}

/// The SQLite write lock while held, timing how long.
struct WriterGuard {
    _lock: std::sync::MutexGuard<'static, ()>,
    since: std::time::Instant,
}

impl WriterGuard {
    fn acquire() -> Self {
        let lock = SQLITE_WRITER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        WriterGuard {
            _lock: lock,
            since: std::time::Instant::now(),
        }
    }
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        let held = u64::try_from(self.since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        SQLITE_WRITER_HELD_NS.fetch_add(held, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Runs `f` in a write transaction. On SQLite the transaction is `BEGIN IMMEDIATE`, taking the
/// write lock up front: a deferred transaction that reads and then writes can fail with
/// `SQLITE_BUSY` when another writer got there first, and `busy_timeout` cannot save it. The
/// transaction is begun through diesel's own transaction manager, so statements inside that
/// open transactions of their own (SQLite batch inserts do) nest as savepoints.
pub fn write_tx<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    // SQLite admits one writer at a time. Writers of this process queue here, in order, instead
    // of polling the database lock in `busy_timeout`'s growing sleeps (which left pushes waiting
    // up to 100 ms after the lock was free). Correctness still rests on SQLite's own lock, which
    // other processes sharing the file respect as before.
    let _writer = WriterGuard::acquire();
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    let result = f(conn);
    let DbConnection::Sqlite(sqlite) = conn else {
        unreachable!("a connection does not change backend");
    };
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(sqlite)?;
            Ok(value)
        }
        Err(e) => {
            AnsiTransactionManager::rollback_transaction(sqlite)?;
            Err(e)
        }
    }
}

/// Runs one statement on the concrete connection of either backend. For the few statements
/// diesel's `MultiConnection` cannot express (multi-row `INSERT`), the same query is built once
/// and executed per backend; this is the only place that matches on the backend for them.
#[macro_export]
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

/// Runs `$body` over `$rows` in fixed-size chunks (`&[T; N]` for N in 256, 64, 16, 4, 1,
/// largest first). diesel caches the prepared statement of an insert whose row count is part of
/// its type, so a push of any size reuses a handful of statements per connection instead of
/// having the database parse a new multi-row statement every time. `$body` may use `?` and
/// runs once per chunk with `$chunk` bound to the array.
#[macro_export]
macro_rules! in_cached_chunks {
    ($rows:expr, |$chunk:ident| $body:expr) => {{
        let mut rest = &$rows[..];
        while !rest.is_empty() {
            $crate::in_cached_chunks!(@sizes rest, $chunk, $body, 256, 64, 16, 4, 1);
        }
    }};
    (@sizes $rest:ident, $chunk:ident, $body:expr, $($n:literal),*) => {
        $(
            if $rest.len() >= $n {
                let (head, tail) = $rest.split_at($n);
                $rest = tail;
                if let Ok($chunk) = <&[_; $n]>::try_from(head) {
                    $body;
                }
                continue;
            }
        )*
    };
}

/// Whether the database answers a trivial query.
pub fn ping(conn: &mut DbConnection) -> Result<(), diesel::result::Error> {
    conn.batch_execute("SELECT 1")
}

/// Whether an error is a unique-constraint violation (the same on both backends).
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connect_timeout_is_added_unless_the_url_sets_one() {
        let t = std::time::Duration::from_millis(5000);
        assert_eq!(
            with_connect_timeout("postgres://h/db", t),
            "postgres://h/db?connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?sslmode=require", t),
            "postgres://h/db?sslmode=require&connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?connect_timeout=30", t),
            "postgres://h/db?connect_timeout=30"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db", std::time::Duration::from_millis(100)),
            "postgres://h/db?connect_timeout=2"
        );
    }

    #[test]
    fn a_libpq_message_never_carries_the_urls_credentials() {
        let url = "postgres://tether:s3cr%zzet%40x@db.internal:5432/tether";
        for message in [
            r#"invalid percent-encoded token: "s3cr%zzet%40x""#,
            "could not parse postgres://tether:s3cr%zzet%40x@db.internal:5432/tether",
            "user tether:s3cr%zzet%40x refused",
            "decoded s3cr%zzet@x",
        ] {
            let scrubbed = without_credentials(message, url);
            assert!(!scrubbed.contains("s3cr"), "{scrubbed}");
            assert!(scrubbed.contains("[redacted]"), "{scrubbed}");
        }
        assert_eq!(
            without_credentials("Connection refused", "postgres://u@h/db"),
            "Connection refused"
        );
    }
}
