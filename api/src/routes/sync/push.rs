//! `POST /v1/sync/push`: a batch of ops from one device.

use crate::auth::AuthUser;
use crate::clock::now_ms;
use crate::crisis::{self, CrisisResources};
use crate::db;
use crate::error::ApiError;
use crate::services;
use crate::state::AppState;
use crate::sync::push::{self, PushLimits, PushOutcome};
use actix_web::web;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A batch of ops. Each is judged on its own, so one bad op never sinks the batch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// The ops, in the order the device made them, each kept as its JSON text until it is
    /// decoded on its own.
    pub ops: Vec<Box<RawValue>>,
}

/// The push outcome plus the server's clock, so a phone can tell how far off its own is.
#[derive(Debug, Serialize)]
pub struct PushResponse {
    /// Accepted, duplicate and rejected ops, and the device's receipt.
    #[serde(flatten)]
    pub outcome: PushOutcome,
    /// Server wall time (ms since the epoch) when the push was judged.
    pub server_time_ms: i64,
    /// Present when a pushed check-in signals a crisis ("I need help now", or a lapse with a
    /// craving at or above the crisis threshold): resources for the phone to show at once.
    pub crisis_resources: Option<CrisisResources>,
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
    let flags = state.settings.trends.flags.clone();
    let (outcome, in_crisis) = db::run(&state.pool, move |conn| {
        let outcome = push::push(conn, &caller, ops, limits, now)?;
        let in_crisis = services::crisis::push_calls_for_help(conn, &outcome.checkins, &flags)?;
        Ok((outcome, in_crisis))
    })
    .await?;
    if in_crisis {
        tracing::warn!("crisis check-in received");
    }
    tracing::info!(
        accepted = outcome.accepted.len(),
        duplicates = outcome.duplicates.len(),
        rejected = outcome.rejected.len(),
        "push stored"
    );
    Ok(web::Json(PushResponse {
        outcome,
        server_time_ms: now,
        crisis_resources: in_crisis.then(crisis::resources),
    }))
}
