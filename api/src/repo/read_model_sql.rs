//! The text of every read-model statement, built from a kind's [`ReadModel`] declaration.
//!
//! A statement's text depends only on the kind, the backend and its shape (how many rows an
//! insert carries, which bounds a list has), so each is built once and kept for the life of the
//! process: [`Fixed`](crate::db::fixed_sql::Fixed) needs a `&'static str` to let diesel keep the
//! statement prepared per connection. There are a few dozen at most.
//!
//! Names come from sync-core's declarations (identifiers the `record_kind!` macro checked), never
//! from a request; every value is bound.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use sync_core::kinds::{read_model, Column, ColumnType, ReadModel};
use sync_core::DocKind;

/// Which database a statement is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

/// The bounds a list has. Its values are bound in one fixed order: `$1` patient, `$2` from,
/// `$3` to, `$4` and `$5` the cursor's time and document, `$6` the limit; a bound the list does
/// not have is bound but not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bounds {
    /// `listed_by >= $2`.
    pub from: bool,
    /// `listed_by < $3`.
    pub to: bool,
    /// After the cursor `($4, $5)`.
    pub after: bool,
}

/// One statement of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Statement {
    /// A multi-row `INSERT` of this many rows, every column bound (SQLite).
    InsertRows(usize),
    /// An `INSERT` of rows given as one JSON array (PostgreSQL).
    InsertJson,
    /// Deletes the rows of some documents of one patient.
    Delete(Dialect),
    /// The listed, not deleted documents of one patient, newest first: `t`, `doc_id` and `item`
    /// (the document's JSON, `patient` included when `with_patient`).
    List {
        /// The database.
        dialect: Dialect,
        /// The bounds.
        bounds: Bounds,
        /// Whether `item` holds `patient`.
        with_patient: bool,
    },
    /// One document of one patient (`$1`, `$2`), unless deleted: `item` with `patient`.
    Find(Dialect),
}

/// The text of `statement` for `kind`, built on first use. `None` for a kind without a read
/// model.
pub fn text(kind: DocKind, statement: Statement) -> Option<&'static str> {
    static BUILT: OnceLock<Mutex<HashMap<(DocKind, Statement), &'static str>>> = OnceLock::new();
    let rm = read_model(kind)?;
    let built = BUILT.get_or_init(Mutex::default);
    // A poisoned map still holds only finished texts.
    let mut built = built
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Some(
        built
            .entry((kind, statement))
            .or_insert_with(|| Box::leak(build(rm, statement).into_boxed_str())),
    )
}

fn build(rm: &ReadModel, statement: Statement) -> String {
    let table = rm.table;
    match statement {
        Statement::InsertRows(n) => {
            let columns: Vec<Column> = rm.columns().collect();
            let mut sql = format!("INSERT INTO {table} ({}) VALUES ", names(&columns));
            let mut param = 0;
            for row in 0..n {
                sql.push_str(if row == 0 { "(" } else { ", (" });
                for c in 0..columns.len() {
                    param += 1;
                    let sep = if c == 0 { "" } else { ", " };
                    let _ = write!(sql, "{sep}${param}");
                }
                sql.push(')');
            }
            sql
        }
        Statement::InsertJson => {
            let columns: Vec<Column> = rm.columns().collect();
            let names = names(&columns);
            format!(
                "INSERT INTO {table} ({names}) SELECT {names} \
                 FROM json_populate_recordset(NULL::{table}, $1::json)"
            )
        }
        // Each document is found on its whole primary key, a plan no statistics can spoil: on
        // PostgreSQL by a fenced LATERAL probe per id (see `sync_store::fields_of_docs`) whose
        // row addresses the delete then takes, all in one statement; on SQLite by one prepared
        // statement per document, in-process.
        Statement::Delete(Dialect::Postgres) => format!(
            "DELETE FROM {table} WHERE ctid = ANY (ARRAY(SELECT o.ctid \
             FROM unnest($2::text[]) AS d (doc_id) CROSS JOIN LATERAL \
             (SELECT ctid FROM {table} WHERE patient_id = $1 AND doc_id = d.doc_id OFFSET 0) AS o))"
        ),
        Statement::Delete(Dialect::Sqlite) => {
            format!("DELETE FROM {table} WHERE patient_id = $1 AND doc_id = $2")
        }
        Statement::List {
            dialect,
            bounds,
            with_patient,
        } => {
            let t = rm.listed_by;
            let mut sql = format!(
                "SELECT {t} AS t, doc_id, {} AS item FROM {table} \
                 WHERE patient_id = $1 AND NOT deleted AND {t} IS NOT NULL",
                item(rm, dialect, with_patient)
            );
            if bounds.from {
                let _ = write!(sql, " AND {t} >= $2");
            }
            if bounds.to {
                let _ = write!(sql, " AND {t} < $3");
            }
            if bounds.after {
                let _ = write!(sql, " AND ({t} < $4 OR ({t} = $4 AND doc_id < $5))");
            }
            let _ = write!(sql, " ORDER BY {t} DESC, doc_id DESC LIMIT $6");
            sql
        }
        Statement::Find(dialect) => format!(
            "SELECT {} AS item FROM {table} WHERE patient_id = $1 AND doc_id = $2 AND NOT deleted",
            item(rm, dialect, true)
        ),
    }
}

fn names(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The expression of a document's JSON: `id` (and `patient`), then every field under its name,
/// in declaration order, typed as the view types it (a boolean as `true`/`false`, a set as an
/// array).
fn item(rm: &ReadModel, dialect: Dialect, with_patient: bool) -> String {
    let mut args = Vec::with_capacity(2 * (rm.fields.len() + 2));
    if with_patient {
        args.push("'patient', patient_id".to_string());
    }
    args.push("'id', doc_id".to_string());
    for c in rm.fields {
        let name = c.name;
        let value = match (dialect, c.ty) {
            (Dialect::Sqlite, ColumnType::Boolean) => {
                format!("CASE {name} WHEN 1 THEN json('true') WHEN 0 THEN json('false') END")
            }
            (Dialect::Sqlite, ColumnType::JsonArray) => format!("json({name})"),
            (Dialect::Postgres, ColumnType::JsonArray) => format!("{name}::json"),
            _ => name.to_string(),
        };
        args.push(format!("'{name}', {value}"));
    }
    match dialect {
        Dialect::Sqlite => format!("json_object({})", args.join(", ")),
        // json_build_object takes at most 100 arguments: 49 fields and the key.
        Dialect::Postgres => format!("json_build_object({})::text", args.join(", ")),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn a_multi_row_insert_numbers_every_value_once() {
        let sql = text(DocKind::Session, Statement::InsertRows(2)).unwrap();
        let columns = read_model(DocKind::Session).unwrap().columns().count();
        assert!(sql.starts_with("INSERT INTO sessions (patient_id, doc_id, deleted, kind,"));
        assert!(sql.ends_with(&format!(", ${})", 2 * columns)), "{sql}");
        assert_eq!(sql.matches('$').count(), 2 * columns);
    }

    #[test]
    fn a_list_has_only_the_bounds_it_is_asked_for() {
        let bounds = Bounds {
            from: true,
            to: false,
            after: true,
        };
        let sql = text(
            DocKind::Checkin,
            Statement::List {
                dialect: Dialect::Sqlite,
                bounds,
                with_patient: false,
            },
        )
        .unwrap();
        assert!(sql.contains("recorded_at >= $2"), "{sql}");
        assert!(!sql.contains("$3"), "{sql}");
        assert!(sql.contains("doc_id < $5"), "{sql}");
        assert!(sql.contains("'crisis', CASE crisis WHEN 1"), "{sql}");
        assert!(sql.contains("'triggers', json(triggers)"), "{sql}");
        assert!(!sql.contains("'patient'"), "{sql}");
    }

    #[test]
    fn a_text_is_built_once_and_a_kind_without_a_read_model_has_none() {
        let a = text(DocKind::Exercise, Statement::InsertJson).unwrap();
        let b = text(DocKind::Exercise, Statement::InsertJson).unwrap();
        assert!(std::ptr::eq(a, b));
        assert!(text(DocKind::Plan, Statement::InsertJson).is_none());
    }

    #[test]
    fn every_read_model_fits_in_one_json_build_object() {
        for kind in DocKind::ALL {
            if let Some(rm) = read_model(kind) {
                assert!(2 * (rm.fields.len() + 2) <= 100, "{}", rm.table);
            }
        }
    }
}
