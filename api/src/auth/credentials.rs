//! The one credential check behind every sign-in path (`POST /v1/auth/login` and the
//! dashboard's sign-in form): attempt limits counted before the password is judged, then the
//! same argon2 work whatever the email names (see [`password`]), so a wrong password and an
//! unknown email get the same answer after the same time.

use crate::auth::{password, rate_limit};
use crate::clock::now_ms;
use crate::db::{self, DbConnection, DbPool};
use crate::domain::Email;
use crate::error::ApiError;
use crate::repo::accounts::{self, User};
use crate::secret::Secret;
use crate::settings::RateLimitSettings;
use uuid::Uuid;

/// What a sign-in presents.
#[derive(Debug)]
pub struct Attempt {
    /// The email as typed.
    pub email: String,
    /// The password as typed.
    pub password: Secret<String>,
    /// The client's address, as the attempt limits count it.
    pub address: String,
    /// A device id from an earlier sign-in, if the client names one: a live device of the
    /// account is its own phone, which the account-wide limit spares.
    pub device: Option<Uuid>,
}

/// A user whose password matched. Its sign-in is recorded with [`Verified::record_sign_in`]
/// in the same transaction that starts the session, so the attempt limits forgive only
/// sign-ins that went through.
#[derive(Debug)]
pub struct Verified {
    /// The account.
    pub user: User,
    account: String,
    address: String,
}

impl Verified {
    /// Clears the failed attempts of this account from this address (see
    /// [`rate_limit::signed_in`]).
    pub fn record_sign_in(&self, conn: &mut DbConnection, now_ms: i64) -> Result<(), ApiError> {
        rate_limit::signed_in(conn, &self.account, &self.address, now_ms)
    }
}

/// Checks an attempt: `Ok(None)` when the email is malformed or the password does not match an
/// account with that email; [`ApiError::RateLimited`] when the attempt limits refuse it.
pub async fn check(
    pool: &DbPool,
    limits: &RateLimitSettings,
    cost: password::SignInCost,
    attempt: Attempt,
) -> Result<Option<Verified>, ApiError> {
    // A malformed email cannot match an account; answer as for a wrong password.
    let Ok(email) = Email::parse(&attempt.email) else {
        return Ok(None);
    };
    let account = email.as_str().to_string();
    let address = attempt.address;
    let candidates = db::run(pool, {
        let (account, address, limits) = (account.clone(), address.clone(), limits.clone());
        let named_device = attempt.device;
        move |conn| {
            let now = now_ms();
            let own_device = match named_device {
                Some(device) => accounts::is_live_device_of_email(conn, device, &account)?,
                None => false,
            };
            // Counted before the password is judged, so concurrent guesses cannot slip past.
            rate_limit::count_sign_in(conn, &limits, &account, &address, own_device, now)?;
            accounts::find_all_by_email(conn, &account)
        }
    })
    .await?;
    // The same argon2 work whatever the number of accounts with this email.
    let stored = candidates.iter().map(|u| u.password_hash.clone()).collect();
    let matched = password::verify_among(stored, attempt.password, cost).await?;
    Ok(matched
        .and_then(|i| candidates.into_iter().nth(i))
        .map(|user| Verified {
            user,
            account,
            address,
        }))
}
