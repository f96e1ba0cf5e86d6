//! Limits on sign-in, refresh and activation attempts, per account and per client address.
//!
//! Counters live in the database (fixed windows), not in process memory, so every server behind
//! a load balancer enforces the same limits. Every attempt is counted with one atomic upsert
//! *before* its password is judged: twenty simultaneous guesses are twenty hits, whichever
//! server they reach, and the ones past the limit never reach argon2.
//!
//! # Sign-in policy: throttle guessing, never hand out a lockout
//!
//! Locking an account after a few failures lets anyone who knows a patient's email keep them out
//! of the app before a crisis. So no single counter can shut an account's owner out:
//!
//! - **Per address** (`TETHER_ADDR_MAX_ATTEMPTS`, 30 per window): one address guessing across
//!   many accounts.
//! - **Per account and address** (`TETHER_LOGIN_MAX_FAILURES`, 5 per window): the strict limit
//!   on guessing one account from one place. It stops that address only; the patient's own phone
//!   elsewhere signs in as usual. A successful sign-in clears it.
//! - **Per account from everywhere** (`TETHER_LOGIN_ACCOUNT_MAX_ATTEMPTS`, 100 per window): the
//!   ceiling for a guesser spread over many addresses. Past it, attempts from addresses and
//!   devices the account has **not** signed in from recently are refused; an address the
//!   account signed in from in the last 30 days, or a sign-in naming one of the account's own
//!   live devices (`device_id`), still only meets its per-pair limit. A successful sign-in gives
//!   its hit back, and does not reset the ceiling for the guesser.
//!
//! The account key is the normalised email, whether or not an account has it, so the limits say
//! nothing about which emails exist.

use crate::db::DbConnection;
use crate::error::ApiError;
use crate::repo::rate_limits;
use crate::settings::RateLimitSettings;
use actix_web::HttpRequest;

/// How long an address the account signed in from stays "its own" for the per-account ceiling.
const KNOWN_ADDRESS_MS: i64 = 30 * 86_400_000;
/// Longest address text kept in a bucket name.
const MAX_ADDRESS_CHARS: usize = 64;

/// The client's address: the socket peer, or, when the server is configured to trust its
/// proxies, the `X-Forwarded-For` entry `TETHER_TRUSTED_PROXY_HOPS` places from the right: the
/// address the outermost of our proxies saw and appended. Entries to its left are whatever the
/// client sent and are never believed. A request with fewer entries than that did not come
/// through the proxies, and is known by its socket peer.
pub fn client_address(req: &HttpRequest, settings: &RateLimitSettings) -> String {
    if settings.trust_proxy {
        let values: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .collect();
        if let Some(address) = forwarded_client(&values, settings.trusted_proxy_hops) {
            return address;
        }
    }
    req.peer_addr()
        .map(|a| limited_as(a.ip()))
        .unwrap_or_else(|| "unknown".to_string())
}

/// The address a limit counts: an IPv4 address as it is, an IPv6 address by its /64 (one
/// subscriber's network: a host picks any of its 2^64 addresses at will, so counting /128s would
/// let one machine rotate past every limit), an IPv4-mapped IPv6 address as the IPv4 one.
fn limited_as(ip: std::net::IpAddr) -> String {
    use std::net::{IpAddr, Ipv6Addr};
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", Ipv6Addr::from(network))
            }
        },
    }
}

/// The client named by `X-Forwarded-For` header values (in the order received) behind `hops`
/// appending proxies; `None` when the list is shorter than that.
pub fn forwarded_client(values: &[&str], hops: u32) -> Option<String> {
    let entries: Vec<&str> = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let hops = usize::try_from(hops.max(1)).unwrap_or(1);
    let entry = *entries.get(entries.len().checked_sub(hops)?)?;
    Some(without_port(entry))
}

/// An address without its port (a client opens a new source port for every connection).
fn without_port(entry: &str) -> String {
    if let Ok(ip) = entry.parse::<std::net::IpAddr>() {
        return limited_as(ip);
    }
    if let Ok(sock) = entry.parse::<std::net::SocketAddr>() {
        return limited_as(sock.ip());
    }
    entry.chars().take(MAX_ADDRESS_CHARS).collect()
}

fn address_bucket(action: &str, address: &str) -> String {
    format!("addr:{action}:{address}")
}

fn pair_bucket(account: &str, address: &str) -> String {
    format!("pair:{account}|{address}")
}

fn account_bucket(account: &str) -> String {
    format!("acct:{account}")
}

fn known_bucket(account: &str, address: &str) -> String {
    format!("known:{account}|{address}")
}

fn refuse(window: &rate_limits::Window, now_ms: i64, settings: &RateLimitSettings) -> ApiError {
    ApiError::RateLimited {
        retry_after_secs: window.retry_after_secs(now_ms, settings.window),
    }
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
        return Err(refuse(&window, now_ms, settings));
    }
    Ok(())
}

/// Counts one sign-in attempt on `account` (a normalised email) from `address`, before its
/// password is checked, and refuses it when a limit of the module's policy is spent.
/// `own_device` says the request named a live device of the account.
pub fn count_sign_in(
    conn: &mut DbConnection,
    settings: &RateLimitSettings,
    account: &str,
    address: &str,
    own_device: bool,
    now_ms: i64,
) -> Result<(), ApiError> {
    count_address_attempt(conn, settings, "login", address, now_ms)?;
    let pair = rate_limits::hit(
        conn,
        &pair_bucket(account, address),
        now_ms,
        settings.window,
    )?;
    if pair.hits > i64::from(settings.account_max_failures) {
        return Err(refuse(&pair, now_ms, settings));
    }
    let all = rate_limits::hit(conn, &account_bucket(account), now_ms, settings.window)?;
    if all.hits > i64::from(settings.account_max_attempts)
        && !own_device
        && !is_known_address(conn, account, address, now_ms)?
    {
        return Err(refuse(&all, now_ms, settings));
    }
    Ok(())
}

fn is_known_address(
    conn: &mut DbConnection,
    account: &str,
    address: &str,
    now_ms: i64,
) -> Result<bool, ApiError> {
    Ok(rate_limits::current(
        conn,
        &known_bucket(account, address),
        now_ms,
        std::time::Duration::from_millis(KNOWN_ADDRESS_MS.unsigned_abs()),
    )?
    .is_some())
}

/// After a correct password: clears this address's attempts on the account, gives the
/// attempt's hit on the account-wide ceiling back, and remembers the address as the account's.
pub fn signed_in(
    conn: &mut DbConnection,
    account: &str,
    address: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    rate_limits::clear(conn, &pair_bucket(account, address))?;
    rate_limits::refund(conn, &account_bucket(account))?;
    rate_limits::mark(conn, &known_bucket(account, address), now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_the_entry_the_trusted_proxies_appended() {
        // The client wrote "6.6.6.6"; our one proxy appended what it saw.
        assert_eq!(
            forwarded_client(&["6.6.6.6, 203.0.113.7"], 1).as_deref(),
            Some("203.0.113.7")
        );
        // Two proxies of ours: the outer one appended the client, the inner one the outer.
        assert_eq!(
            forwarded_client(&["6.6.6.6, 203.0.113.7", "10.0.0.2"], 2).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            forwarded_client(&["[2001:db8::1]:443"], 1).as_deref(),
            Some("2001:db8::/64")
        );
        assert_eq!(
            forwarded_client(&["198.51.100.2:5000"], 1).as_deref(),
            Some("198.51.100.2")
        );
    }

    #[test]
    fn a_list_shorter_than_the_proxy_chain_names_no_client() {
        assert_eq!(forwarded_client(&[], 1), None);
        assert_eq!(forwarded_client(&[" , "], 1), None);
        assert_eq!(forwarded_client(&["203.0.113.7"], 2), None);
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_so_rotating_within_it_changes_nothing() {
        let a = forwarded_client(&["2001:db8:1:2:aaaa::1"], 1);
        let b = forwarded_client(&["2001:db8:1:2:ffff:ffff:ffff:ffff"], 1);
        assert_eq!(a.as_deref(), Some("2001:db8:1:2::/64"));
        assert_eq!(a, b);
        assert_ne!(a, forwarded_client(&["2001:db8:1:3::1"], 1));
        assert_eq!(
            forwarded_client(&["::ffff:203.0.113.9"], 1).as_deref(),
            Some("203.0.113.9")
        );
    }
}
