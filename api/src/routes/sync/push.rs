//! `POST /v1/sync/push`: a batch of ops from one device.

use crate::auth::AuthUser;
use crate::clock::now_ms;
use crate::crisis;
use crate::db;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::services;
use crate::state::AppState;
use crate::sync::push::{self, PushLimits};
use actix_web::web;
use serde_json::value::RawValue;
use sync_core::wire::{self, PushResponse};

/// A batch of ops, each kept as its JSON text until it is decoded on its own, so one bad op
/// never sinks the batch.
pub type PushRequest = wire::PushRequest<Vec<Box<RawValue>>>;

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
            ErrorCode::BatchTooLarge,
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
        accepted: outcome.accepted,
        duplicates: outcome.duplicates,
        rejected: outcome.rejected,
        receipt: outcome.receipt,
        server_time_ms: now,
        crisis_resources: in_crisis.then(crisis::resources),
    }))
}
