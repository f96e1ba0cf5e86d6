//! Password hashing with argon2id (the OWASP-recommended parameters of the `argon2` crate's
//! defaults: 19 MiB, 2 passes, 1 lane). Hashing is deliberately slow, so it always runs on the
//! blocking pool, never on the async executor, and at most one hash per core runs at a time:
//! each takes a core and 19 MiB, so more at once only hold memory while they wait for a CPU (a
//! burst of 10,000 sign-ins once took the server past 1 GiB resident, which the allocator kept).
//! Requests beyond that wait their turn without holding a thread.

use crate::error::ApiError;
use crate::secret::Secret;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::rngs::OsRng;
use std::sync::OnceLock;
use tokio::sync::Semaphore;

/// Shortest accepted password, in characters (NIST SP 800-63B asks for at least 8).
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest accepted password, in bytes: bounds the cost of hashing an attacker's input.
pub const MAX_PASSWORD_BYTES: usize = 256;

/// Checks a new password against the length rules.
pub fn check_strength(password: &Secret<String>) -> Result<(), ApiError> {
    let p = password.expose();
    if p.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::validation(
            "weak_password",
            format!("the password must be at least {MIN_PASSWORD_CHARS} characters long"),
        ));
    }
    if p.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::validation(
            "weak_password",
            format!("the password must be at most {MAX_PASSWORD_BYTES} bytes long"),
        ));
    }
    Ok(())
}

fn hash_blocking(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("password hashing failed: {e}")))
}

fn verify_blocking(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random password, verified against when the account does not exist (or has no
/// password yet), so an unknown email costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_blocking(&crate::auth::token::new_refresh_token()).unwrap_or_else(|_| {
            // A well-formed argon2id PHC string; verification against it always fails.
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Y2Fubm90LW1hdGNoLWFueXRoaW5nLXJlYWxseQ"
                .to_string()
        })
    })
}

/// Hashes a password on the current thread (for the command line, which has no executor).
pub fn hash_now(password: &Secret<String>) -> Result<String, ApiError> {
    hash_blocking(password.expose())
}

/// Hashes running at once: one per core.
fn hashing_slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
    })
}

/// Runs argon2 work on the blocking pool once a hashing slot is free.
async fn in_hashing_slot<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let _slot = hashing_slots()
        .acquire()
        .await
        .map_err(|e| ApiError::internal(format!("hashing slots closed: {e}")))?;
    actix_web::web::block(work)
        .await
        .map_err(ApiError::internal)
}

/// Hashes a password off the executor.
pub async fn hash(password: Secret<String>) -> Result<String, ApiError> {
    in_hashing_slot(move || hash_blocking(password.expose())).await?
}

/// Verifies a password off the executor. With `stored = None` it verifies against a dummy hash
/// and returns false, paying the same cost as a real check.
pub async fn verify(stored: Option<String>, password: Secret<String>) -> Result<bool, ApiError> {
    in_hashing_slot(move || match stored {
        Some(hash) => verify_blocking(&hash, password.expose()),
        None => {
            let _ = verify_blocking(dummy_hash(), password.expose());
            false
        }
    })
    .await
}

/// Computes the dummy hash now, so the first sign-in for an unknown account is not faster or
/// slower than later ones.
pub fn warm_up() {
    let _ = dummy_hash();
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_own_password_only() {
        let hash = hash_blocking("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_blocking(&hash, "correct horse battery"));
        assert!(!verify_blocking(&hash, "correct horse battery!"));
        assert!(!verify_blocking("not a phc string", "anything"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_hashes_run_at_once_than_there_are_cores() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let tasks: Vec<_> = (0..cores * 4)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(in_hashing_slot(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!(
            most >= 1 && most <= cores,
            "{most} hashes ran at once on {cores} cores"
        );
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(check_strength(&Secret::new("short".into())).is_err());
        assert!(check_strength(&Secret::new("x".repeat(300))).is_err());
        assert!(check_strength(&Secret::new("long enough pass".into())).is_ok());
    }
}
