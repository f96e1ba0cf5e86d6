//! The one error type every handler returns.
//!
//! Each variant has an explicit HTTP status and a stable snake_case `code`; the body is always
//! `{"error":{"code":"…","message":"…"}}`. Internal causes are logged (never sent) and carry no
//! patient text or secrets, because nothing that reaches them formats a [`crate::secret::Secret`].
//!
//! This module sits below every other one in the crate: it imports nothing from it (the database
//! layer converts its own pool errors).

mod code;

pub use code::{ErrorCode, Reach};

use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use std::error::Error as StdError;
use sync_core::wire::ErrorBody;

/// The cause of an internal error: any error, or a message of our own.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request body or query is well-formed JSON but breaks a rule.
    #[error("{message}")]
    Validation {
        /// Stable machine-readable code.
        code: ErrorCode,
        /// What is wrong, for a person.
        message: String,
    },
    /// The body is not JSON or not the expected shape.
    #[error("{0}")]
    BadRequest(String),
    /// Wrong `Content-Type`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Body larger than the configured limit.
    #[error("the request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// No or unusable credentials (401).
    #[error("{message}")]
    Unauthorized {
        /// `missing_token`, `invalid_token`, `token_expired`, `invalid_credentials`, …
        code: ErrorCode,
        /// What happened, for a person.
        message: String,
    },
    /// Authenticated but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// Nothing here, or nothing this caller may know exists (404).
    #[error("{0}")]
    NotFound(String),
    /// Wrong method for an existing path (405).
    #[error("this path does not accept that method; it accepts {allow}")]
    MethodNotAllowed {
        /// The methods the path accepts, for the `Allow` header.
        allow: String,
    },
    /// A uniqueness or state conflict (409).
    #[error("{message}")]
    Conflict {
        /// Stable machine-readable code.
        code: ErrorCode,
        /// What conflicts.
        message: String,
    },
    /// A one-time thing that is no longer usable (410).
    #[error("{message}")]
    Gone {
        /// Stable machine-readable code.
        code: ErrorCode,
        /// What expired.
        message: String,
    },
    /// Too many attempts (429).
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    RateLimited {
        /// Seconds until the window resets.
        retry_after_secs: u64,
    },
    /// The database could not be reached in time (503).
    #[error("the service is temporarily unavailable; try again shortly")]
    Unavailable,
    /// A bug or an unexpected failure (500). The cause (and its sources) is logged, never sent.
    #[error("an internal error occurred")]
    Internal(#[source] BoxError),
}

impl ApiError {
    /// A 422 with a code and message.
    pub fn validation(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Validation {
            code,
            message: message.into(),
        }
    }

    /// A 401 with a code and message.
    pub fn unauthorized(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }

    /// A 500 whose cause is logged: an error (kept with its sources) or a message of our own.
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Self::Internal(cause.into())
    }

    /// A 500 whose cause is logged after what was being done (`"database"`).
    pub fn internal_context(context: &'static str, cause: impl Into<BoxError>) -> Self {
        Self::Internal(Box::new(Context {
            context,
            source: cause.into(),
        }))
    }

    /// The stable machine-readable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Validation { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Conflict { code, .. }
            | Self::Gone { code, .. } => *code,
            Self::BadRequest(_) => ErrorCode::InvalidJson,
            Self::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            Self::RateLimited { .. } => ErrorCode::TooManyAttempts,
            Self::Unavailable => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

/// What was being done when an internal error happened, in front of its cause.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
struct Context {
    context: &'static str,
    #[source]
    source: BoxError,
}

/// Displays an error and every source under it, `outer: inner: innermost`, for the log.
pub struct CauseChain<'a>(pub &'a (dyn StdError + 'static));

impl std::fmt::Display for CauseChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl ResponseError for ApiError {
    /// The status belongs to the code ([`ErrorCode::status`]), so an answer cannot carry a code
    /// under a status the contract does not document it with.
    fn status_code(&self) -> StatusCode {
        self.code()
            .status()
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            tracing::error!(cause = %CauseChain(cause.as_ref()), "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::RateLimited { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::Unavailable => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            Self::Unauthorized { .. } => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            _ => {}
        }
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        response.json(ErrorBody::new(self.code().as_str(), self.to_string()))
    }
}

/// The last line of "JSON errors everywhere": any error response that did not come from an
/// [`ApiError`] (a body the framework could not read, a malformed request line, …) is rewritten
/// into the same `{"error":{"code","message"}}` shape, with a code derived from its status.
pub fn json_error_fallback<B>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // JSON errors pass as they are, and so do the dashboard's HTML error pages.
    let is_json_or_page = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
    });
    if is_json_or_page {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let code = ErrorCode::for_framework_status(status);
    let message = status
        .canonical_reason()
        .unwrap_or("the request failed")
        .to_lowercase();
    let (req, _) = res.into_parts();
    let response = HttpResponse::build(status).json(ErrorBody::new(code.as_str(), message));
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::Error;
        match err {
            Error::NotFound => Self::NotFound("not found".into()),
            // The connection went away under the request (a PostgreSQL restart or fail-over, a
            // proxy or the network cutting it): transient, so the phone is told to retry, which
            // is safe because every write is idempotent. The pool replaces the connection.
            lost if is_connection_lost(&lost) => {
                tracing::warn!(cause = %lost, "database connection lost");
                Self::Unavailable
            }
            // A connection lost at COMMIT (diesel then fails to roll back as well): whether the
            // transaction committed is unknown, and that is what a retry of an idempotent write
            // settles.
            Error::RollbackErrorOnCommit { commit_error, .. }
                if is_connection_lost(&commit_error) =>
            {
                Self::from(*commit_error)
            }
            other => Self::internal_context("database", other),
        }
    }
}

/// Whether diesel says the connection itself is gone (closed, or a command could not be sent).
fn is_connection_lost(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        err,
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

impl From<actix_web::error::JsonPayloadError> for ApiError {
    fn from(err: actix_web::error::JsonPayloadError) -> Self {
        use actix_web::error::JsonPayloadError as E;
        match err {
            E::ContentType => Self::UnsupportedMediaType(
                "the request body must be JSON (Content-Type: application/json)".into(),
            ),
            E::Overflow { limit } | E::OverflowKnownLength { limit, .. } => {
                Self::PayloadTooLarge { limit }
            }
            E::Deserialize(e) => Self::BadRequest(describe_json_error(&e)),
            other => Self::BadRequest(format!("the request body could not be read: {other}")),
        }
    }
}

/// Describes a JSON error by its category and position only: serde's messages can quote the
/// offending input, which may be a password or patient text.
pub fn describe_json_error(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Syntax | Category::Eof => "the request body is not valid JSON",
        Category::Data => {
            return format!(
                "the request body does not have the expected shape: {}",
                shape_hint(err)
            )
        }
        Category::Io => "the request body could not be read",
    };
    format!("{what} (line {}, column {})", err.line(), err.column())
}

/// The part of a serde data error that names fields, never values: "missing field `x`" and
/// "unknown field `x`" are kept, "invalid type: string \"…\"" is reduced to its kind.
fn shape_hint(err: &serde_json::Error) -> String {
    let text = err.to_string();
    if text.starts_with("missing field") || text.starts_with("unknown field") {
        text.split(" at line").next().unwrap_or("").to_string()
    } else if text.starts_with("invalid type") || text.starts_with("invalid value") {
        format!(
            "a value has the wrong type (line {}, column {})",
            err.line(),
            err.column()
        )
    } else {
        format!("line {}, column {}", err.line(), err.column())
    }
}

impl From<actix_web::error::QueryPayloadError> for ApiError {
    fn from(_: actix_web::error::QueryPayloadError) -> Self {
        Self::validation(
            ErrorCode::InvalidQuery,
            "the query string has a missing or malformed parameter",
        )
    }
}

impl From<actix_web::error::PathError> for ApiError {
    fn from(_: actix_web::error::PathError) -> Self {
        Self::NotFound("no such resource".into())
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn a_json_type_error_never_quotes_the_offending_value() {
        #[derive(Debug, serde::Deserialize)]
        #[expect(dead_code, reason = "only deserialised")]
        struct Login {
            password: u32,
        }
        let err = serde_json::from_str::<Login>(r#"{"password":"hunter2-secret"}"#).unwrap_err();
        let described = describe_json_error(&err);
        assert!(!described.contains("hunter2"), "{described}");
        assert!(described.contains("wrong type"), "{described}");
    }

    #[test]
    fn an_internal_error_keeps_its_cause_chain_for_the_log_and_answers_none_of_it() {
        let io = std::io::Error::other("disk on fire");
        let err = ApiError::internal_context("database", io);
        let ApiError::Internal(cause) = &err else {
            panic!("not internal: {err:?}");
        };
        assert_eq!(
            CauseChain(cause.as_ref()).to_string(),
            "database: disk on fire"
        );
        assert_eq!(err.to_string(), "an internal error occurred");
        assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = actix_web::body::to_bytes(err.error_response().into_body());
        let body = read_body(body);
        assert!(!body.contains("disk"), "{body}");
        assert!(body.contains("\"internal\""), "{body}");
    }

    fn read_body<B>(body: B) -> String
    where
        B: std::future::Future<Output = Result<actix_web::web::Bytes, Box<dyn StdError>>>,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = runtime.block_on(body).unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn a_plain_message_is_a_cause_too() {
        let err = ApiError::internal("the writer has stopped");
        assert_eq!(err.code(), "internal");
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn a_missing_field_is_named() {
        #[derive(Debug, serde::Deserialize)]
        #[expect(dead_code, reason = "only deserialised")]
        struct Login {
            email: String,
        }
        let err = serde_json::from_str::<Login>("{}").unwrap_err();
        assert_eq!(
            describe_json_error(&err),
            "the request body does not have the expected shape: missing field `email`"
        );
    }
}
