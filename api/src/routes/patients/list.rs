//! What the three read-model listings share: query parameters, authorization and the page
//! envelope.

use crate::access::{self, ReadAction};
use crate::auth::AuthUser;
use crate::calendar;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::repo::read_models::ListQuery;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Largest page.
pub const MAX_LIMIT: i64 = 500;
/// Page size when none is asked for.
pub const DEFAULT_LIMIT: i64 = 100;

/// `?from=&to=&limit=&cursor=`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Inclusive lower bound, ms since the epoch.
    pub from: Option<i64>,
    /// Exclusive upper bound, ms since the epoch.
    pub to: Option<i64>,
    /// Page size, 1–500 (default 100).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page, newest first.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn invalid(message: &str) -> ApiError {
    ApiError::validation(ErrorCode::InvalidQuery, message)
}

impl ListParams {
    /// Checks the parameters (not who may read).
    pub fn validate(&self, patient: Uuid) -> Result<ListQuery, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(invalid("limit must be between 1 and 500"));
        }
        let instants = calendar::instant_range_ms();
        for (name, bound) in [("from", self.from), ("to", self.to)] {
            if bound.is_some_and(|ms| !instants.contains(&ms)) {
                return Err(invalid(&format!(
                    "{name} must be between {} and {} (the years {}–{}, in milliseconds)",
                    instants.start(),
                    instants.end(),
                    calendar::DATE_YEARS.start(),
                    calendar::DATE_YEARS.end()
                )));
            }
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from >= to {
                return Err(invalid("from must be before to"));
            }
        }
        let after = match &self.cursor {
            None => None,
            Some(c) => {
                let (t, id) = c
                    .split_once('_')
                    .ok_or_else(|| invalid("the cursor is not valid"))?;
                let t: i64 = t.parse().map_err(|_| invalid("the cursor is not valid"))?;
                let id = Uuid::try_parse(id).map_err(|_| invalid("the cursor is not valid"))?;
                Some((t, id.to_string()))
            }
        };
        Ok(ListQuery {
            patient: patient.to_string(),
            from: self.from,
            to: self.to,
            after,
            limit,
        })
    }

    /// Checks the parameters and the caller's right to read `patient`, and logs a staff read.
    pub fn authorize(
        &self,
        conn: &mut DbConnection,
        caller: &AuthUser,
        patient: Uuid,
        action: ReadAction,
    ) -> Result<ListQuery, ApiError> {
        let query = self.validate(patient)?;
        let standing = access::require_read(conn, caller, patient)?;
        access::record_read(conn, caller, patient, standing, action)?;
        Ok(query)
    }
}

/// Cuts the extra row fetched beyond `limit` and turns the last item's position into a cursor.
pub fn page<R, T>(
    mut rows: Vec<R>,
    limit: i64,
    position: impl Fn(&R) -> (i64, String),
    item: impl Fn(R) -> T,
) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last().map(|r| {
            let (t, doc) = position(r);
            format!("{t}_{doc}")
        })
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(item).collect(),
        next_cursor,
    }
}
