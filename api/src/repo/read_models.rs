//! Queries over the typed read models: newest first, keyset-paginated, tombstoned documents and
//! documents without a time left out.

use crate::db::schema::{checkins, exercises, sessions};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::sync::read_model::{CheckinRow, ExerciseRow, SessionRow};
use diesel::prelude::*;

/// A time window and a page position.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Patient id.
    pub patient: String,
    /// Inclusive lower bound (ms), if any.
    pub from: Option<i64>,
    /// Exclusive upper bound (ms), if any.
    pub to: Option<i64>,
    /// Continue after this `(time, doc_id)`, exclusive.
    pub after: Option<(i64, String)>,
    /// Page size (one more is fetched to learn whether there is a next page).
    pub limit: i64,
}

/// Builds the list query for one read-model table: the tables differ only in their time column.
macro_rules! list_rows {
    ($conn:expr, $q:expr, $table:ident, $time:ident, $row:ty) => {{
        let q = $q;
        let mut query = $table::table
            .filter($table::patient_id.eq(&q.patient))
            .filter($table::deleted.eq(false))
            .filter($table::$time.is_not_null())
            .into_boxed();
        if let Some(from) = q.from {
            query = query.filter($table::$time.ge(from));
        }
        if let Some(to) = q.to {
            query = query.filter($table::$time.lt(to));
        }
        if let Some((t, doc)) = q.after.clone() {
            query = query.filter(
                $table::$time
                    .lt(t)
                    .or($table::$time.eq(t).and($table::doc_id.lt(doc))),
            );
        }
        query
            .order(($table::$time.desc(), $table::doc_id.desc()))
            .limit(q.limit + 1)
            .select(<$row>::as_select())
            .load::<$row>($conn)
    }};
}

/// Check-ins by `recorded_at`.
pub fn checkins(conn: &mut DbConnection, q: &ListQuery) -> Result<Vec<CheckinRow>, ApiError> {
    Ok(list_rows!(conn, q, checkins, recorded_at, CheckinRow)?)
}

/// Exercises by `started_at`.
pub fn exercises(conn: &mut DbConnection, q: &ListQuery) -> Result<Vec<ExerciseRow>, ApiError> {
    Ok(list_rows!(conn, q, exercises, started_at, ExerciseRow)?)
}

/// Sessions by `starts_at`.
pub fn sessions(conn: &mut DbConnection, q: &ListQuery) -> Result<Vec<SessionRow>, ApiError> {
    Ok(list_rows!(conn, q, sessions, starts_at, SessionRow)?)
}
