//! The pull cursor: how far a device has read each patient's change stream.
//!
//! Opaque to clients. Inside it is one `(patient, seq)` pair per patient the caller has read:
//! per-patient streams are what make pulls exact (a global sequence number can be handed out
//! before an earlier-numbered transaction commits, and a cursor past it would skip that change
//! forever). Text form: `v1` then `.<patient uuid, 32 hex>-<seq>` per patient; URL-safe as is.

use crate::error::ApiError;
use std::collections::BTreeMap;
use uuid::Uuid;

const VERSION: &str = "v1";

/// Per-patient read positions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    positions: BTreeMap<Uuid, i64>,
}

impl Cursor {
    /// How far `patient`'s stream has been read (0: not at all).
    pub fn position(&self, patient: Uuid) -> i64 {
        self.positions.get(&patient).copied().unwrap_or(0)
    }

    /// Records that `patient`'s stream has been read through `seq`.
    pub fn set(&mut self, patient: Uuid, seq: i64) {
        self.positions.insert(patient, seq);
    }

    /// Forgets patients the caller may no longer read, so the cursor does not grow without bound.
    pub fn retain(&mut self, readable: &[Uuid]) {
        self.positions
            .retain(|p, _| readable.binary_search(p).is_ok());
    }

    /// The text form.
    pub fn encode(&self) -> String {
        let mut out = String::from(VERSION);
        for (patient, seq) in &self.positions {
            out.push('.');
            out.push_str(&patient.simple().to_string());
            out.push('-');
            out.push_str(&seq.to_string());
        }
        out
    }

    /// Parses the text form; anything else is a 422 `invalid_cursor`.
    pub fn decode(text: &str) -> Result<Self, ApiError> {
        let invalid = || {
            ApiError::validation(
                "invalid_cursor",
                "the cursor is not one this server issued; pull without a cursor to start over",
            )
        };
        let mut parts = text.split('.');
        if parts.next() != Some(VERSION) {
            return Err(invalid());
        }
        let mut positions = BTreeMap::new();
        for part in parts {
            let (patient, seq) = part.split_once('-').ok_or_else(invalid)?;
            if patient.len() != 32 {
                return Err(invalid());
            }
            let patient = Uuid::try_parse(patient).map_err(|_| invalid())?;
            let seq: i64 = seq.parse().map_err(|_| invalid())?;
            if seq < 0 {
                return Err(invalid());
            }
            positions.insert(patient, seq);
        }
        Ok(Self { positions })
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_through_its_text_form() {
        let mut c = Cursor::default();
        c.set(Uuid::from_u128(7), 42);
        c.set(Uuid::from_u128(3), 0);
        let text = c.encode();
        assert!(text.starts_with("v1."));
        assert!(text
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '-'));
        assert_eq!(Cursor::decode(&text).unwrap(), c);
        assert_eq!(Cursor::decode("v1").unwrap(), Cursor::default());
    }

    #[test]
    fn a_forged_or_damaged_cursor_is_refused() {
        for bad in [
            "",
            "v2",
            "v1.xyz-1",
            "v1.00000000000000000000000000000007-x",
            "v1.00000000000000000000000000000007--1",
        ] {
            assert_eq!(
                Cursor::decode(bad).unwrap_err().code(),
                "invalid_cursor",
                "{bad}"
            );
        }
    }

    #[test]
    fn retain_drops_patients_no_longer_readable() {
        let mut c = Cursor::default();
        c.set(Uuid::from_u128(1), 5);
        c.set(Uuid::from_u128(2), 6);
        c.retain(&[Uuid::from_u128(2)]);
        assert_eq!(
            (
                c.position(Uuid::from_u128(1)),
                c.position(Uuid::from_u128(2))
            ),
            (0, 6)
        );
    }
}
