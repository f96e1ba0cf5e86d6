//! Group commit on a writer thread: SQLite writes that arrive while another write transaction
//! runs share the next transaction instead of taking one each, and every grouped transaction
//! runs on one connection, on one thread kept for writing.
//!
//! SQLite admits one writer at a time. A pooled connection that writes after another connection
//! did must re-read every page the other changed (its page cache is dropped), and each commit
//! rewrites the write-ahead log's copy of every page the transaction touched, however few rows it
//! added; with many phones pushing a few ops each, that re-reading, the per-commit writes and the
//! hand-over of the write lock between threads cost more than the rows. So each database opened
//! with [`super::build_pool`] has a [`Writer`]: its thread takes every queued write, runs each in
//! a savepoint of one `BEGIN IMMEDIATE` transaction on the writer's own connection, commits once,
//! and hands every writer its result.
//!
//! The transactions run on a thread of their own, not on whichever waiting request thread
//! happened to be free, because of where SQLite's memory comes from: its page cache, statement
//! journals and b-tree scratch space are `malloc`ed and freed by the thread writing, and when
//! that role moved between request threads, each write freed what an earlier one had allocated
//! in another thread's `malloc` arena and waited for that arena's lock, held by a thread busy
//! with HTTP (and on two cores, often not running), all while holding the write lock. Profiles
//! of those waits are in docs/performance.md.
//!
//! What each writer sees is unchanged: its work is all-or-nothing (a failing write rolls back to
//! its savepoint and the others go on), it is answered only after the shared commit is durable,
//! and if the commit fails every writer of the group gets the error. PostgreSQL has no single
//! writer to queue for: there each write is a transaction of its own.

use super::checkpoint::LOG_PRAGMAS;
use super::fixed_sql::Fixed;
use super::{write_tx, DbConnection, WriterGuard, SQLITE_PRAGMAS};
use crate::error::ApiError;
use diesel::connection::{
    AnsiTransactionManager, Connection, SimpleConnection, TransactionManager,
};
use diesel::sql_types::Text;
use diesel::{RunQueryDsl, SqliteConnection};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;

/// Most writes one transaction takes, so that the first writer of a group is not kept waiting
/// behind an endless stream of later ones.
const MAX_GROUP: usize = 32;

/// Called with the shared commit's outcome, once.
type Settle = Box<dyn FnOnce(Result<(), String>) + Send>;
/// One queued write: runs in the writer's transaction (or, given no connection because the
/// transaction could not begin, does not run) and returns how to settle its writer.
type Job = Box<dyn FnOnce(Option<&mut DbConnection>) -> Settle + Send>;

/// The writes waiting for a transaction, and whether the writer still takes them.
struct Queue {
    jobs: VecDeque<Job>,
    open: bool,
}

/// What the writers and the writer thread share.
struct Shared {
    queue: Mutex<Queue>,
    /// Woken when a write is queued or the writer closes.
    arrived: Condvar,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One SQLite database's writer: its queue and the thread that owns its connection. Dropping
/// it lets the thread finish the writes already queued, then stops it.
pub struct Writer {
    /// The database file as SQLite names it (see [`file_of`]).
    file: String,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("file", &self.file).finish()
    }
}

/// The writers of the databases this process has open, by file; a pool owns its writer, so
/// an entry lives as long as its pool.
static WRITERS: Mutex<Vec<Weak<Writer>>> = Mutex::new(Vec::new());

#[derive(diesel::QueryableByName)]
struct MainFile {
    #[diesel(sql_type = Text)]
    file: String,
}

/// The file of the connection's main database, as SQLite resolved it (absolute), so that two
/// spellings of one path find one writer. Asked on every write, so kept prepared.
fn file_of(conn: &mut SqliteConnection) -> Result<String, diesel::result::Error> {
    Ok(
        Fixed::new("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .get_result::<MainFile>(conn)?
            .file,
    )
}

impl Writer {
    /// Opens the writer connection of the SQLite database at `path`, starts its thread and
    /// registers it.
    pub fn open(path: &str) -> Result<Arc<Writer>, String> {
        let mut conn = SqliteConnection::establish(path)
            .map_err(|e| format!("cannot open the database for writing: {e}"))?;
        conn.batch_execute(SQLITE_PRAGMAS)
            .and_then(|()| conn.batch_execute(LOG_PRAGMAS))
            .map_err(|e| format!("cannot set up the writer connection: {e}"))?;
        let file = file_of(&mut conn).map_err(|e| format!("cannot name the database file: {e}"))?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                open: true,
            }),
            arrived: Condvar::new(),
        });
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || run(DbConnection::Sqlite(conn), &shared)
            })
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        let writer = Arc::new(Writer {
            file,
            shared,
            thread: Some(thread),
        });
        let mut all = WRITERS.lock().unwrap_or_else(PoisonError::into_inner);
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&writer));
        Ok(writer)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shared.queue().open = false;
        self.shared.arrived.notify_all();
        if let Some(thread) = self.thread.take() {
            // It returns once the queue is empty. It catches every panic of a group, and the
            // writers of a group it could not settle were answered with an error when their
            // channels dropped, so a failed join has nobody left to tell.
            let _ = thread.join();
        }
    }
}

/// The writer thread: runs queued writes in groups until the writer closes and the queue is
/// empty. A group's writers that it cannot settle (a bug in this module panicking) learn so
/// from their dropped answer channels, and the thread goes on with the next group.
fn run(mut conn: DbConnection, shared: &Shared) {
    loop {
        let group: Vec<Job> = {
            let mut q = shared.queue();
            while q.jobs.is_empty() && q.open {
                q = shared
                    .arrived
                    .wait(q)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if q.jobs.is_empty() {
                return;
            }
            let n = q.jobs.len().min(MAX_GROUP);
            q.jobs.drain(..n).collect()
        };
        if catch_unwind(AssertUnwindSafe(|| run_group(&mut conn, group))).is_err() {
            // Whatever the panic left open is undone, so the next group starts clean.
            let _ = undo_to(&mut conn, 0);
        }
    }
}

/// The writer of the database `conn` is open on, if a pool registered one.
fn writer_of(conn: &mut SqliteConnection) -> Result<Option<Arc<Writer>>, ApiError> {
    let file = file_of(conn)?;
    let all = WRITERS.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(all
        .iter()
        .filter_map(Weak::upgrade)
        .find(|w| w.file == file))
}

/// Runs `f` as one all-or-nothing write and returns once it is committed: on SQLite inside a
/// transaction shared with the writes queued at the same moment, on the database's writer
/// thread (a connection from elsewhere than [`super::build_pool`] gets a transaction of its
/// own); on PostgreSQL in a transaction of its own. `conn` must not be inside a transaction.
pub fn write<T, F>(conn: &mut DbConnection, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let writer = match conn {
        DbConnection::Pg(_) => return conn.transaction(f),
        DbConnection::Sqlite(sqlite) => writer_of(sqlite)?,
    };
    let Some(writer) = writer else {
        return write_tx(conn, f);
    };
    let (answer, outcome) = mpsc::sync_channel::<Result<T, ApiError>>(1);
    let job: Job = Box::new(move |conn| {
        // A savepoint of the writer's transaction: an error (or a panic) undoes only this write.
        let result = conn.map(|conn| {
            catch_unwind(AssertUnwindSafe(|| conn.transaction(f))).unwrap_or_else(|_| {
                // diesel leaves open every savepoint the panicking code had opened (its own and
                // any nested ones): undo them all, down to the writer's transaction, or the
                // shared commit would keep half of this write.
                Err(ApiError::internal(match undo_to(conn, 1) {
                    Ok(()) => "a write panicked".to_string(),
                    Err(e) => format!("a write panicked and could not be undone: {e}"),
                }))
            })
        });
        Box::new(move |committed: Result<(), String>| {
            let outcome = match (committed, result) {
                (Ok(()), Some(result)) => result,
                // Its own error says more than the transaction's.
                (Err(_), Some(Err(e))) => Err(e),
                (Err(cause), _) => Err(ApiError::internal(cause)),
                (Ok(()), None) => Err(ApiError::internal("the write was not run")),
            };
            // The writer waits for this answer, so the channel has room for it.
            let _ = answer.send(outcome);
        })
    });

    {
        let mut q = writer.shared.queue();
        if !q.open {
            return Err(ApiError::internal("the database writer has stopped"));
        }
        q.jobs.push_back(job);
    }
    writer.shared.arrived.notify_one();
    outcome.recv().unwrap_or_else(|_| {
        Err(ApiError::internal(
            "the database writer stopped before answering this write",
        ))
    })
}

/// How many transactions and savepoints diesel has open on `conn`.
fn depth(conn: &mut DbConnection) -> Result<u32, diesel::result::Error> {
    Ok(
        <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth()?
            .map_or(0, std::num::NonZeroU32::get),
    )
}

/// Rolls back savepoints (and the transaction) until `keep` levels are left open.
fn undo_to(conn: &mut DbConnection, keep: u32) -> Result<(), diesel::result::Error> {
    while depth(conn)? > keep {
        <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)?;
    }
    Ok(())
}

/// Runs one group in one transaction on `conn` and settles every writer in it.
fn run_group(conn: &mut DbConnection, group: Vec<Job>) {
    let _writer = WriterGuard::acquire();
    let DbConnection::Sqlite(sqlite) = conn else {
        unreachable!("only SQLite writes are grouped");
    };
    if let Err(e) = AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE") {
        let cause = format!("cannot begin a write transaction: {e}");
        for job in group {
            job(None)(Err(cause.clone()));
        }
        return;
    }
    let settles: Vec<Settle> = group.into_iter().map(|job| job(Some(&mut *conn))).collect();
    // Every job closed what it opened (or was undone to here); if one could not be, committing
    // would release a savepoint instead, so the whole group is undone and fails.
    let committed = match depth(conn) {
        Ok(1) => {
            let DbConnection::Sqlite(sqlite) = &mut *conn else {
                unreachable!("a connection does not change backend");
            };
            AnsiTransactionManager::commit_transaction(sqlite)
                .map_err(|e| format!("the write transaction could not commit: {e}"))
        }
        Ok(open) => Err(format!("{open} transactions left open by a write")),
        Err(e) => Err(format!("the write transaction is unusable: {e}")),
    };
    if committed.is_err() {
        let _ = undo_to(conn, 0);
    }
    for settle in settles {
        settle(committed.clone());
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::db::build_pool;
    use crate::settings::DatabaseSettings;
    use diesel::connection::SimpleConnection;
    use diesel::sql_types::BigInt;
    use diesel::RunQueryDsl;
    use std::time::Duration;

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn insert(conn: &mut DbConnection, n: i64) -> Result<(), ApiError> {
        diesel::sql_query("INSERT INTO t (n) VALUES ($1)")
            .bind::<BigInt, _>(n)
            .execute(conn)?;
        Ok(())
    }

    fn rows(conn: &mut DbConnection) -> i64 {
        diesel::sql_query("SELECT COUNT(*) AS n FROM t")
            .get_result::<Count>(conn)
            .unwrap()
            .n
    }

    /// A pool on a fresh file with table `t`; the file is removed when dropped.
    struct TempDb {
        pool: Option<crate::db::DbPool>,
        path: String,
    }

    impl TempDb {
        fn new() -> Self {
            let path = std::env::temp_dir()
                .join(format!("tether-group-{}.db", uuid::Uuid::new_v4()))
                .to_string_lossy()
                .to_string();
            let settings = DatabaseSettings::from_url(&path, 24, Duration::from_secs(10));
            let pool = build_pool(&settings).unwrap();
            pool.get()
                .unwrap()
                .batch_execute("CREATE TABLE t (n BIGINT PRIMARY KEY NOT NULL)")
                .unwrap();
            TempDb {
                pool: Some(pool),
                path,
            }
        }

        fn pool(&self) -> &crate::db::DbPool {
            self.pool.as_ref().unwrap()
        }
    }

    impl Drop for TempDb {
        fn drop(&mut self) {
            drop(self.pool.take());
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.path));
            }
        }
    }

    /// Writers on many threads at once, every fourth of them failing after its insert and one
    /// panicking: each learns its own outcome, and exactly the successful writes are stored.
    #[test]
    fn concurrent_writers_each_get_their_own_outcome_and_only_theirs_is_undone() {
        let db = TempDb::new();
        let pool = db.pool();

        let writers: Vec<_> = (0..20_i64)
            .map(|n| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let mut conn = pool.get().unwrap();
                    write(&mut conn, move |conn| {
                        insert(conn, n)?;
                        if n == 7 {
                            panic!("a bug in one write");
                        }
                        if n % 4 == 0 {
                            return Err(ApiError::internal(format!("refused {n}")));
                        }
                        Ok(n)
                    })
                })
            })
            .collect();
        for (n, w) in (0..20_i64).zip(writers) {
            match w.join().unwrap() {
                Ok(got) => assert!(n % 4 != 0 && n != 7 && got == n, "{n} -> {got}"),
                Err(e) => assert!(n % 4 == 0 || n == 7, "{n} failed: {e:?}"),
            }
        }
        // 20 writes, 5 refused (0, 4, 8, 12, 16), one panicked (7).
        assert_eq!(rows(&mut pool.get().unwrap()), 14);

        // A write that repeats another's key fails alone, without undoing the first.
        let mut conn = pool.get().unwrap();
        assert!(write(&mut conn, |conn| insert(conn, 1)).is_err());
        assert_eq!(rows(&mut conn), 14);
    }

    /// A write that panics inside a savepoint of its own leaves nothing open: later writes
    /// commit and are seen by other connections, and nothing of the panicking write is kept.
    #[test]
    fn a_panic_inside_nested_savepoints_is_undone_entirely() {
        let db = TempDb::new();
        let pool = db.pool();
        let panicked = std::thread::spawn({
            let pool = pool.clone();
            move || {
                write(&mut pool.get().unwrap(), |conn| {
                    insert(conn, 100)?;
                    conn.transaction::<(), ApiError, _>(|conn| {
                        insert(conn, 101)?;
                        panic!("a bug deep in one write")
                    })
                })
            }
        })
        .join()
        .unwrap();
        assert!(panicked.is_err());
        write(&mut pool.get().unwrap(), |conn| insert(conn, 102)).unwrap();
        // Read on another connection: only what was committed is there.
        let mut reader = pool.get().unwrap();
        assert_eq!(rows(&mut reader), 1);
        write(&mut pool.get().unwrap(), |conn| insert(conn, 100)).unwrap();
        assert_eq!(rows(&mut reader), 2);
    }

    /// Every write runs on the database's one writer thread, whichever thread asked for it: the
    /// memory SQLite allocates while writing stays with one thread (see the module's comment).
    #[test]
    fn every_write_runs_on_the_writer_thread() {
        let db = TempDb::new();
        let askers: Vec<_> = (0..8_i64)
            .map(|n| {
                let pool = db.pool().clone();
                std::thread::spawn(move || {
                    let ran_on = write(&mut pool.get().unwrap(), move |conn| {
                        insert(conn, n)?;
                        Ok(std::thread::current().id())
                    })
                    .unwrap();
                    (std::thread::current().id(), ran_on)
                })
            })
            .collect();
        let threads: Vec<_> = askers.into_iter().map(|t| t.join().unwrap()).collect();
        let writer = threads[0].1;
        assert!(threads.iter().all(|&(_, ran_on)| ran_on == writer));
        assert!(threads.iter().all(|&(asker, _)| asker != writer));
        assert_eq!(rows(&mut db.pool().get().unwrap()), 8);
    }

    /// Each database has its own writer: a write through one pool never lands in another's file.
    #[test]
    fn writes_land_in_the_database_of_the_connection_they_came_from() {
        let (a, b) = (TempDb::new(), TempDb::new());
        write(&mut a.pool().get().unwrap(), |conn| insert(conn, 1)).unwrap();
        write(&mut b.pool().get().unwrap(), |conn| insert(conn, 2)).unwrap();
        write(&mut b.pool().get().unwrap(), |conn| insert(conn, 3)).unwrap();
        assert_eq!(rows(&mut a.pool().get().unwrap()), 1);
        assert_eq!(rows(&mut b.pool().get().unwrap()), 2);
    }
}
