//! The machine-readable codes of error answers, one enum so a code cannot be misspelled, and
//! the one place that says which HTTP status each code is answered with.
//!
//! `openapi.yaml` documents each code (the list under `ErrorDetail.code` and the `x-error-codes`
//! of every response that can carry it); the black-box test `error_codes` fails when the two
//! disagree.

use actix_web::http::StatusCode;
use serde::{Serialize, Serializer};

/// Where a code can be seen, which decides where `openapi.yaml` must document it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Answered by a handler, an extractor or a middleware: documented under every response that
    /// can carry it.
    Answered,
    /// Only the JSON fallback's rewrite of an error the framework raised outside the handlers,
    /// derived from its status: a safety net no known request reaches, documented in the list of
    /// codes only.
    Fallback,
    /// Never answered as JSON: carried inside the server to a dashboard page or to the demo
    /// command's message, and documented nowhere in the contract.
    NotOnTheWire,
}

/// Declares [`ErrorCode`] with each code's spelling, status and reach on one line, so
/// [`ErrorCode::ALL`] cannot miss a variant.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $wire:literal, $status:ident, $reach:ident;)+) => {
        /// A stable, snake_case error code: the `code` of `{"error":{"code","message"}}`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The code as it is spelled on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire,)+
                }
            }

            /// The status an answer with this code has. `None` only for `request_failed`, the
            /// fallback's code for an error status no other code names, which keeps the
            /// framework's status.
            pub const fn status(self) -> Option<StatusCode> {
                match self {
                    $(ErrorCode::$variant => error_codes!(@status $status),)+
                }
            }

            /// Where the code can be seen.
            pub const fn reach(self) -> Reach {
                match self {
                    $(ErrorCode::$variant => Reach::$reach,)+
                }
            }
        }
    };
    (@status ANY) => { None };
    (@status $status:ident) => { Some(StatusCode::$status) };
}

error_codes! {
    /// The body is not JSON or does not have the expected shape.
    InvalidJson = "invalid_json", BAD_REQUEST, Answered;
    /// A query parameter is missing, malformed or out of range.
    InvalidQuery = "invalid_query", UNPROCESSABLE_ENTITY, Answered;
    /// The body is not `application/json`.
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, Answered;
    /// The body is larger than the configured limit.
    PayloadTooLarge = "payload_too_large", PAYLOAD_TOO_LARGE, Answered;
    /// No `Authorization: Bearer` header.
    MissingToken = "missing_token", UNAUTHORIZED, Answered;
    /// The access token is not one this server issued, or its account is gone.
    InvalidToken = "invalid_token", UNAUTHORIZED, Answered;
    /// The access token is past its lifetime.
    TokenExpired = "token_expired", UNAUTHORIZED, Answered;
    /// The session was signed out or revoked.
    SessionRevoked = "session_revoked", UNAUTHORIZED, Answered;
    /// The session is past its absolute lifetime.
    SessionExpired = "session_expired", UNAUTHORIZED, Answered;
    /// The email or password is wrong.
    InvalidCredentials = "invalid_credentials", UNAUTHORIZED, Answered;
    /// No such refresh token.
    InvalidRefreshToken = "invalid_refresh_token", UNAUTHORIZED, Answered;
    /// A refresh token presented twice: its session family is revoked.
    RefreshTokenReused = "refresh_token_reused", UNAUTHORIZED, Answered;
    /// The refresh token is past its lifetime.
    RefreshTokenExpired = "refresh_token_expired", UNAUTHORIZED, Answered;
    /// No such enrollment code.
    InvalidEnrollmentCode = "invalid_enrollment_code", UNAUTHORIZED, Answered;
    /// Authenticated, but this is not the caller's to do.
    Forbidden = "forbidden", FORBIDDEN, Answered;
    /// Nothing here, or nothing the caller may know exists.
    NotFound = "not_found", NOT_FOUND, Answered;
    /// The path exists but does not accept the method.
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED, Answered;
    /// The email already has an account at this clinic.
    EmailTaken = "email_taken", CONFLICT, Answered;
    /// The enrollment code was already redeemed.
    EnrollmentCodeUsed = "enrollment_code_used", CONFLICT, Answered;
    /// The enrollment code is past its lifetime.
    EnrollmentCodeExpired = "enrollment_code_expired", GONE, Answered;
    /// Too many attempts from this address or for this account.
    TooManyAttempts = "too_many_attempts", TOO_MANY_REQUESTS, Answered;
    /// The database could not be reached in time.
    Unavailable = "unavailable", SERVICE_UNAVAILABLE, Answered;
    /// A bug or an unexpected failure; its cause is logged, never answered.
    Internal = "internal", INTERNAL_SERVER_ERROR, Answered;
    /// A password shorter or longer than allowed.
    WeakPassword = "weak_password", UNPROCESSABLE_ENTITY, Answered;
    /// Not an email address.
    InvalidEmail = "invalid_email", UNPROCESSABLE_ENTITY, Answered;
    /// A name (display, device or track name) that is empty, too long or has control characters.
    InvalidName = "invalid_name", UNPROCESSABLE_ENTITY, Answered;
    /// An admin enrolling a patient must name the counselor.
    CounselorRequired = "counselor_required", UNPROCESSABLE_ENTITY, Answered;
    /// The named counselor is not a counselor of the caller's clinic.
    UnknownCounselor = "unknown_counselor", UNPROCESSABLE_ENTITY, Answered;
    /// An IOP-hours range longer than allowed.
    RangeTooLong = "range_too_long", UNPROCESSABLE_ENTITY, Answered;
    /// A consent purpose this server does not know.
    InvalidPurpose = "invalid_purpose", UNPROCESSABLE_ENTITY, Answered;
    /// A consent expiry that is malformed or in the past.
    InvalidExpiry = "invalid_expiry", UNPROCESSABLE_ENTITY, Answered;
    /// A consent grantee that is malformed.
    InvalidGrantee = "invalid_grantee", UNPROCESSABLE_ENTITY, Answered;
    /// A push with more ops than allowed.
    BatchTooLarge = "batch_too_large", UNPROCESSABLE_ENTITY, Answered;
    /// A pull cursor this server did not issue, or from another epoch.
    InvalidCursor = "invalid_cursor", UNPROCESSABLE_ENTITY, Answered;
    /// A pull `limit` out of range.
    InvalidLimit = "invalid_limit", UNPROCESSABLE_ENTITY, Answered;
    /// The track cannot take enrollments.
    TrackNotEnrollable = "track_not_enrollable", UNPROCESSABLE_ENTITY, Answered;
    /// A time zone the IANA database does not know.
    UnknownTimeZone = "unknown_time_zone", UNPROCESSABLE_ENTITY, Answered;
    /// A track population this server does not know.
    InvalidPopulation = "invalid_population", UNPROCESSABLE_ENTITY, Answered;
    /// A date that is malformed or out of range.
    InvalidDate = "invalid_date", UNPROCESSABLE_ENTITY, Answered;
    /// A number of weeks out of range.
    InvalidWeeks = "invalid_weeks", UNPROCESSABLE_ENTITY, Answered;
    /// A track schedule that is empty or too long.
    InvalidSchedule = "invalid_schedule", UNPROCESSABLE_ENTITY, Answered;
    /// A slot's first week out of range.
    InvalidFromWeek = "invalid_from_week", UNPROCESSABLE_ENTITY, Answered;
    /// A slot's weekdays that are empty, repeated or unknown.
    InvalidDays = "invalid_days", UNPROCESSABLE_ENTITY, Answered;
    /// A slot's start time that is malformed.
    InvalidTime = "invalid_time", UNPROCESSABLE_ENTITY, Answered;
    /// A slot's duration out of range.
    InvalidDuration = "invalid_duration", UNPROCESSABLE_ENTITY, Answered;
    /// A session kind this server does not know.
    UnknownSessionKind = "unknown_session_kind", UNPROCESSABLE_ENTITY, Answered;
    /// A slot title that is empty, too long or has control characters.
    InvalidTitle = "invalid_title", UNPROCESSABLE_ENTITY, Answered;
    /// Two slots at the same weekday and time.
    DuplicateSlot = "duplicate_slot", UNPROCESSABLE_ENTITY, Answered;
    /// More sessions on one day than allowed.
    TooManySessionsPerDay = "too_many_sessions_per_day", UNPROCESSABLE_ENTITY, Answered;
    /// More sessions in one week than allowed.
    TooManySessionsPerWeek = "too_many_sessions_per_week", UNPROCESSABLE_ENTITY, Answered;
    /// More sessions in the whole track than allowed.
    TooManySessions = "too_many_sessions", UNPROCESSABLE_ENTITY, Answered;
    /// The fallback's code for a 400 the framework raised outside the handlers.
    BadRequest = "bad_request", BAD_REQUEST, Fallback;
    /// The fallback's code for a 408.
    RequestTimeout = "request_timeout", REQUEST_TIMEOUT, Fallback;
    /// The fallback's code for a 431.
    HeadersTooLarge = "headers_too_large", REQUEST_HEADER_FIELDS_TOO_LARGE, Fallback;
    /// The fallback's code for an error status no other code names (it keeps that status).
    RequestFailed = "request_failed", ANY, Fallback;
    /// A dashboard form value refused: carried through the database helper to the dashboard's
    /// HTML page, which shows its message.
    Invalid = "invalid", UNPROCESSABLE_ENTITY, NotOnTheWire;
    /// The demo command found its clinic already loaded; it reports the message on its terminal.
    DemoExists = "demo_exists", CONFLICT, NotOnTheWire;
}

impl ErrorCode {
    /// The code the JSON fallback gives an error the framework raised outside the handlers: the
    /// one whose status it is, any server error being `internal`.
    pub fn for_framework_status(status: StatusCode) -> Self {
        const BY_STATUS: [ErrorCode; 7] = [
            ErrorCode::BadRequest,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::RequestTimeout,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::HeadersTooLarge,
        ];
        if status.is_server_error() {
            return ErrorCode::Internal;
        }
        BY_STATUS
            .into_iter()
            .find(|code| code.status() == Some(status))
            .unwrap_or(ErrorCode::RequestFailed)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A code compares equal to its wire spelling, so a test can say
/// `assert_eq!(err.code(), "invalid_token")`.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_spelled_in_snake_case_once() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let wire = code.as_str();
            assert!(
                !wire.is_empty()
                    && wire
                        .split('_')
                        .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase())),
                "{wire}"
            );
            assert!(seen.insert(wire), "{wire} is declared twice");
        }
    }

    #[test]
    fn a_code_serializes_as_its_wire_spelling() {
        assert_eq!(
            serde_json::to_string(&ErrorCode::TooManySessionsPerDay).ok(),
            Some("\"too_many_sessions_per_day\"".to_string())
        );
    }

    #[test]
    fn the_fallback_derives_its_codes_from_the_status_as_before() {
        let cases = [
            (400, "bad_request"),
            (404, "not_found"),
            (405, "method_not_allowed"),
            (408, "request_timeout"),
            (413, "payload_too_large"),
            (415, "unsupported_media_type"),
            (431, "headers_too_large"),
            (500, "internal"),
            (503, "internal"),
            (599, "internal"),
            (401, "request_failed"),
            (411, "request_failed"),
            (422, "request_failed"),
        ];
        for (status, wire) in cases {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT);
            assert_eq!(ErrorCode::for_framework_status(status), wire, "{status}");
        }
    }

    #[test]
    fn only_the_fallbacks_catch_all_has_no_status_of_its_own() {
        let without: Vec<ErrorCode> = ErrorCode::ALL
            .iter()
            .copied()
            .filter(|c| c.status().is_none())
            .collect();
        assert_eq!(without, vec![ErrorCode::RequestFailed]);
    }
}
