//! The client's one error type. Messages are for people; none quotes a token, a password or a
//! patient's note.

use crate::store::StoreError;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session is gone (refresh token expired, revoked or reused): sign in again.
    #[error("the session has ended ({code}: {message}); sign in again with `tether login`")]
    SignInAgain {
        /// The server's code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server refused the request (a 4xx other than an expired token). Retrying the same
    /// request would get the same answer.
    #[error("the server refused the request ({status} {code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server could not be reached or kept failing, after every retry.
    #[error("the server is unreachable after {attempts} attempts: {last}")]
    Unavailable {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The sync was stopped part-way (a simulated process kill). Nothing is lost: the next sync
    /// carries on.
    #[error("the sync was interrupted")]
    Interrupted,
    /// The server's answer was not what the protocol says.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// The server keeps saying this device's clock is ahead even after re-stamping.
    #[error("the server still finds this device's clock too far ahead after re-stamping; check the phone's date and time")]
    ClockStillAhead,
    /// The call is for a patient's own records, and this account is not a patient.
    #[error("only a patient can do that; this device is signed in as a {0}")]
    NotAPatient(String),
    /// Signing another account in would discard this device's unsynced records.
    #[error("{0} op(s) written on this device have not synced yet; run `tether sync` before signing another account in")]
    UnsyncedOps(u64),
    /// No such session on this device (sync first, or check the id).
    #[error("no session {0} on this device; run `tether sync` and `tether sessions`")]
    UnknownSession(uuid::Uuid),
}
