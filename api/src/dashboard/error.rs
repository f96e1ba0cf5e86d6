//! Errors of dashboard pages, answered as HTML pages (or a redirect to sign in), never as the
//! API's JSON. Causes of internal errors are logged by [`ApiError`], never shown.

use crate::dashboard::layout::{self, Layout};
use crate::error::ApiError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

/// Why the browser is sent to the sign-in page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInReason {
    /// No session cookie, or a session that no longer exists.
    Required,
    /// The session was ended for inactivity (or age).
    Idle,
}

impl SignInReason {
    /// The `reason` query value of the sign-in page.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInReason::Required => "required",
            SignInReason::Idle => "idle",
        }
    }
}

/// Every way a dashboard request can fail.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not signed in (or no longer): 303 to the sign-in page, deleting the session cookie.
    #[error("sign in to continue")]
    SignIn(SignInReason),
    /// Nothing here, or nothing this counselor may see (a patient without consent).
    #[error("There is nothing here, or you may not see it.")]
    NotFound,
    /// The form or address is malformed.
    #[error("{0}")]
    BadRequest(&'static str),
    /// A form post without the right CSRF token.
    #[error(
        "This form has expired or did not come from this dashboard. Reload the page and try again."
    )]
    Csrf,
    /// A form value the write path refused, in words for the counselor.
    #[error("{0}")]
    Invalid(String),
    /// Anything the shared code reports.
    #[error(transparent)]
    Api(#[from] ApiError),
}

#[derive(Template)]
#[template(path = "dashboard/error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    message: String,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn(_) => StatusCode::SEE_OTHER,
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::Csrf => StatusCode::FORBIDDEN,
            PageError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            PageError::Api(ApiError::NotFound(_)) => StatusCode::NOT_FOUND,
            PageError::Api(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.page(None)
    }
}

impl PageError {
    /// The answer to this error: a redirect to sign in, or an error page, in the layout
    /// `signed_in` makes for a page of that title when the request had a live session
    /// (navigation and sign-out included), else the anonymous one.
    pub fn page(&self, signed_in: Option<&dyn Fn(&str) -> Layout>) -> HttpResponse {
        if let PageError::SignIn(reason) = self {
            return HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!(
                        "{}/sign-in?reason={}",
                        crate::dashboard::ROOT,
                        reason.as_str()
                    ),
                ))
                .insert_header((
                    header::SET_COOKIE,
                    crate::dashboard::cookie::clear(crate::dashboard::cookie::SESSION),
                ))
                .finish();
        }
        let status = self.status_code();
        let message = match self {
            PageError::Api(ApiError::NotFound(_)) => PageError::NotFound.to_string(),
            PageError::Api(ApiError::Internal(cause)) => {
                tracing::error!(cause = %crate::error::CauseChain(cause.as_ref()), "internal error");
                "Something went wrong on our side. Try again, and tell your administrator if it keeps happening.".into()
            }
            PageError::Api(ApiError::Unavailable) => {
                "The service is busy. Try again in a few seconds.".into()
            }
            other => other.to_string(),
        };
        let title = status.canonical_reason().unwrap_or("Error");
        let page = ErrorPage {
            layout: signed_in.map_or_else(|| Layout::anonymous(title), |layout| layout(title)),
            status: status.as_u16(),
            message,
        };
        let mut response = HttpResponse::build(status);
        if let PageError::Api(ApiError::RateLimited { retry_after_secs }) = self {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        match page.render() {
            Ok(html) => response.content_type(layout::HTML).body(html),
            Err(_) => response
                .content_type("text/plain; charset=utf-8")
                .body(page.message),
        }
    }
}
