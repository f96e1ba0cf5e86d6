//! Password hashing with argon2id (the OWASP-recommended parameters of the `argon2` crate's
//! defaults: 19 MiB, 2 passes, 1 lane). Hashing is deliberately slow, so it never runs on the
//! async executor: it runs on a few threads of its own, one per core. Each hash takes a core and
//! 19 MiB, so more at once would only hold memory while waiting for a CPU, and on the shared
//! blocking pool every thread that ever hashed kept its own 19 MiB in the allocator (a burst of
//! 400 sign-ins left the server at ~750 MiB resident, 10,000 at 1.2–1.4 GiB). Requests beyond
//! that wait in a queue without holding a thread.
//!
//! # One email, accounts at several clinics, one argon2 per sign-in
//!
//! An email is unique within a clinic only (whether an address has an account at another clinic
//! must not be observable, see `repo::accounts`), so a sign-in may find several accounts with its
//! email. Trying the password against each would take one argon2 per account, and the time would
//! tell staff who made an account that another clinic has one too. So every hash of one email is
//! made with the same salt, derived from the email ([`hash_for`]), and a sign-in computes argon2
//! once per distinct salt among the candidates ([`verify_among`]): once, whether the email has
//! no account (a dummy hash), one, or several. Hashes made before this rule have random salts, so
//! an email with such an account and a newer one at another clinic needs two. That difference
//! would tell staff who made the newer account that the older one exists, so while any hash of
//! the database has a salt other than its email's ([`needs_second_computation`], judged once
//! at start-up over every account: a fact about the database, not about one email) every sign-in
//! computes exactly two, the second against a dummy hash when there is no second group
//! ([`SignInCost`]).

use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::secret::Secret;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
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
            ErrorCode::WeakPassword,
            format!("the password must be at least {MIN_PASSWORD_CHARS} characters long"),
        ));
    }
    if p.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::validation(
            ErrorCode::WeakPassword,
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

/// The salt every password hash of accounts with this normalised email is made with: 16 bytes
/// of a domain-separated SHA-256 of the email. Unique per email (what a salt is for: no two
/// people's hashes can be attacked together), shared by one email's accounts.
fn salt_for(email: &str) -> Result<SaltString, ApiError> {
    let digest = Sha256::digest(format!("tether password salt v1\0{email}").as_bytes());
    SaltString::encode_b64(&digest[..16])
        .map_err(|e| ApiError::internal(format!("deriving a password salt failed: {e}")))
}

fn hash_for_blocking(email: &str, password: &str) -> Result<String, ApiError> {
    Argon2::default()
        .hash_password(password.as_bytes(), &salt_for(email)?)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("password hashing failed: {e}")))
}

/// Everything of a PHC string but its hash: accounts whose hashes share it are checked with one
/// argon2 computation.
fn salt_and_params(phc: &str) -> &str {
    phc.rsplit_once('$').map_or(phc, |(head, _)| head)
}

/// How many argon2 computations every sign-in makes, whatever accounts its email has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInCost {
    /// Every hash is salted with its email: one computation.
    One,
    /// Some hash predates the email salt: two (see the module doc).
    Two,
}

impl SignInCost {
    fn computations(self) -> usize {
        match self {
            SignInCost::One => 1,
            SignInCost::Two => 2,
        }
    }
}

/// Whether a stored hash was made with its email's salt.
pub fn is_email_salted(email: &str, phc: &str) -> bool {
    match (PasswordHash::new(phc), salt_for(email)) {
        (Ok(parsed), Ok(salt)) => parsed.salt.map(|s| s.as_str()) == Some(salt.as_str()),
        _ => false,
    }
}

/// The cost every sign-in must have for these `(email, stored hash)` pairs, the database's
/// accounts: [`SignInCost::Two`] when any hash predates the email salt.
pub fn needs_second_computation<'a>(
    accounts: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> SignInCost {
    if accounts
        .into_iter()
        .all(|(email, phc)| is_email_salted(email, phc))
    {
        SignInCost::One
    } else {
        SignInCost::Two
    }
}

/// Which of `stored` (in order) `password` belongs to, with one argon2 computation per distinct
/// salt and parameters, and against the dummy hash until `cost`'s number of computations is
/// made. Returns the match and how many computations were made.
fn verify_among_blocking(
    stored: &[Option<String>],
    password: &str,
    cost: SignInCost,
) -> (Option<usize>, usize) {
    let (found, computed) = verify_groups(stored, password);
    let mut made = computed;
    while made < cost.computations() {
        let _ = verify_blocking(dummy_hash(), password);
        made += 1;
    }
    (found, made)
}

/// One argon2 computation per distinct salt and parameters among `stored`; returns the match
/// and how many were made.
fn verify_groups(stored: &[Option<String>], password: &str) -> (Option<usize>, usize) {
    let parsed: Vec<Option<PasswordHash<'_>>> = stored
        .iter()
        .map(|s| s.as_deref().and_then(|s| PasswordHash::new(s).ok()))
        .collect();
    let mut groups: Vec<&str> = Vec::new();
    for phc in stored
        .iter()
        .zip(&parsed)
        .filter_map(|(s, p)| p.as_ref().and(s.as_deref()))
    {
        let key = salt_and_params(phc);
        if !groups.contains(&key) {
            groups.push(key);
        }
    }
    let mut found = None;
    let mut made = 0;
    for key in groups {
        let members: Vec<(usize, &PasswordHash<'_>)> = stored
            .iter()
            .zip(&parsed)
            .enumerate()
            .filter_map(|(i, (s, p))| {
                let p = p.as_ref()?;
                (salt_and_params(s.as_deref()?) == key).then_some((i, p))
            })
            .collect();
        let Some((_, first)) = members.first() else {
            continue;
        };
        let (Ok(params), Some(salt)) = (Params::try_from(*first), first.salt) else {
            continue;
        };
        made += 1;
        let Ok(computed) = Argon2::default().hash_password_customized(
            password.as_bytes(),
            Some(first.algorithm),
            first.version,
            params,
            salt,
        ) else {
            continue;
        };
        // Every group is computed, even after a match, so the time does not depend on which
        // account matched.
        for (i, member) in &members {
            if found.is_none() && computed.hash.is_some() && computed.hash == member.hash {
                found = Some(*i);
            }
        }
    }
    (found, made)
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

/// Hashes a new password of an account with this normalised email on the current thread (for
/// the command line).
pub fn hash_now_for(email: &str, password: &Secret<String>) -> Result<String, ApiError> {
    hash_for_blocking(email, password.expose())
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

/// Hashes a new password of an account with this normalised email off the executor, with the
/// email's salt (see the module doc).
pub async fn hash_for(email: String, password: Secret<String>) -> Result<String, ApiError> {
    in_hashing_slot(move || hash_for_blocking(&email, password.expose())).await?
}

/// Which of the candidate accounts' stored hashes (oldest account first) the password belongs
/// to, off the executor, at the cost of one argon2 whatever the number of candidates (see the
/// module doc). `None` when it matches none, after the same work.
pub async fn verify_among(
    stored: Vec<Option<String>>,
    password: Secret<String>,
    cost: SignInCost,
) -> Result<Option<usize>, ApiError> {
    in_hashing_slot(move || verify_among_blocking(&stored, password.expose(), cost).0).await
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
    fn one_computation_finds_the_account_among_those_sharing_an_email() {
        let email = "sam@example.test";
        let at_x = hash_for_blocking(email, "the password at clinic x").unwrap();
        let at_y = hash_for_blocking(email, "the password at clinic y").unwrap();
        assert_eq!(salt_and_params(&at_x), salt_and_params(&at_y));
        assert_ne!(
            salt_and_params(&at_x),
            salt_and_params(&hash_for_blocking("other@example.test", "p").unwrap())
        );
        let stored = vec![None, Some(at_x.clone()), Some(at_y.clone())];
        let one = SignInCost::One;
        assert_eq!(
            verify_among_blocking(&stored, "the password at clinic y", one),
            (Some(2), 1)
        );
        assert_eq!(
            verify_among_blocking(&stored, "the password at clinic x", one),
            (Some(1), 1)
        );
        assert_eq!(verify_among_blocking(&stored, "neither", one), (None, 1));
        assert_eq!(verify_among_blocking(&[], "anything", one), (None, 1));
        // A hash from before the shared salt still verifies.
        let legacy = hash_blocking("an older password").unwrap();
        assert_eq!(
            verify_among_blocking(&[Some(legacy)], "an older password", one),
            (Some(0), 1)
        );
        assert!(is_email_salted(email, &at_x));
        assert_eq!(
            needs_second_computation([(email, at_x.as_str()), (email, at_y.as_str())]),
            SignInCost::One
        );
    }

    /// The leak the second computation closes: staff at clinic Y make an account for an email
    /// and time its sign-ins; without padding, an older account of that email at clinic X (salted
    /// before the email salt) would make them cost two computations instead of one.
    #[test]
    fn while_any_hash_predates_the_email_salt_every_sign_in_makes_two_computations() {
        let email = "sam@example.test";
        let at_y = hash_for_blocking(email, "the password at clinic y").unwrap();
        let legacy_at_x = hash_blocking("the password at clinic x").unwrap();
        assert!(!is_email_salted(email, &legacy_at_x));
        let cost =
            needs_second_computation([(email, legacy_at_x.as_str()), (email, at_y.as_str())]);
        assert_eq!(cost, SignInCost::Two);
        let with_older = vec![Some(legacy_at_x), Some(at_y.clone())];
        let alone = vec![Some(at_y)];
        for password in ["the password at clinic y", "a wrong guess"] {
            let (_, with) = verify_among_blocking(&with_older, password, cost);
            let (_, without) = verify_among_blocking(&alone, password, cost);
            assert_eq!((with, without), (2, 2), "{password}");
        }
        assert_eq!(verify_among_blocking(&[], "unknown email", cost), (None, 2));
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(check_strength(&Secret::new("short".into())).is_err());
        assert!(check_strength(&Secret::new("x".repeat(300))).is_err());
        assert!(check_strength(&Secret::new("long enough pass".into())).is_ok());
    }
}
