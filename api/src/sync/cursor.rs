//! The pull cursor: a small token naming one state of the calling device's read positions.
//!
//! Opaque to clients. The positions themselves (one per patient the device has read, see
//! [`crate::repo::pull_positions`]) live on the server, keyed by the device of the access token;
//! the cursor names an epoch of them, so its size does not depend on the caseload. Per-patient
//! streams are still what make pulls exact (a global sequence number can be handed out before an
//! earlier-numbered transaction commits, and a position past it would skip that change forever).
//!
//! Text form: `v2.<epoch>`, the epoch a decimal number; URL-safe as is. `v1` cursors (which
//! carried every position) are refused like any other unknown cursor: the phone starts over.

use crate::error::ApiError;
use crate::error::ErrorCode;

const PREFIX: &str = "v2.";

/// Longest epoch text accepted (`i64::MAX` has 19 digits).
const MAX_DIGITS: usize = 19;

/// An epoch of a device's read positions, as a pull names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The epoch.
    pub epoch: i64,
}

impl Cursor {
    /// The text form.
    pub fn encode(self) -> String {
        format!("{PREFIX}{}", self.epoch)
    }

    /// Parses the text form; anything else is a 422 `invalid_cursor`.
    pub fn decode(text: &str) -> Result<Self, ApiError> {
        let epoch = text
            .strip_prefix(PREFIX)
            .filter(|digits| {
                !digits.is_empty()
                    && digits.len() <= MAX_DIGITS
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && (digits == &"0" || !digits.starts_with('0'))
            })
            .and_then(|digits| digits.parse::<i64>().ok())
            .ok_or_else(invalid)?;
        Ok(Self { epoch })
    }
}

/// The refusal of a cursor this server did not issue to this device, or no longer honours.
pub fn invalid() -> ApiError {
    ApiError::validation(
        ErrorCode::InvalidCursor,
        "the cursor is not one this server issued; pull without a cursor to start over",
    )
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_through_its_text_form() {
        for epoch in [0, 1, 42, i64::MAX] {
            let text = Cursor { epoch }.encode();
            assert!(text.starts_with("v2."));
            assert!(text.len() <= 22, "{text}");
            assert!(text
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '.'));
            assert_eq!(Cursor::decode(&text).unwrap(), Cursor { epoch });
        }
    }

    #[test]
    fn a_forged_damaged_or_old_cursor_is_refused() {
        for bad in [
            "",
            "v2",
            "v2.",
            "v2.-1",
            "v2.+1",
            "v2.01",
            "v2.1x",
            "v2.99999999999999999999",
            "v1",
            "v1.00000000000000000000000000000007-1",
        ] {
            assert_eq!(
                Cursor::decode(bad).unwrap_err().code(),
                "invalid_cursor",
                "{bad}"
            );
        }
    }
}
