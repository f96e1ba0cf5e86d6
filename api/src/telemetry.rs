//! Structured logs and the per-request span.
//!
//! Every request gets an id (the caller's `X-Request-Id` when it is a sane token, else a new
//! UUID), echoed in the response header and carried by every log line of that request. The
//! request line records method, route pattern and status only: never the query string, headers
//! or body, which can hold tokens or patient text.

use crate::settings::LogSettings;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::Error;
use std::time::Instant;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber, writing to stderr. Safe to call once per process.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if settings.json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
    if let Err(e) = result {
        eprintln!("logging was already initialised: {e}");
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let sane = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    sane.then(|| value.to_string())
}

/// Middleware: a span per request with its id, and one log line when it completes.
pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        route = %route,
        user_id = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut response = next.call(req).instrument(span.clone()).await?;
    let status = response.status().as_u16();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "request completed"
        );
    });
    Ok(response)
}
