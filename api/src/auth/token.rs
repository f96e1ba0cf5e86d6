//! Opaque secrets handed to clients (refresh tokens, enrollment codes) and how they are stored.
//!
//! Both are random, so a plain SHA-256 digest is a safe at-rest form: a database leak reveals no
//! usable token, and lookup stays a single indexed equality.

use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or typed on a phone is hard
/// to get wrong.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters in an enrollment code (60 bits of entropy), shown in groups of four.
pub const ENROLLMENT_CODE_LEN: usize = 12;

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Lower-case hex of some bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// SHA-256 of a string, hex encoded: how refresh tokens and enrollment codes are stored.
pub fn digest(secret: &str) -> String {
    to_hex(&Sha256::digest(secret.as_bytes()))
}

/// A new refresh token: 256 random bits, hex encoded.
pub fn new_refresh_token() -> String {
    to_hex(&random_bytes(32))
}

/// A new enrollment code in its display form, e.g. `7K3M-QX9D-2HBT`.
pub fn new_enrollment_code() -> String {
    let bytes = random_bytes(ENROLLMENT_CODE_LEN);
    let mut code = String::with_capacity(ENROLLMENT_CODE_LEN + 2);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(char::from(CROCKFORD[usize::from(b & 31)]));
    }
    code
}

/// The canonical form of a typed code: separators and spaces dropped, upper case, and the
/// letters people confuse with digits mapped as Crockford specifies (O→0, I/L→1). `None` when
/// what remains cannot be a code.
pub fn normalize_enrollment_code(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(ENROLLMENT_CODE_LEN);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii() && CROCKFORD.contains(&(c as u8)) => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == ENROLLMENT_CODE_LEN).then_some(out)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn an_enrollment_code_survives_the_ways_people_type_it() {
        let code = new_enrollment_code();
        assert_eq!(code.len(), ENROLLMENT_CODE_LEN + 2);
        let canonical = normalize_enrollment_code(&code).unwrap();
        assert_eq!(
            normalize_enrollment_code(&code.to_lowercase()).unwrap(),
            canonical
        );
        assert_eq!(
            normalize_enrollment_code(&canonical.replace('0', "o")).unwrap(),
            canonical
        );
        assert_eq!(
            normalize_enrollment_code("7k3m qx9d 2hbt").unwrap(),
            "7K3MQX9D2HBT"
        );
    }

    #[test]
    fn a_code_of_the_wrong_length_or_alphabet_is_refused() {
        assert!(normalize_enrollment_code("ABC").is_none());
        assert!(normalize_enrollment_code("7K3M-QX9D-2HBU").is_none());
        assert!(normalize_enrollment_code("7K3M-QX9D-2HBT-9").is_none());
    }

    #[test]
    fn tokens_are_random_and_digests_are_stable() {
        assert_ne!(new_refresh_token(), new_refresh_token());
        assert_eq!(new_refresh_token().len(), 64);
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
