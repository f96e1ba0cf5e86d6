//! Hand-written statements that diesel keeps prepared.
//!
//! diesel never caches a `sql_query` statement (its text could be built at run time), so the
//! database parses and plans it again on every call: on SQLite's single writer the push path's
//! hand-written statements spent about a twentieth of the write lock in `sqlite3Prepare`. A
//! [`Fixed`] statement's text is a `&'static str`, so diesel may cache it per connection, keyed
//! by that text, like the statements it builds itself.
//!
//! The text uses PostgreSQL's placeholders on both backends: `$n` is the n-th bound value, and
//! may appear more than once (on SQLite each appearance becomes a `?` with the value bound
//! again). A `$` not followed by digits is plain text (SQLite's JSON paths, `'$[0]'`).

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::{Error, QueryResult};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};
use diesel::RunQueryDsl;
use std::marker::PhantomData;

/// A statement of fixed text and its bound values, run like diesel's `sql_query`.
pub struct Fixed<'a, DB: Backend> {
    sql: &'static str,
    params: Vec<Box<dyn Param<DB> + 'a>>,
}

impl<'a, DB: Backend> Fixed<'a, DB> {
    /// The statement `sql`, with nothing bound yet.
    pub fn new(sql: &'static str) -> Self {
        Fixed {
            sql,
            params: Vec::new(),
        }
    }

    /// Binds the next value (`$1` first) as SQL type `ST`.
    pub fn bind<ST, U>(mut self, value: U) -> Self
    where
        DB: HasSqlType<ST>,
        U: ToSql<ST, DB> + 'a,
        ST: 'a,
    {
        self.params.push(Box::new(Bound(value, PhantomData)));
        self
    }
}

/// A bound value, whatever its type.
trait Param<DB: Backend> {
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()>;
}

struct Bound<ST, U>(U, PhantomData<ST>);

impl<DB, ST, U> Param<DB> for Bound<ST, U>
where
    DB: Backend + HasSqlType<ST>,
    U: ToSql<ST, DB>,
{
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_bind_param::<ST, U>(&self.0)
    }
}

impl<DB: Backend> QueryFragment<DB> for Fixed<'_, DB> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut rest = self.sql;
        let mut used = 0;
        while let Some(at) = rest.find('$') {
            let after = &rest[at + 1..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                out.push_sql(&rest[..=at]);
                rest = after;
                continue;
            }
            out.push_sql(&rest[..at]);
            let param = after[..digits]
                .parse::<usize>()
                .ok()
                .and_then(|n| {
                    used = used.max(n);
                    self.params.get(n.checked_sub(1)?)
                })
                .ok_or_else(|| {
                    Error::QueryBuilderError(
                        format!("${} has no bound value", &after[..digits]).into(),
                    )
                })?;
            param.push(&mut out)?;
            rest = &after[digits..];
        }
        out.push_sql(rest);
        if used < self.params.len() {
            // A value bound to no placeholder: the statement is not the one meant (a `?`
            // written for `$n` would run with NULL there).
            return Err(Error::QueryBuilderError(
                format!(
                    "{} values bound, ${used} the last placeholder",
                    self.params.len()
                )
                .into(),
            ));
        }
        Ok(())
    }
}

impl<DB: Backend> QueryId for Fixed<'_, DB> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB: Backend> Query for Fixed<'_, DB> {
    type SqlType = Untyped;
}

impl<DB: Backend, Conn> RunQueryDsl<Conn> for Fixed<'_, DB> {}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use diesel::sql_types::{BigInt, Text};
    use diesel::sqlite::Sqlite;
    use diesel::{Connection, QueryableByName, SqliteConnection};

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Row {
        #[diesel(sql_type = Text)]
        a: String,
        #[diesel(sql_type = BigInt)]
        b: i64,
        #[diesel(sql_type = Text)]
        c: String,
    }

    #[test]
    fn placeholders_take_their_values_and_other_dollars_stay_text() {
        let q = Fixed::<Sqlite>::new(
            "SELECT $2 AS a, $1 + 1 AS b, json_extract('[\"x\"]', '$[0]') || $2 AS c",
        )
        .bind::<BigInt, _>(41)
        .bind::<Text, _>("y");
        assert_eq!(
            diesel::debug_query(&q).to_string(),
            "SELECT ? AS a, ? + 1 AS b, json_extract('[\"x\"]', '$[0]') || ? AS c -- binds: [\"y\", 41, \"y\"]"
        );
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let row: Row = q.get_result(&mut conn).unwrap();
        assert_eq!(
            row,
            Row {
                a: "y".into(),
                b: 42,
                c: "xy".into()
            }
        );
    }

    #[test]
    fn a_placeholder_without_a_value_is_an_error_not_a_panic() {
        let q = Fixed::<Sqlite>::new("SELECT $3 AS a").bind::<Text, _>("only one");
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let err = diesel::RunQueryDsl::execute(q, &mut conn).unwrap_err();
        assert!(err.to_string().contains("$3 has no bound value"), "{err}");
    }

    #[test]
    fn a_value_bound_to_no_placeholder_is_an_error() {
        let q = Fixed::<Sqlite>::new("SELECT ? AS a").bind::<Text, _>("lost");
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let err = diesel::RunQueryDsl::execute(q, &mut conn).unwrap_err();
        assert!(
            err.to_string().contains("1 values bound, $0 the last"),
            "{err}"
        );
    }

    #[test]
    fn diesel_may_keep_it_prepared_unlike_sql_query() {
        let fixed = Fixed::<Sqlite>::new("SELECT $1 AS a").bind::<Text, _>("x");
        assert!(QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&fixed, &Sqlite).unwrap());
        let raw = diesel::sql_query("SELECT $1 AS a").bind::<Text, _>("x");
        assert!(!QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&raw, &Sqlite).unwrap());
    }
}
