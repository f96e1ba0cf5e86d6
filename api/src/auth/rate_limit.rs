//! Limits on sign-in, refresh and activation attempts, per account and per client address.
//!
//! Counters live in the database (fixed windows), not in process memory, so every server behind
//! a load balancer enforces the same limits.

use crate::db::DbConnection;
use crate::error::ApiError;
use crate::repo::rate_limits;
use crate::settings::RateLimitSettings;
use actix_web::HttpRequest;

/// The client's address: the socket peer, or the first `X-Forwarded-For` hop when the server is
/// configured to trust its proxy.
pub fn client_address(req: &HttpRequest, settings: &RateLimitSettings) -> String {
    let info = req.connection_info();
    let address = if settings.trust_proxy {
        info.realip_remote_addr()
    } else {
        info.peer_addr()
    };
    // Strip the port: a client opens a new source port for every connection.
    address
        .map(|a| match a.parse::<std::net::SocketAddr>() {
            Ok(sock) => sock.ip().to_string(),
            Err(_) => a.to_string(),
        })
        .unwrap_or_else(|| "unknown".to_string())
}

fn address_bucket(action: &str, address: &str) -> String {
    format!("addr:{action}:{address}")
}

fn account_bucket(account: &str) -> String {
    format!("acct:{account}")
}

/// Counts one attempt from `address`; refuses it when the window's budget is spent.
pub fn count_address_attempt(
    conn: &mut DbConnection,
    settings: &RateLimitSettings,
    action: &str,
    address: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    let window = rate_limits::hit(
        conn,
        &address_bucket(action, address),
        now_ms,
        settings.window,
    )?;
    if window.hits > i64::from(settings.address_max_attempts) {
        return Err(ApiError::RateLimited {
            retry_after_secs: window.retry_after_secs(now_ms, settings.window),
        });
    }
    Ok(())
}

/// Refuses an attempt on an account whose failures already fill the window, before any password
/// is checked (so a locked account cannot be probed further).
pub fn check_account(
    conn: &mut DbConnection,
    settings: &RateLimitSettings,
    account: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    if let Some(window) =
        rate_limits::current(conn, &account_bucket(account), now_ms, settings.window)?
    {
        if window.hits >= i64::from(settings.account_max_failures) {
            return Err(ApiError::RateLimited {
                retry_after_secs: window.retry_after_secs(now_ms, settings.window),
            });
        }
    }
    Ok(())
}

/// Records a failed attempt on an account.
pub fn record_account_failure(
    conn: &mut DbConnection,
    settings: &RateLimitSettings,
    account: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    rate_limits::hit(conn, &account_bucket(account), now_ms, settings.window).map(|_| ())
}

/// Clears an account's failures after a successful sign-in.
pub fn clear_account(conn: &mut DbConnection, account: &str) -> Result<(), ApiError> {
    rate_limits::clear(conn, &account_bucket(account))
}
