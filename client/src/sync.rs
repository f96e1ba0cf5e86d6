//! The sync loop: an explicit state machine over the store and the transport.
//!
//! ```text
//!  Push ──outbox empty──▶ Pull ──has_more=false──▶ Done
//!   │ ▲                    │ ▲
//!   │ └── next batch ──────┘ └── next page
//!   └─ clock_too_far_ahead ─▶ Restamp ─▶ Push
//! ```
//!
//! Every transition that changes local state commits it in one store transaction *after* the
//! server answered, so the loop is safe to stop at any point (a lost answer, a killed process)
//! and to run again: the server is idempotent by op id, the outbox only shrinks for what the
//! server acknowledged, and the cursor only advances with the page it belongs to. Network errors,
//! 5xx and 429 are retried with backoff and jitter (inside [`Client::call`]); an expired access
//! token is refreshed; any other 4xx stops the sync and is reported.

use sync_core::wire::{CrisisResources, PullResponse, PushRequest, PushResponse};
use sync_core::RejectCode;
use uuid::Uuid;

use crate::client::{success, system_ms, Client};
use crate::error::ClientError;
use crate::transport::{Method, Transport};

/// A re-stamp happens at most this often per sync: if the server still finds the clock ahead
/// after that, something other than this device's clock is wrong.
const MAX_RESTAMPS: u32 = 2;

/// Where the sync loop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Pushing the outbox, one batch at a time.
    Push,
    /// Re-stamping unsynced ops after the server found the clock ahead by `offset_ms`.
    Restamp {
        /// Server time minus local time.
        offset_ms: i64,
        /// The server's time when it refused the ops.
        server_time_ms: i64,
    },
    /// Pulling pages until `has_more` is false.
    Pull,
    /// Finished.
    Done,
}

/// What one sync did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SyncReport {
    /// Push requests answered.
    pub push_batches: u32,
    /// Ops that left the outbox because the server acknowledged them.
    pub pushed: u64,
    /// Ids the server acknowledged in answers this sync received (stored or already held).
    pub acknowledged: Vec<Uuid>,
    /// Ops refused for good: `(id, code, message)`.
    pub rejected: Vec<(Uuid, String, String)>,
    /// Ops re-stamped because the device clock ran ahead.
    pub restamped: usize,
    /// Pull pages applied.
    pub pull_pages: u32,
    /// Field states received.
    pub pulled: usize,
    /// Where to get help now, when the server judged a pushed check-in a crisis.
    pub crisis_resources: Option<CrisisResources>,
}

impl<T: Transport> Client<T> {
    /// Pushes the outbox and pulls every change, then records the time. Safe to call at any
    /// time, any number of times, and to interrupt at any point.
    pub async fn sync(&mut self) -> Result<SyncReport, ClientError> {
        let result = self.run_sync().await;
        let now = i64::try_from(system_ms()).unwrap_or(i64::MAX);
        match &result {
            Ok(_) => self.store.finish_sync(now, None)?,
            Err(ClientError::Store(_)) => {}
            Err(e) => self.store.finish_sync(now, Some(&e.to_string()))?,
        }
        result
    }

    async fn run_sync(&mut self) -> Result<SyncReport, ClientError> {
        let mut report = SyncReport::default();
        let mut phase = Phase::Push;
        let mut restamps = 0;
        loop {
            phase = match phase {
                Phase::Push => self.push_step(&mut report).await?,
                Phase::Restamp {
                    offset_ms,
                    server_time_ms,
                } => {
                    restamps += 1;
                    if restamps > MAX_RESTAMPS {
                        return Err(ClientError::ClockStillAhead);
                    }
                    let max_drift = self.config.max_drift_ms;
                    report.restamped +=
                        self.store
                            .restamp(offset_ms, server_time_ms, &mut self.wall, max_drift)?;
                    Phase::Push
                }
                Phase::Pull => self.pull_step(&mut report).await?,
                Phase::Done => return Ok(report),
            };
        }
    }

    /// Pushes one batch and settles its answer; says what comes next.
    async fn push_step(&mut self, report: &mut SyncReport) -> Result<Phase, ClientError> {
        let batch = self.store.outbox_batch(self.config.push_batch)?;
        if batch.is_empty() {
            return Ok(Phase::Pull);
        }
        let body = serde_json::to_value(PushRequest { ops: &batch[..] })
            .map_err(|e| ClientError::Protocol(format!("cannot encode a push: {e}")))?;
        let response = self.call(Method::Post, "/v1/sync/push", Some(body)).await?;
        let answer: PushResponse = success(&response)?;
        report.push_batches += 1;
        let mut acknowledged = answer.accepted.clone();
        acknowledged.extend_from_slice(&answer.duplicates);
        let mut refused = Vec::new();
        let mut clock_ahead = false;
        for r in &answer.rejected {
            let Some(id) = r.id.or_else(|| batch.get(r.index).map(|op| op.id)) else {
                continue;
            };
            if r.is(RejectCode::ClockTooFarAhead) {
                clock_ahead = true;
            } else {
                refused.push((id, r.code.clone(), r.message.clone()));
            }
        }
        let receipt = (answer.receipt.device_id == self.device()?.device_id)
            .then_some(answer.receipt.high_water);
        let settled = self.store.settle_push(&acknowledged, &refused, receipt)?;
        report.pushed += settled;
        report.acknowledged.extend(acknowledged);
        report.rejected.extend(refused);
        if answer.crisis_resources.is_some() {
            report.crisis_resources = answer.crisis_resources;
        }
        if clock_ahead {
            let local = i64::try_from((self.wall)()).unwrap_or(i64::MAX);
            return Ok(Phase::Restamp {
                offset_ms: answer.server_time_ms.saturating_sub(local),
                server_time_ms: answer.server_time_ms,
            });
        }
        if settled == 0 {
            return Err(ClientError::Protocol(
                "the server acknowledged none of a batch and refused none of it".into(),
            ));
        }
        Ok(Phase::Push)
    }

    /// Pulls one page and applies it; says what comes next.
    async fn pull_step(&mut self, report: &mut SyncReport) -> Result<Phase, ClientError> {
        let cursor = self.store.sync_state()?.cursor;
        let mut path = format!("/v1/sync/pull?limit={}", self.config.pull_limit);
        if let Some(c) = &cursor {
            path.push_str("&cursor=");
            path.push_str(c);
        }
        let response = match self.call(Method::Get, &path, None).await {
            // A cursor from before a server reset: start over (merging is idempotent).
            Err(ClientError::Refused { code, .. }) if code == "invalid_cursor" => {
                self.store.reset_cursor()?;
                return Ok(Phase::Pull);
            }
            other => other?,
        };
        let page: PullResponse = success(&response)?;
        let device = self.device()?;
        let high_water = if page.receipt.device_id == device.device_id {
            page.receipt.high_water
        } else {
            0
        };
        self.store
            .apply_pull(&page.changes, &page.cursor, high_water, &mut self.wall)?;
        report.pull_pages += 1;
        report.pulled += page.changes.len();
        Ok(if page.has_more {
            Phase::Pull
        } else {
            Phase::Done
        })
    }
}
