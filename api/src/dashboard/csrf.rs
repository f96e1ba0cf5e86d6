//! Cross-site request forgery protection for every form post, on top of `SameSite=Strict`
//! cookies.
//!
//! - Signed in: the token is derived from the session token (SHA-256 under a label of its own),
//!   so it needs no storage, changes with every session, and cannot be computed from anything
//!   the database holds (it stores a differently labelled hash). Every form carries it in a
//!   hidden `csrf` field; a post without the right one is refused.
//! - Signing in (no session yet): double submit. The sign-in page sets a random value in a
//!   cookie and in the form; the post must carry both, equal. Another site can make a browser
//!   post the form but can neither read nor set the cookie.

use crate::auth::token;
use sha2::{Digest, Sha256};

/// The form field every dashboard form posts its token in.
pub const FIELD: &str = "csrf";

/// The CSRF token of the session whose cookie token is `session_token`.
pub fn for_session(session_token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"tether dashboard csrf\0");
    hasher.update(session_token.as_bytes());
    token::to_hex(&hasher.finalize())
}

/// A fresh random token for the sign-in form.
pub fn new_sign_in_token() -> String {
    token::to_hex(&token::random_bytes(32))
}

/// Whether `given` is `expected`, in time that does not depend on where they differ.
pub fn matches(expected: &str, given: &str) -> bool {
    if expected.is_empty() || expected.len() != given.len() {
        return false;
    }
    expected
        .bytes()
        .zip(given.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_token_gives_a_stable_token_that_differs_from_its_stored_hash() {
        let t = "0123456789abcdef";
        assert_eq!(for_session(t), for_session(t));
        assert_ne!(for_session(t), for_session("another"));
        assert_ne!(for_session(t), token::digest(t));
        assert_eq!(for_session(t).len(), 64);
    }

    #[test]
    fn only_the_exact_token_matches() {
        let t = for_session("x");
        assert!(matches(&t, &t));
        assert!(!matches(&t, ""));
        assert!(!matches("", ""));
        assert!(!matches(&t, &t[1..]));
        let mut other = t.clone().into_bytes();
        other[63] = if other[63] == b'0' { b'1' } else { b'0' };
        assert!(!matches(&t, &String::from_utf8(other).unwrap_or_default()));
    }
}
