//! `GET /readyz`: the server can reach its database.

use crate::db;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// 200 when a pooled connection answers a query; 503 `unavailable` otherwise.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    db::run(&state.pool, |conn| {
        db::ping(conn).map_err(|e| {
            tracing::warn!(cause = %e, "readiness check failed");
            ApiError::Unavailable
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}
