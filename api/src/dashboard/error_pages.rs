//! Error pages in the signed-in layout: an error answer is built without its request, so the
//! dashboard scope's error handler puts the navigation and sign-out back for a counselor with a
//! live session.

use crate::dashboard::auth::SignedIn;
use crate::dashboard::error::PageError;
use actix_web::dev::ServiceResponse;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{FromRequest, HttpMessage};

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
            (Some(s), Some(e)) => {
                let layout = |title: &str| s.layout(title, "");
                e.as_error::<PageError>().map(|p| p.page(Some(&layout)))
            }
            _ => None,
        };
        Ok(match page {
            Some(page) => res.into_response(page).map_into_right_body(),
            None => res.map_into_left_body(),
        })
    })))
}
