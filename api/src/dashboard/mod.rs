//! The counselor dashboard: server-rendered HTML pages under `/dashboard`, for the desktop
//! browser a counselor opens between sessions. It works with JavaScript off.
//!
//! # Why it is built this way
//!
//! - Pages are askama templates in `api/templates/dashboard/`, compiled and type-checked with
//!   the crate and HTML-escaped by default; charts are SVG drawn on the server (module
//!   `charts`, small pure functions unit-tested on their own). No front-end build step.
//! - A page reads through the same code as the JSON API ([`crate::access`] for standing,
//!   consent and the access log; [`crate::trends`] and the caseload's row builder for numbers),
//!   so a page never shows what the API would refuse: a patient without care-team assignment
//!   and active consent is a 404 page.
//! - Writes (attendance, reschedule, cancel) are sync-core ops authored by the counselor and run
//!   through the server's push code ([`writes`]), so phones receive them on their next pull.
//! - Browser sessions live in the database ([`session`]), servers stay stateless; idle logoff
//!   after `TETHER_DASHBOARD_IDLE_MINUTES`; CSRF tokens on every form post ([`csrf`]).
//! - The dashboard is not JSON API: it is not in [`crate::routes::endpoints`] (the OpenAPI
//!   contract), and its errors are HTML pages ([`error::PageError`]).
//!
//! # Adding a page
//!
//! 1. A template `api/templates/dashboard/<page>.html` that starts with
//!    `{% extends "dashboard/base.html" %}` and fills `{% block content %}`; its struct derives
//!    [`askama::Template`] and has a field `layout: Layout` ([`layout::Layout`]), which the base
//!    template reads (title, counselor, CSRF token, idle time).
//! 2. A handler that takes [`auth::SignedIn`] — the extractor that gives the signed-in
//!    counselor (an [`crate::auth::AuthUser`] in `.user`, usable with [`crate::access`]) and
//!    redirects to the sign-in page when the session is missing, ended or idle — and returns
//!    `Result<HttpResponse, PageError>` built with [`layout::render`]. Read a patient with
//!    [`patient_standing`] (a 404 page unless the counselor may read them, with the read
//!    access-logged). A form post checks `signed_in.check_csrf(&form.csrf)?` first.
//! 3. One line in [`configure`].
//!
//! URLs carry ids only, never patient text. Every answer is `Cache-Control: no-store` (the
//! app-wide middleware) and gets the security headers of [`layout::security_headers`].

pub mod auth;
pub mod browser_session;
pub mod caseload;
pub mod charts;
pub mod cookie;
pub mod csrf;
pub mod error;
pub mod error_pages;
pub mod layout;
pub mod patient;
pub mod schedule;
pub mod when;
pub mod writes;

use crate::access::{self, ReadAction, Standing};
use crate::db::DbConnection;
use crate::error::ApiError;
use actix_web::middleware::ErrorHandlers;
use actix_web::{web, HttpResponse};
use error::PageError;
use uuid::Uuid;

/// The path every dashboard URL starts with.
pub const ROOT: &str = "/dashboard";

/// Mounts the dashboard under [`ROOT`].
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(ROOT)
            .app_data(
                web::FormConfig::default()
                    .limit(16 * 1024)
                    .error_handler(|_, _| {
                        PageError::BadRequest("The form could not be read.").into()
                    }),
            )
            .app_data(web::PathConfig::default().error_handler(|_, _| PageError::NotFound.into()))
            .app_data(
                web::QueryConfig::default().error_handler(|_, _| {
                    PageError::BadRequest("The address is not valid.").into()
                }),
            )
            .wrap(ErrorHandlers::new().default_handler(error_pages::in_signed_in_layout))
            .wrap(layout::security_headers())
            .route("", web::get().to(home))
            .route("/", web::get().to(home))
            .route("/dashboard.css", web::get().to(layout::stylesheet))
            .route("/idle.js", web::get().to(layout::idle_script))
            .route("/keep-alive", web::post().to(auth::keep_alive))
            .route("/sign-in", web::get().to(auth::sign_in_page))
            .route("/sign-in", web::post().to(auth::sign_in))
            .route("/sign-out", web::post().to(auth::sign_out))
            .route("/caseload", web::get().to(caseload::page))
            .route("/patients/{patient}", web::get().to(patient::page))
            .route(
                "/patients/{patient}/schedule",
                web::get().to(schedule::page),
            )
            .route(
                "/patients/{patient}/sessions/{session}/attendance",
                web::post().to(schedule::mark_attendance),
            )
            .route(
                "/patients/{patient}/sessions/{session}/reschedule",
                web::post().to(schedule::reschedule),
            )
            .route(
                "/patients/{patient}/sessions/{session}/cancel",
                web::post().to(schedule::cancel),
            )
            .route(
                "/patients/{patient}/sessions/{session}/restore",
                web::post().to(schedule::restore),
            )
            .default_service(web::to(not_found)),
    );
}

/// `/dashboard` itself: the caseload is the front page.
async fn home() -> HttpResponse {
    layout::see_other(&format!("{ROOT}/caseload"))
}

/// Any other path under `/dashboard` (a 404 page, in the signed-in layout when there is a
/// session: see [`error_pages::in_signed_in_layout`]).
async fn not_found() -> Result<HttpResponse, PageError> {
    Err(PageError::NotFound)
}

/// The counselor's standing towards a patient, for a page about them: a 404 page unless they
/// may read the patient's records now (care team and active consent), and the read written to
/// the access log under `action` before anything is shown, exactly as the API routes do.
pub fn patient_standing(
    conn: &mut DbConnection,
    signed_in: &auth::SignedIn,
    patient: Uuid,
    action: ReadAction,
) -> Result<Standing, ApiError> {
    let standing = access::require_read(conn, &signed_in.user, patient)?;
    access::record_read(conn, &signed_in.user, patient, standing, action)?;
    Ok(standing)
}
