//! What every page shares: the base template's data, rendering, redirects, the stylesheet and
//! the security headers of every dashboard answer.

use crate::dashboard::ROOT;
use crate::error::ApiError;
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::HttpResponse;
use askama::Template;

/// The content type of every page.
pub const HTML: &str = "text/html; charset=utf-8";

/// What `base.html` needs: the page title, who is signed in, the CSRF token for the sign-out
/// form (and any other form), and the idle time after which the page leaves itself.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The page title (no patient text: titles show in window lists and history).
    pub title: String,
    /// The signed-in counselor's name; `None` on the sign-in and error pages.
    pub counselor: Option<String>,
    /// The session's CSRF token, for every form on the page.
    pub csrf: String,
    /// Seconds after which the page reloads itself, so a screen left open does not keep
    /// patient records on display past the idle logoff (the reload finds the session ended and
    /// lands on the sign-in page). 0: no reload.
    pub refresh_secs: u64,
    /// Which navigation item is current (`caseload`, …), for `aria-current`.
    pub nav: &'static str,
    /// The idle logoff in words (`15 minutes`), for the footer; empty without a session.
    pub idle: String,
    /// The idle logoff in seconds, for the script that warns before it (0 without a session).
    pub idle_secs: u64,
}

impl Layout {
    /// The layout of a page seen without a session.
    pub fn anonymous(title: &str) -> Self {
        Self {
            title: title.to_string(),
            counselor: None,
            csrf: String::new(),
            refresh_secs: 0,
            nav: "",
            idle: String::new(),
            idle_secs: 0,
        }
    }
}

/// Renders a page with status 200. Generic over the error so that the layout does not depend on
/// the error pages, which are themselves rendered in this layout.
pub fn render<E: From<ApiError>>(page: &impl Template) -> Result<HttpResponse, E> {
    let html = page
        .render()
        .map_err(|e| ApiError::internal(format!("template: {e}")))?;
    Ok(HttpResponse::Ok().content_type(HTML).body(html))
}

/// A 303 See Other to `location` (after a form post, so a reload does not post again).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// The stylesheet: one file, served from the binary; no build step.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(include_str!("../../templates/dashboard/dashboard.css"))
}

/// `GET /dashboard/idle.js`: the script that warns before the idle logoff.
pub async fn idle_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(include_str!("../../templates/dashboard/idle.js"))
}

/// Headers on every dashboard answer: a content security policy that allows only this
/// server's own stylesheet and scripts (inline SVG is markup, not a resource), no framing
/// (clickjacking), no referrer (URLs carry ids only, but they are still nobody's business), no
/// MIME sniffing. `Cache-Control: no-store` comes from the app-wide middleware.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self'; \
             connect-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

/// An idle time in words: `15 minutes`, `1 minute`, `3 seconds`.
pub fn idle_words(secs: u64) -> String {
    match secs {
        s if s >= 60 && s % 60 == 0 => {
            let m = s / 60;
            format!("{m} minute{}", if m == 1 { "" } else { "s" })
        }
        s => format!("{s} second{}", if s == 1 { "" } else { "s" }),
    }
}

/// A dashboard path, for templates and redirects.
pub fn path(rest: &str) -> String {
    format!("{ROOT}{rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_times_read_as_words() {
        assert_eq!(idle_words(900), "15 minutes");
        assert_eq!(idle_words(60), "1 minute");
        assert_eq!(idle_words(3), "3 seconds");
        assert_eq!(idle_words(90), "90 seconds");
    }
}
