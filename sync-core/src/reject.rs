//! Why an op was refused: a stable machine-readable code plus a human message.
//!
//! The codes are part of the protocol (phones switch on them), so they serialise as fixed
//! snake_case strings and are only ever added to, never renamed. Messages never quote the
//! rejected value: it may be patient text, and rejections end up in logs.

use serde::{Deserialize, Serialize};

use crate::hlc::ClockError;

/// Stable reason codes, serialised as snake_case strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// The op is not valid JSON of the op shape.
    MalformedOp,
    /// The op id is not a UUID v7.
    InvalidOpId,
    /// `device_seq` is 0 (device counters start at 1).
    InvalidDeviceSeq,
    /// The document kind is not one of the known kinds.
    UnknownKind,
    /// The kind has no such field.
    UnknownField,
    /// The value has the wrong JSON type for the field.
    WrongType,
    /// A number outside the field's range.
    OutOfRange,
    /// A string longer than the field allows.
    TooLong,
    /// A string that is not one of the field's allowed values.
    UnknownEnumValue,
    /// A set element that is neither built in nor a well-formed custom entry.
    InvalidSetElement,
    /// A link that is not an `https://` URL.
    InvalidUrl,
    /// The author's role may not write this field of this kind.
    ForbiddenField,
    /// The author is not the patient, nor on the patient's care team.
    NotYourPatient,
    /// The op's HLC is further in the future than the server allows.
    ClockTooFarAhead,
    /// Text holding a control character other than tab, line feed or carriage return (see
    /// [`crate::text`]).
    ControlCharacter,
}

impl RejectCode {
    /// Every code, for documentation and exhaustive tests.
    pub const ALL: [RejectCode; 15] = [
        RejectCode::MalformedOp,
        RejectCode::InvalidOpId,
        RejectCode::InvalidDeviceSeq,
        RejectCode::UnknownKind,
        RejectCode::UnknownField,
        RejectCode::WrongType,
        RejectCode::OutOfRange,
        RejectCode::TooLong,
        RejectCode::UnknownEnumValue,
        RejectCode::InvalidSetElement,
        RejectCode::InvalidUrl,
        RejectCode::ForbiddenField,
        RejectCode::NotYourPatient,
        RejectCode::ClockTooFarAhead,
        RejectCode::ControlCharacter,
    ];

    /// The wire spelling, e.g. `"out_of_range"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::MalformedOp => "malformed_op",
            RejectCode::InvalidOpId => "invalid_op_id",
            RejectCode::InvalidDeviceSeq => "invalid_device_seq",
            RejectCode::UnknownKind => "unknown_kind",
            RejectCode::UnknownField => "unknown_field",
            RejectCode::WrongType => "wrong_type",
            RejectCode::OutOfRange => "out_of_range",
            RejectCode::TooLong => "too_long",
            RejectCode::UnknownEnumValue => "unknown_enum_value",
            RejectCode::InvalidSetElement => "invalid_set_element",
            RejectCode::InvalidUrl => "invalid_url",
            RejectCode::ForbiddenField => "forbidden_field",
            RejectCode::NotYourPatient => "not_your_patient",
            RejectCode::ClockTooFarAhead => "clock_too_far_ahead",
            RejectCode::ControlCharacter => "control_character",
        }
    }
}

/// A refused op: `code` for machines, `message` for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct Rejection {
    /// Stable reason code.
    pub code: RejectCode,
    /// Human-readable explanation; never contains the rejected value.
    pub message: String,
}

impl Rejection {
    /// A rejection with `code` and `message`.
    pub fn new(code: RejectCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<ClockError> for Rejection {
    fn from(e: ClockError) -> Self {
        let code = match e {
            ClockError::TooFarAhead { .. } => RejectCode::ClockTooFarAhead,
            ClockError::CounterOverflow | ClockError::WallOutOfRange { .. } => {
                RejectCode::OutOfRange
            }
        };
        Rejection::new(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_as_their_stable_snake_case_names() {
        for code in RejectCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
