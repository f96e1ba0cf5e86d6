//! Reads that must see one snapshot of the database.

use super::DbConnection;
use diesel::connection::SimpleConnection;
use diesel::Connection;

/// Runs `f` in one transaction whose statements all see the same snapshot. SQLite's
/// transactions do already; PostgreSQL's default gives each statement its own, so it is asked
/// for REPEATABLE READ.
pub fn read_snapshot<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    conn.transaction(|conn| {
        if let DbConnection::Pg(pg) = conn {
            pg.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")?;
        }
        f(conn)
    })
}
