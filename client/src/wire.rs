//! The server's JSON shapes this client reads and writes (see `openapi.yaml`). Only the fields
//! the phone uses are declared; unknown fields are ignored so a newer server does not break an
//! older phone.

use serde::{Deserialize, Serialize};
use sync_core::{FieldState, Op};
use uuid::Uuid;

/// A token pair from sign-in, activation or refresh (`TokenResponse`).
#[derive(Clone, Deserialize)]
pub struct TokenResponse {
    /// The short-lived JWT.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The single-use refresh token.
    pub refresh_token: String,
    /// This device's id.
    pub device_id: Uuid,
    /// The account.
    pub user: UserView,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &"[redacted]")
            .field("device_id", &self.device_id)
            .field("user", &self.user)
            .finish()
    }
}

/// An account (`UserView`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct UserView {
    /// Account id (for a patient, also the `patient` of their records).
    pub id: Uuid,
    /// `patient`, `counselor` or `admin`.
    pub role: String,
    /// Sign-in email.
    pub email: String,
    /// Display name.
    pub display_name: String,
}

/// `POST /v1/sync/push` body.
#[derive(Debug, Serialize)]
pub struct PushRequest<'a> {
    /// The batch.
    pub ops: &'a [Op],
}

/// An op the server refused (`RejectedOp`).
#[derive(Debug, Clone, Deserialize)]
pub struct RejectedOp {
    /// Position in the batch.
    pub index: usize,
    /// Op id, when the server could read it.
    pub id: Option<Uuid>,
    /// Machine-readable reason.
    pub code: String,
    /// Human-readable reason.
    pub message: String,
}

/// What the server holds of this device's ops (`Receipt`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Receipt {
    /// The device the receipt is about.
    pub device_id: Uuid,
    /// Every op with `device_seq` up to this has reached the server.
    pub high_water: u64,
    /// Inclusive ranges above `high_water` that have not arrived.
    pub gaps: Vec<[u64; 2]>,
}

impl Receipt {
    /// Does the server hold the op with this `device_seq`?
    pub fn holds(&self, seq: u64) -> bool {
        seq <= self.high_water
    }
}

/// `POST /v1/sync/push` answer (`PushResponse`).
#[derive(Debug, Clone, Deserialize)]
pub struct PushResponse {
    /// Ids stored by this push.
    pub accepted: Vec<Uuid>,
    /// Ids the server already held.
    pub duplicates: Vec<Uuid>,
    /// Ops refused.
    pub rejected: Vec<RejectedOp>,
    /// This device's receipt.
    pub receipt: Receipt,
    /// The server's wall time, for clock correction.
    pub server_time_ms: i64,
    /// Where to get help now, when a pushed check-in signals a crisis.
    pub crisis_resources: Option<serde_json::Value>,
}

/// `GET /v1/sync/pull` answer (`PullResponse`).
#[derive(Debug, Clone, Deserialize)]
pub struct PullResponse {
    /// The latest state of each changed field.
    pub changes: Vec<FieldState>,
    /// Where the next pull starts.
    pub cursor: String,
    /// More pages wait.
    pub has_more: bool,
    /// This device's receipt.
    pub receipt: Receipt,
}

/// The error body every failure carries: `{"error":{"code","message"}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// See [`ErrorBody`].
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorDetail {
    /// Stable, machine-readable.
    pub code: String,
    /// For people.
    pub message: String,
}
