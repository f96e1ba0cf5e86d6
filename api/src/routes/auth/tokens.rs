//! What every successful sign-in, activation and refresh returns, and how it is issued.

use crate::auth::token;
use crate::db::DbConnection;
use crate::domain::Role;
use crate::error::ApiError;
use crate::repo::accounts::User;
use crate::repo::{refresh_tokens, sign_ins};
use crate::state::AppState;
use serde::Serialize;
use uuid::Uuid;

/// An account as its owner and staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// Id.
    pub id: Uuid,
    /// Role.
    pub role: Role,
    /// Clinic.
    pub clinic_id: Uuid,
    /// Email.
    pub email: String,
    /// Display name.
    pub display_name: String,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            role: user.role,
            clinic_id: user.clinic_id,
            email: user.email.clone(),
            display_name: user.display_name.clone(),
        }
    }
}

/// A fresh pair of tokens.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque, single-use token to get the next pair.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
    /// This device's id: send it back when signing in again on the same device.
    pub device_id: Uuid,
    /// The account.
    pub user: UserView,
}

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Issues an access token and a refresh token for `user` on `device`, continuing a session (a
/// refresh: its family id and when it began) or starting a new one (a sign-in). The refresh
/// token never outlives the session's absolute lifetime. Call inside the caller's write
/// transaction.
pub fn issue(
    conn: &mut DbConnection,
    state: &AppState,
    user: &User,
    device: Uuid,
    continuing: Option<(Uuid, i64)>,
    now_ms: i64,
) -> Result<TokenResponse, ApiError> {
    let auth = &state.settings.auth;
    let (family, started_at) = match continuing {
        Some(session) => session,
        None => {
            let family = Uuid::now_v7();
            sign_ins::start(conn, family, user.id, device, now_ms)?;
            (family, now_ms)
        }
    };
    let session_left_ms = sign_ins::ends_at(started_at, auth.session_max_age) - now_ms;
    let refresh_ttl_ms = ms(auth.refresh_ttl).min(session_left_ms).max(0);
    let refresh = token::new_refresh_token();
    refresh_tokens::insert(
        conn,
        family,
        user.id,
        device,
        &token::digest(&refresh),
        now_ms,
        refresh_ttl_ms,
    )?;
    let now_secs = u64::try_from(now_ms / 1_000).unwrap_or(0);
    let access = state.jwt.issue(
        user.id,
        user.role,
        user.clinic_id,
        device,
        family,
        now_secs,
        auth.access_ttl.as_secs(),
    )?;
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: auth.access_ttl.as_secs(),
        refresh_token: refresh,
        refresh_expires_in: u64::try_from((refresh_ttl_ms + 999) / 1_000).unwrap_or(1),
        device_id: device,
        user: UserView::from(user),
    })
}
