//! Password hashing with argon2id (the OWASP-recommended parameters of the `argon2` crate's
//! defaults: 19 MiB, 2 passes, 1 lane). Hashing is deliberately slow, so it never runs on the
//! async executor: it runs on a few threads of its own, one per core. Each hash takes a core and
//! 19 MiB, so more at once would only hold memory while waiting for a CPU, and on the shared
//! blocking pool every thread that ever hashed kept its own 19 MiB in the allocator (a burst of
//! 400 sign-ins left the server at ~750 MiB resident, 10,000 at 1.2–1.4 GiB). Requests beyond
//! that wait in a queue without holding a thread.

use crate::error::ApiError;
use crate::secret::Secret;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::rngs::OsRng;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, OnceLock};

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

/// A piece of argon2 work for the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// The queue of the hashing threads, started on first use: one thread per core.
fn hashing_queue() -> &'static Sender<Job> {
    static QUEUE: OnceLock<Sender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        for n in 0..threads {
            let jobs = Arc::clone(&jobs);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || loop {
                    // The lock is held only while waiting for the next job, not while running it.
                    let next = match jobs.lock() {
                        Ok(jobs) => jobs.recv(),
                        Err(_) => return,
                    };
                    match next {
                        Ok(job) => {
                            // A panicking job loses its answer (the caller sees an error), not
                            // the thread.
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        queue
    })
}

/// Runs argon2 work on the hashing threads and waits for its answer without blocking the
/// executor.
async fn in_hashing_slot<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    hashing_queue()
        .send(Box::new(move || {
            let _ = answer.send(work());
        }))
        .map_err(|_| ApiError::internal("the password hashing threads are gone"))?;
    answered
        .await
        .map_err(|_| ApiError::internal("a password hashing job did not finish"))
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
