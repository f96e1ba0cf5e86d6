//! SQLite's WAL checkpoints, off the write path.
//!
//! By default SQLite checkpoints inside the commit that pushes the write-ahead log past 1,000
//! pages: that writer copies the log back into the database file while every other writer of
//! the process waits for it (a twelfth of a push's time under load). The server's connections
//! turn that off, and one thread of the pool's own copies the log in the background with
//! passive checkpoints, which never wait for readers or writers and run beside them.

use super::SQLITE_PRAGMAS;
use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// What pooled connections run so that only the checkpointer copies the log.
pub const NO_AUTOCHECKPOINT: &str = "PRAGMA wal_autocheckpoint = 0;";

/// How often the log is copied back: a fraction of a second of writes at most.
const INTERVAL: Duration = Duration::from_millis(100);

/// Keeps the checkpointer running; it stops within [`INTERVAL`] of this being dropped (with
/// the pool that owns it).
#[derive(Debug)]
pub struct Checkpointer {
    _alive: Arc<()>,
}

impl Checkpointer {
    /// Opens a connection of its own to `path` and starts checkpointing on a thread.
    pub fn start(path: &str) -> Result<Self, String> {
        let mut conn = SqliteConnection::establish(path)
            .map_err(|e| format!("cannot open the database for checkpoints: {e}"))?;
        conn.batch_execute(SQLITE_PRAGMAS)
            .map_err(|e| format!("cannot set up the checkpoint connection: {e}"))?;
        let alive = Arc::new(());
        let watch: Weak<()> = Arc::downgrade(&alive);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(conn, watch))
            .map_err(|e| format!("cannot start the checkpoint thread: {e}"))?;
        Ok(Checkpointer { _alive: alive })
    }
}

fn run(mut conn: SqliteConnection, watch: Weak<()>) {
    while watch.upgrade().is_some() {
        std::thread::sleep(INTERVAL);
        // PASSIVE copies what no reader still needs and never blocks; a failure (a busy file,
        // a full disk) is retried on the next round, and the log keeps every commit meanwhile.
        if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
            tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
        }
    }
    // The pool is gone: copy what is left so the log does not outlive it.
    let _ = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);");
}
