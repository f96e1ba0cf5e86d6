//! `GET /v1/sync/pull?cursor=…&limit=…`: what changed since the cursor.

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::repo::sync_store;
use crate::state::AppState;
use crate::sync::pull;
use crate::sync::receipts;
use actix_web::web;
use serde::Deserialize;
use sync_core::wire::PullResponse;

/// Query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    /// The cursor from the previous page; absent for a first pull.
    pub cursor: Option<String>,
    /// Most changes in this page.
    pub limit: Option<usize>,
}

/// Reads one page.
#[tracing::instrument(skip_all, fields(device_id = %caller.device_id))]
pub async fn pull(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<PullQuery>,
) -> Result<web::Json<PullResponse>, ApiError> {
    let query = query.into_inner();
    let max = state.settings.sync.max_pull_limit;
    let limit = query.limit.unwrap_or(max.min(500));
    if limit == 0 || limit > max {
        return Err(ApiError::validation(
            ErrorCode::InvalidLimit,
            format!("limit must be between 1 and {max}"),
        ));
    }
    let response = db::run(&state.pool, move |conn| {
        let page = pull::pull(conn, &caller, query.cursor.as_deref(), limit)?;
        let device = caller.device_id.to_string();
        let (high_water, pending) = sync_store::load_receipt(conn, &device)?;
        Ok(PullResponse {
            changes: page.changes,
            cursor: page.cursor,
            has_more: page.has_more,
            receipt: receipts::receipt(caller.device_id, high_water, &pending),
        })
    })
    .await?;
    Ok(web::Json(response))
}
