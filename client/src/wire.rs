//! The server's JSON shapes this client reads and writes (see `openapi.yaml`). Unknown fields
//! are ignored so a newer server does not break an older phone.
//!
//! The sync protocol's bodies (push, pull, receipt, error) are sync-core's, the same
//! declarations the server answers with; they are re-exported here. Declared here are only the
//! sign-in shapes the phone reads.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use sync_core::wire::{
    CrisisResource, CrisisResources, ErrorBody, ErrorDetail, PullResponse, PushRequest,
    PushResponse, Receipt, RejectedOp,
};

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
