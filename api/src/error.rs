//! The one error type every handler returns.
//!
//! Each variant has an explicit HTTP status and a stable snake_case `code`; the body is always
//! `{"error":{"code":"…","message":"…"}}`. Internal causes are logged (never sent) and carry no
//! patient text or secrets, because nothing that reaches them formats a [`crate::secret::Secret`].

use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request body or query is well-formed JSON but breaks a rule.
    #[error("{message}")]
    Validation {
        /// Stable machine-readable code.
        code: &'static str,
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
        code: &'static str,
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
        code: &'static str,
        /// What conflicts.
        message: String,
    },
    /// A one-time thing that is no longer usable (410).
    #[error("{message}")]
    Gone {
        /// Stable machine-readable code.
        code: &'static str,
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
    /// A bug or an unexpected failure (500). The cause is logged, not sent.
    #[error("an internal error occurred")]
    Internal(String),
}

impl ApiError {
    /// A 422 with a code and message.
    pub fn validation(code: &'static str, message: impl Into<String>) -> Self {
        Self::Validation {
            code,
            message: message.into(),
        }
    }

    /// A 401 with a code and message.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }

    /// A 500 whose cause is logged.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Conflict { code, .. }
            | Self::Gone { code, .. } => code,
            Self::BadRequest(_) => "invalid_json",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::RateLimited { .. } => "too_many_attempts",
            Self::Unavailable => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Gone { .. } => StatusCode::GONE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            tracing::error!(cause = %cause, "internal error");
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
        response.json(ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
            },
        })
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
    let code = match status.as_u16() {
        400 => "bad_request",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        431 => "headers_too_large",
        500..=599 => "internal",
        _ => "request_failed",
    };
    let message = status
        .canonical_reason()
        .unwrap_or("the request failed")
        .to_lowercase();
    let (req, _) = res.into_parts();
    let response = HttpResponse::build(status).json(ErrorBody {
        error: ErrorDetail { code, message },
    });
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
            other => Self::internal(format!("database: {other}")),
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

impl From<crate::db::PoolError> for ApiError {
    fn from(err: crate::db::PoolError) -> Self {
        tracing::warn!(cause = %err, "no database connection available");
        Self::Unavailable
    }
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
            "invalid_query",
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
