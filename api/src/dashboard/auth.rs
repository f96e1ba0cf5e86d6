//! Signing in and out, and [`SignedIn`]: the extractor that gives a page the signed-in
//! counselor or sends the browser to the sign-in page.
//!
//! Only counselors may use the dashboard. Patients use the phone app and admins manage
//! accounts; both are told so after a correct password, and no session is made. Sign-in goes
//! through the same attempt limits and password check as `POST /v1/auth/login`.

use crate::auth::{credentials, rate_limit, AuthUser};
use crate::clock::now_ms;
use crate::dashboard::error::{PageError, SignInReason};
use crate::dashboard::layout::{self, Layout};
use crate::dashboard::{browser_session, cookie, csrf};
use crate::db;
use crate::domain::Role;
use crate::error::ApiError;
use crate::secret::Secret;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;

/// The counselor a dashboard request comes from. Taking it as a handler argument makes the page
/// reachable only with a live session: without one (or after the idle time) the browser is sent
/// to the sign-in page instead.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The counselor, with this browser session's device: pass it to [`crate::access`] and the
    /// push path exactly as the API passes a token's caller.
    pub user: AuthUser,
    /// Their name.
    pub display_name: String,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
    /// The idle logoff time, for the page's self-reload.
    pub idle_secs: u64,
}

impl SignedIn {
    /// Refuses a form post whose `csrf` field is not this session's token.
    pub fn check_csrf(&self, given: &str) -> Result<(), PageError> {
        if csrf::matches(&self.csrf, given) {
            Ok(())
        } else {
            tracing::warn!("dashboard form post with a missing or wrong CSRF token");
            Err(PageError::Csrf)
        }
    }

    /// The base layout of a page titled `title`, with navigation item `nav` current.
    pub fn layout(&self, title: &str, nav: &'static str) -> Layout {
        Layout {
            title: title.to_string(),
            counselor: Some(self.display_name.clone()),
            csrf: self.csrf.clone(),
            // A few seconds past the idle time, so the reload finds the session ended.
            refresh_secs: self.idle_secs + 5,
            nav,
            idle: layout::idle_words(self.idle_secs),
            idle_secs: self.idle_secs,
        }
    }
}

/// What the "Stay signed in" button posts.
#[derive(Deserialize)]
pub struct KeepAlive {
    csrf: String,
}

/// `POST /dashboard/keep-alive`: the counselor answered the idle warning. Taking [`SignedIn`]
/// has already restarted the session's idle clock; the answer is 204, which leaves the page as
/// it is (also when the form is posted without the script).
pub async fn keep_alive(
    signed_in: SignedIn,
    form: web::Form<KeepAlive>,
) -> Result<HttpResponse, PageError> {
    signed_in.check_csrf(&form.csrf)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn signed_in(req: HttpRequest) -> Result<SignedIn, PageError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    let token =
        cookie::get(&req, cookie::SESSION).ok_or(PageError::SignIn(SignInReason::Required))?;
    let idle = state.settings.dashboard.idle_timeout;
    let lookup = db::run(&state.pool, {
        let token = token.clone();
        move |conn| browser_session::resume(conn, &token, now_ms(), idle)
    })
    .await?;
    match lookup {
        browser_session::Lookup::Active(active) => {
            tracing::Span::current()
                .record("user_id", tracing::field::display(active.user.user_id));
            let signed_in = SignedIn {
                user: active.user,
                display_name: active.display_name,
                csrf: csrf::for_session(&token),
                idle_secs: idle.as_secs().max(1),
            };
            // Kept for an error page of this request, so it keeps the navigation.
            req.extensions_mut().insert(signed_in.clone());
            Ok(signed_in)
        }
        browser_session::Lookup::Expired => Err(PageError::SignIn(SignInReason::Idle)),
        browser_session::Lookup::Unknown => Err(PageError::SignIn(SignInReason::Required)),
    }
}

impl FromRequest for SignedIn {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(signed_in(req.clone()))
    }
}

#[derive(Template)]
#[template(path = "dashboard/sign_in.html")]
struct SignInPage {
    layout: Layout,
    sign_in_csrf: String,
    email: String,
    notice: Option<&'static str>,
    error: Option<String>,
}

/// `?reason=` of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    reason: Option<String>,
}

/// Renders the sign-in form with a fresh double-submit token (cookie and hidden field).
fn sign_in_form(
    status: StatusCode,
    email: String,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let token = csrf::new_sign_in_token();
    let page = SignInPage {
        layout: Layout::anonymous("Sign in"),
        sign_in_csrf: token.clone(),
        email,
        notice,
        error,
    };
    let html = page
        .render()
        .map_err(|e| ApiError::internal(format!("template: {e}")))?;
    Ok(HttpResponse::build(status)
        .insert_header((header::SET_COOKIE, cookie::set(cookie::SIGN_IN, &token)))
        .content_type(layout::HTML)
        .body(html))
}

/// `GET /dashboard/sign-in`
pub async fn sign_in_page(query: web::Query<SignInQuery>) -> Result<HttpResponse, PageError> {
    let notice = match query.reason.as_deref() {
        Some("idle") => {
            Some("You were signed out after a period of inactivity. Sign in again to continue.")
        }
        Some("signed_out") => Some("You are signed out."),
        Some("required") => Some("Sign in to continue."),
        _ => None,
    };
    sign_in_form(StatusCode::OK, String::new(), notice, None)
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: Secret<String>,
    csrf: String,
}

/// `POST /dashboard/sign-in`: checks the double-submit token, the attempt limits and the
/// password; starts a session for a counselor and sends them to the caseload.
#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty))]
pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let cookie_token = cookie::get(&req, cookie::SIGN_IN).unwrap_or_default();
    let typed_email = form.email.chars().take(254).collect::<String>();
    if !csrf::matches(&cookie_token, &form.csrf) {
        return sign_in_form(
            StatusCode::FORBIDDEN,
            typed_email,
            None,
            Some(PageError::Csrf.to_string()),
        );
    }
    let wrong = |email: String| {
        sign_in_form(
            StatusCode::UNAUTHORIZED,
            email,
            None,
            Some("The email or password is wrong.".into()),
        )
    };
    // The same attempt limits and password check as the API's sign-in.
    let attempt = credentials::Attempt {
        email: form.email,
        password: form.password,
        address: rate_limit::client_address(&req, &state.settings.rate_limit),
        device: None,
    };
    let checked = credentials::check(
        &state.pool,
        &state.settings.rate_limit,
        state.sign_in_cost,
        attempt,
    )
    .await;
    let verified = match checked {
        Ok(Some(verified)) => verified,
        Ok(None) => return wrong(typed_email),
        Err(ApiError::RateLimited { retry_after_secs }) => {
            let mut response = sign_in_form(
                StatusCode::TOO_MANY_REQUESTS,
                typed_email,
                None,
                Some(format!(
                    "Too many sign-in attempts. Try again in {} minutes.",
                    retry_after_secs.div_ceil(60)
                )),
            )?;
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(retry_after_secs),
            );
            return Ok(response);
        }
        Err(e) => return Err(e.into()),
    };
    let user = &verified.user;
    tracing::Span::current().record("user_id", tracing::field::display(user.id));
    if user.role != Role::Counselor {
        let message = match user.role {
            Role::Patient => "The dashboard is for counselors. Patients use the Tether phone app.",
            _ => "The dashboard is for counselors. Admins manage accounts through the API.",
        };
        tracing::info!(
            role = user.role.as_str(),
            "dashboard sign-in refused for role"
        );
        return sign_in_form(
            StatusCode::FORBIDDEN,
            typed_email,
            None,
            Some(message.into()),
        );
    }
    // A new sign-in never continues an old session (no fixation): any session this browser
    // still holds is ended, and a fresh token is issued.
    let previous = cookie::get(&req, cookie::SESSION);
    let session_token = db::run(&state.pool, move |conn| {
        verified.record_sign_in(conn, now_ms())?;
        if let Some(previous) = previous {
            browser_session::end(conn, &previous, now_ms())?;
        }
        browser_session::start(conn, &verified.user, now_ms())
    })
    .await?;
    tracing::info!("dashboard signed in");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, layout::path("/caseload")))
        .append_header((
            header::SET_COOKIE,
            cookie::set(cookie::SESSION, &session_token),
        ))
        .append_header((header::SET_COOKIE, cookie::clear(cookie::SIGN_IN)))
        .finish())
}

/// A form that carries only its CSRF token.
#[derive(Deserialize)]
pub struct CsrfOnly {
    /// The session's CSRF token.
    pub csrf: String,
}

/// `POST /dashboard/sign-out`: ends the session now.
#[tracing::instrument(skip_all, fields(user_id = %signed_in.user.user_id))]
pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    signed_in.check_csrf(&form.csrf)?;
    if let Some(token) = cookie::get(&req, cookie::SESSION) {
        db::run(&state.pool, move |conn| {
            browser_session::end(conn, &token, now_ms())
        })
        .await?;
    }
    tracing::info!("dashboard signed out");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, layout::path("/sign-in?reason=signed_out")))
        .insert_header((header::SET_COOKIE, cookie::clear(cookie::SESSION)))
        .finish())
}
