//! `POST /v1/sync/push`: a batch of ops from one device.

use crate::auth::AuthUser;
use crate::clock::now_ms;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;
use crate::sync::push::{self, PushLimits, PushOutcome};
use actix_web::web;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A batch of ops. Each is judged on its own, so one bad op never sinks the batch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// The ops, in the order the device made them.
    pub ops: Vec<Value>,
}

/// The push outcome plus the server's clock, so a phone can tell how far off its own is.
#[derive(Debug, Serialize)]
pub struct PushResponse {
    /// Accepted, duplicate and rejected ops, and the device's receipt.
    #[serde(flatten)]
    pub outcome: PushOutcome,
    /// Server wall time (ms since the epoch) when the push was judged.
    pub server_time_ms: i64,
}

/// Stores and merges a batch; answers only after it is committed.
#[tracing::instrument(skip_all, fields(device_id = %caller.device_id, ops = body.ops.len()))]
pub async fn push(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<PushRequest>,
) -> Result<web::Json<PushResponse>, ApiError> {
    let ops = body.into_inner().ops;
    let max = state.settings.sync.max_batch_ops;
    if ops.len() > max {
        return Err(ApiError::validation(
            "batch_too_large",
            format!("a push carries at most {max} ops; split the batch"),
        ));
    }
    let limits = PushLimits {
        max_clock_ahead_ms: state.settings.sync.max_clock_ahead_ms,
    };
    let now = now_ms();
    let outcome = db::run(&state.pool, move |conn| {
        push::push(conn, &caller, ops, limits, now)
    })
    .await?;
    tracing::info!(
        accepted = outcome.accepted.len(),
        duplicates = outcome.duplicates.len(),
        rejected = outcome.rejected.len(),
        "push stored"
    );
    Ok(web::Json(PushResponse {
        outcome,
        server_time_ms: now,
    }))
}
