//! Fixed-window attempt counters.

use crate::db::schema::rate_limits;
use crate::db::DbConnection;
use crate::error::ApiError;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use std::time::Duration;

/// A counter's state after an update.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct Window {
    /// Attempts counted in this window.
    #[diesel(sql_type = BigInt)]
    pub hits: i64,
    /// When the window began (ms).
    #[diesel(sql_type = BigInt)]
    pub window_start: i64,
}

impl Window {
    /// Seconds until this window ends, at least 1.
    pub fn retry_after_secs(&self, now_ms: i64, window: Duration) -> u64 {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let remaining_ms = (self.window_start.saturating_add(window_ms) - now_ms).max(1_000);
        u64::try_from((remaining_ms + 999) / 1_000).unwrap_or(1)
    }
}

fn window_ms(window: Duration) -> i64 {
    i64::try_from(window.as_millis()).unwrap_or(i64::MAX)
}

/// Counts one hit in `bucket`, starting a new window when the old one has ended, in one atomic
/// statement (an upsert both backends understand), and returns the counter.
pub fn hit(
    conn: &mut DbConnection,
    bucket: &str,
    now_ms: i64,
    window: Duration,
) -> Result<Window, ApiError> {
    let expired_before = now_ms - window_ms(window);
    let row = diesel::sql_query(
        "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket) DO UPDATE SET \
           hits = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.hits + 1 END, \
           window_start = CASE WHEN rate_limits.window_start <= $4 THEN $5 ELSE rate_limits.window_start END \
         RETURNING CAST(hits AS BIGINT) AS hits, window_start",
    )
    .bind::<Text, _>(bucket)
    .bind::<BigInt, _>(now_ms)
    .bind::<BigInt, _>(expired_before)
    .bind::<BigInt, _>(expired_before)
    .bind::<BigInt, _>(now_ms)
    .get_result::<Window>(conn)?;
    Ok(row)
}

/// The counter of `bucket` if its window is still open.
pub fn current(
    conn: &mut DbConnection,
    bucket: &str,
    now_ms: i64,
    window: Duration,
) -> Result<Option<Window>, ApiError> {
    let row = rate_limits::table
        .filter(rate_limits::bucket.eq(bucket))
        .select((rate_limits::hits, rate_limits::window_start))
        .first::<(i32, i64)>(conn)
        .optional()?;
    Ok(row
        .filter(|(_, start)| *start > now_ms - window_ms(window))
        .map(|(hits, window_start)| Window {
            hits: i64::from(hits),
            window_start,
        }))
}

/// Forgets a bucket.
pub fn clear(conn: &mut DbConnection, bucket: &str) -> Result<(), ApiError> {
    diesel::delete(rate_limits::table.filter(rate_limits::bucket.eq(bucket))).execute(conn)?;
    Ok(())
}

/// Sets `bucket` to one hit in a window starting now, whatever it held: how a fact with a time
/// ("this account signed in from this address") is remembered.
pub fn mark(conn: &mut DbConnection, bucket: &str, now_ms: i64) -> Result<(), ApiError> {
    diesel::sql_query(
        "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket) DO UPDATE SET window_start = $3, hits = 1",
    )
    .bind::<Text, _>(bucket)
    .bind::<BigInt, _>(now_ms)
    .bind::<BigInt, _>(now_ms)
    .execute(conn)?;
    Ok(())
}

/// Takes one hit back from `bucket` (never below zero), in one statement.
pub fn refund(conn: &mut DbConnection, bucket: &str) -> Result<(), ApiError> {
    diesel::sql_query("UPDATE rate_limits SET hits = hits - 1 WHERE bucket = $1 AND hits > 0")
        .bind::<Text, _>(bucket)
        .execute(conn)?;
    Ok(())
}
