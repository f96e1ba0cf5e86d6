//! Small validated domain types that handlers parse request fields into.

use crate::error::ApiError;
use crate::error::ErrorCode;
use serde::{Deserialize, Serialize};

/// What a user is to the clinic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Creates counselor accounts and enrolls patients.
    Admin,
    /// Reviews consented patients on their caseload, schedules sessions.
    Counselor,
    /// Logs check-ins and exercises from their phone.
    Patient,
}

impl Role {
    /// The stored text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Counselor => "counselor",
            Self::Patient => "patient",
        }
    }

    /// Parses the stored text form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "counselor" => Some(Self::Counselor),
            "patient" => Some(Self::Patient),
            _ => None,
        }
    }
}

/// A sign-in email address, trimmed and lower-cased so the same person cannot hold two accounts
/// that differ only in case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Longest address accepted (RFC 5321 path limit).
    pub const MAX_LEN: usize = 254;

    /// Validates the shape `local@domain` with a dot in the domain; deliverability is not checked.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= Self::MAX_LEN
            && !email.chars().any(char::is_whitespace)
            && sync_core::text::is_one_line(&email)
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Self(email))
        } else {
            Err(ApiError::validation(
                ErrorCode::InvalidEmail,
                "the email address is not valid",
            ))
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's or a device's display name: trimmed, 1–100 characters, no control characters.
pub fn display_name(raw: &str, field: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    let count = name.chars().count();
    if count == 0 || count > 100 || !sync_core::text::is_one_line(name) {
        return Err(ApiError::validation(
            ErrorCode::InvalidName,
            format!("{field} must be 1 to 100 characters without control characters"),
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_malformed_ones_refused() {
        assert_eq!(
            Email::parse("  Dana@Clinic.Example ").map(|e| e.0).ok(),
            Some("dana@clinic.example".to_string())
        );
        for bad in [
            "",
            "dana",
            "dana@",
            "@clinic.example",
            "dana@clinic",
            "da na@c.example",
            "a@b@c.example",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn display_names_are_bounded() {
        assert!(display_name("  Sam  ", "name").is_ok());
        assert!(display_name("", "name").is_err());
        assert!(display_name(&"x".repeat(101), "name").is_err());
        assert!(display_name("a\u{0}b", "name").is_err());
    }

    #[test]
    fn roles_round_trip_through_text() {
        for role in [Role::Admin, Role::Counselor, Role::Patient] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
