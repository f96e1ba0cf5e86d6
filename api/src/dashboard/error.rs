//! Errors of dashboard pages, answered as HTML pages (or a redirect to sign in), never as the
//! API's JSON. Causes of internal errors are logged by [`ApiError`], never shown.

use crate::dashboard::auth::SignedIn;
use crate::dashboard::layout::{self, Layout};
use crate::error::ApiError;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{FromRequest, HttpMessage, HttpResponse, ResponseError};
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
    /// The answer to this error: a redirect to sign in, or an error page in the layout of
    /// `signed_in` (navigation and sign-out included) when the request had a live session.
    pub fn page(&self, signed_in: Option<&SignedIn>) -> HttpResponse {
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
            layout: signed_in.map_or_else(|| Layout::anonymous(title), |s| s.layout(title, "")),
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

/// Re-renders an error page of a request that had a live session in the signed-in layout, so a
/// 404 or a refused form keeps the navigation and the sign-out button. An error answer is built
/// without the request: the session is the one the request's [`SignedIn`] found (kept in its
/// extensions), or, when extraction stopped before it (a malformed address), looked up now.
pub fn in_signed_in_layout<B: 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_page_error = res
        .response()
        .error()
        .and_then(|e| e.as_error::<PageError>())
        .is_some_and(|e| !matches!(e, PageError::SignIn(_)));
    if !is_page_error {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    Ok(ErrorHandlerResponse::Future(Box::pin(async move {
        let found = res.request().extensions().get::<SignedIn>().cloned();
        let signed_in = match found {
            Some(s) => Some(s),
            None => SignedIn::extract(res.request()).await.ok(),
        };
        let page = match (&signed_in, res.response().error()) {
            (Some(s), Some(e)) => e.as_error::<PageError>().map(|p| p.page(Some(s))),
            _ => None,
        };
        Ok(match page {
            Some(page) => res.into_response(page).map_into_right_body(),
            None => res.map_into_left_body(),
        })
    })))
}
