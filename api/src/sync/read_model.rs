//! Read-model rows from a document's merged fields, through sync-core's own views (see
//! [`sync_core::kinds::row_cells`]), so the server reads a document exactly as a phone does.
//! Local days, hours and weekdays are computed there once at write time, so that trends are a
//! plain `GROUP BY` on both backends.

use crate::crisis::CrisisSigns;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::repo::read_models::{self, Row};
use serde_json::Value;
use std::collections::BTreeMap;
use sync_core::kinds::row_cells;
use sync_core::{view::is_deleted, CheckIn, DocKey, DocKind, View};

/// One document to rewrite: its complete merged field list, and whether it had stored fields
/// before this push (only then does it have a read-model row to replace).
pub struct Refresh<'a> {
    /// The document.
    pub key: DocKey,
    /// Every merged field, by name.
    pub fields: Vec<(&'a str, &'a Value)>,
    /// Whether the document had stored fields before.
    pub existed: bool,
}

/// Rewrites the read-model rows of many documents, each from its complete merged field list:
/// a few multi-row statements per kind instead of statements per document. A kind without a
/// read model (the plan) is read through pulls only. Returns what each rewritten check-in now
/// says about a crisis (a deleted one says nothing).
pub fn refresh_many(
    conn: &mut DbConnection,
    docs: &[Refresh<'_>],
    now_ms: i64,
) -> Result<Vec<(DocKey, CrisisSigns)>, ApiError> {
    let mut rows: BTreeMap<DocKind, Vec<Row>> = BTreeMap::new();
    let mut signs = Vec::new();
    for doc in docs {
        let Some(cells) = row_cells(doc.key, doc.fields.iter().copied()) else {
            continue;
        };
        let deleted = is_deleted(doc.fields.iter().copied());
        if doc.key.kind == DocKind::Checkin && !deleted {
            let c = CheckIn::from_fields(doc.key, doc.fields.iter().copied());
            signs.push((doc.key, CrisisSigns::of_checkin(&c)));
        }
        rows.entry(doc.key.kind).or_default().push(Row {
            patient_id: doc.key.patient.to_string(),
            doc_id: doc.key.doc.to_string(),
            deleted,
            cells,
            existed: doc.existed,
        });
    }
    for (kind, rows) in rows {
        read_models::rewrite(conn, kind, &rows, now_ms)?;
    }
    Ok(signs)
}
