//! SQLite's WAL checkpoints, mostly off the write path, with a bounded log.
//!
//! By default SQLite checkpoints inside the commit that pushes the write-ahead log past 1,000
//! pages: that writer copies the log back into the database file while every other writer of
//! the process waits for it (about an eighth of the write lock's time under load). The server's
//! connections turn that off, and one thread of the pool's own copies the log in the background
//! with passive checkpoints, which never wait for readers or writers.
//!
//! A passive checkpoint alone never lets the log start over while writes keep coming (a writer
//! restarts it only after a checkpoint has copied every frame, and new frames keep arriving):
//! under a sustained load the log grew to 2.9 GB. So once the log passes the restart size
//! (`DatabaseSettings::wal_restart_frames`, 64 MiB by default), the thread takes the process's
//! write lock and runs a `RESTART` checkpoint: with the passive
//! rounds having copied nearly everything, it finishes the rest, and the next write starts the
//! log from the beginning of the same file, which keeps its size (up to the limit in
//! [`LOG_PRAGMAS`]).
//!
//! A `RESTART` must wait for every reader of the log to finish, and it waits holding the write
//! lock: behind a reader that stays (a backup, an open `sqlite3` shell, a long report), every
//! push waited out `busy_timeout` (10 s) again and again, throughput fell a hundredfold and some
//! pushes answered 503. So the checkpointer never waits for anyone: its connection has no busy
//! timeout, it tries a `RESTART` only when the passive round just copied every frame of the log
//! (no reader holds an older snapshot of it), and a `RESTART` that meets a reader gives up at
//! once (SQLite then finishes it as a passive one) and is tried again next round. While a reader
//! stays, the log grows instead; it starts over in the first round after the reader has gone.
//! Writing over blocks the file already has cost the pushes of a load test 10–30 % less of the
//! write lock than emptying it with `TRUNCATE`, after which every commit had the file system
//! find new blocks and cache pages for the log.

use super::{WriterGuard, SQLITE_PRAGMAS};
use diesel::connection::SimpleConnection;
use diesel::sql_types::Integer;
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often the log is copied back: a fraction of a second of writes at most.
const INTERVAL: Duration = Duration::from_millis(100);

/// What the server's connections run: only the checkpointer copies the log, and a log that grew
/// past the restart size (readers kept it from starting over) is cut back to 64 MiB when it
/// does start over.
pub const LOG_PRAGMAS: &str =
    "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;";

/// Keeps the checkpointer running; it stops within [`INTERVAL`] of this being dropped (with
/// the pool that owns it).
#[derive(Debug)]
pub struct Checkpointer {
    _alive: Arc<()>,
}

/// What `PRAGMA wal_checkpoint` reports.
#[derive(diesel::QueryableByName)]
struct Progress {
    /// 1 when a `RESTART` could not finish (a reader or writer was in the way).
    #[diesel(sql_type = Integer)]
    busy: i32,
    /// Frames in the log.
    #[diesel(sql_type = Integer)]
    log: i32,
    /// Frames of the log copied back into the database.
    #[diesel(sql_type = Integer)]
    checkpointed: i32,
}

/// The checkpointer's own connection settings: the server's, except that it never waits for a
/// lock (see the module's comment).
const CHECKPOINTER_PRAGMAS: &str = "PRAGMA busy_timeout = 0;";

impl Checkpointer {
    /// Opens a connection of its own to `path` and starts checkpointing on a thread; the log is
    /// emptied whenever it passes `restart_frames`.
    pub fn start(path: &str, restart_frames: i32) -> Result<Self, String> {
        let mut conn = SqliteConnection::establish(path)
            .map_err(|e| format!("cannot open the database for checkpoints: {e}"))?;
        conn.batch_execute(SQLITE_PRAGMAS)
            .and_then(|()| conn.batch_execute(CHECKPOINTER_PRAGMAS))
            .map_err(|e| format!("cannot set up the checkpoint connection: {e}"))?;
        let alive = Arc::new(());
        let watch: Weak<()> = Arc::downgrade(&alive);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(conn, watch, restart_frames))
            .map_err(|e| format!("cannot start the checkpoint thread: {e}"))?;
        Ok(Checkpointer { _alive: alive })
    }
}

fn checkpoint(conn: &mut SqliteConnection, mode: &str) -> Result<Progress, String> {
    diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})"))
        .get_result::<Progress>(conn)
        .map_err(|e| e.to_string())
}

fn run(mut conn: SqliteConnection, watch: Weak<()>, restart_frames: i32) {
    while watch.upgrade().is_some() {
        std::thread::sleep(INTERVAL);
        // PASSIVE copies what no reader still needs and never blocks; a failure (a busy file,
        // a full disk) is retried on the next round, and the log keeps every commit meanwhile.
        match checkpoint(&mut conn, "PASSIVE") {
            // Every frame copied: no reader holds an older snapshot, so a restart can finish
            // without waiting (and if a reader came meanwhile, it gives up at once).
            Ok(p) if p.log > restart_frames && p.checkpointed == p.log => {
                let _writer = WriterGuard::acquire();
                match checkpoint(&mut conn, "RESTART") {
                    Ok(r) if r.busy != 0 => {
                        tracing::debug!("WAL restart met a reader; retrying next round");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "WAL restart failed; retrying"),
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; retrying"),
        }
    }
    // The pool is gone: copy what is left so the log does not outlive it.
    let _ = checkpoint(&mut conn, "PASSIVE");
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// Under writes that never pause, the log still starts over once it passes the limit.
    #[test]
    fn the_log_stays_bounded_under_sustained_writes() {
        let path = std::env::temp_dir()
            .join(format!("tether-ckpt-{}.db", uuid::Uuid::new_v4()))
            .to_string_lossy()
            .to_string();
        let mut writer = SqliteConnection::establish(&path).unwrap();
        writer.batch_execute(SQLITE_PRAGMAS).unwrap();
        writer.batch_execute(LOG_PRAGMAS).unwrap();
        writer
            .batch_execute("CREATE TABLE t (n INTEGER PRIMARY KEY, pad TEXT NOT NULL)")
            .unwrap();
        let limit = 256; // frames: 1 MiB
        let checkpointer = Checkpointer::start(&path, limit).unwrap();
        let started = std::time::Instant::now();
        let mut largest = 0;
        let mut n = 0;
        // About 10 MiB a second for three seconds, one small transaction after another.
        while started.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(2));
            let _lock = WriterGuard::acquire();
            writer.batch_execute("BEGIN IMMEDIATE").unwrap();
            for _ in 0..10 {
                n += 1;
                writer
                    .batch_execute(&format!(
                        "INSERT INTO t (n, pad) VALUES ({n}, printf('%.2000c', 'x'))"
                    ))
                    .unwrap();
            }
            writer.batch_execute("COMMIT").unwrap();
            let wal = std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len());
            largest = largest.max(wal);
        }
        drop(checkpointer);
        drop(writer);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
        // Without the restarts the log would hold every write: more than 8 MiB of rows.
        assert!(n > 4_500, "only {n} rows written");
        assert!(
            largest < 8 * 1024 * 1024,
            "the log reached {largest} bytes after {n} rows"
        );
    }
}
