//! The `AuthUser` extractor: a handler that takes one is reachable only with a valid access token
//! of a session that still stands.
//!
//! The signature, expiry and type are checked in memory; then one primary-key read of the
//! token's session row ([`sign_ins::check`], through [`db::run`]) refuses a token whose
//! session was signed out, ended by refresh-token reuse, or is past its absolute lifetime. That
//! read is the price of revocation that takes effect on the next request on every server; its
//! cost per request is measured with `tether-load --auth-only N` (see docs/performance.md).
//!
//! The read happens in the [`check_bearer`] middleware, before the handler's extractors run:
//! actix polls a handler's extractors together, so an extractor that waited for the database
//! would let a body extractor answer first, and a caller without a valid session would learn how
//! the body is judged (400) instead of being refused (401). The extractor then only picks up the
//! middleware's answer.
use crate::clock::now_ms;
use crate::db;
use crate::domain::Role;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::repo::sign_ins::{self, Standing};
use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use std::future::{ready, Future};
use std::pin::Pin;
use uuid::Uuid;

/// The caller, as their access token names them.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    /// The user.
    pub user_id: Uuid,
    /// Their role.
    pub role: Role,
    /// Their clinic.
    pub clinic_id: Uuid,
    /// The device the token was issued to.
    pub device_id: Uuid,
}

impl AuthUser {
    /// Refuses the request unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "a {} may not do this",
                self.role.as_str()
            )))
        }
    }
}

/// What the token says, checked in memory: the caller and their session.
fn verify_token(req: &HttpRequest) -> Result<(AuthUser, Uuid, web::Data<AppState>), ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthorized(
                ErrorCode::MissingToken,
                "send an access token: Authorization: Bearer <token>",
            )
        })?
        .to_str()
        .map_err(|_| {
            ApiError::unauthorized(ErrorCode::InvalidToken, "the access token is not valid")
        })?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(
                ErrorCode::MissingToken,
                "send an access token: Authorization: Bearer <token>",
            )
        })?;
    let claims = state.jwt.verify(token)?;
    let session = claims.sid.ok_or_else(|| {
        // Signed before access tokens named their session: the phone refreshes and goes on.
        ApiError::unauthorized(
            ErrorCode::TokenExpired,
            "the access token has expired; refresh it",
        )
    })?;
    let user = AuthUser {
        user_id: claims.sub,
        role: claims.role,
        clinic_id: claims.clinic,
        device_id: claims.dev,
    };
    Ok((user, session, state))
}

/// Refuses the caller unless their session still stands.
async fn authenticate(req: HttpRequest) -> Result<AuthUser, ApiError> {
    let (user, session, state) = verify_token(&req)?;
    let max_age = state.settings.auth.session_max_age;
    let standing = db::run(&state.pool, move |conn| {
        sign_ins::check(conn, session, user.user_id, now_ms(), max_age)
    })
    .await?;
    match standing {
        Standing::Live { .. } => {
            tracing::Span::current().record("user_id", tracing::field::display(user.user_id));
            Ok(user)
        }
        Standing::Revoked => Err(ApiError::unauthorized(
            ErrorCode::SessionRevoked,
            "this session was signed out; sign in again",
        )),
        Standing::Expired => Err(ApiError::unauthorized(
            ErrorCode::SessionExpired,
            "this sign-in has reached its maximum age; sign in again",
        )),
        Standing::Unknown => Err(ApiError::unauthorized(
            ErrorCode::InvalidToken,
            "the access token is not valid",
        )),
    }
}

/// The outcome of [`check_bearer`] for one request, for the extractor.
struct Authenticated(Result<AuthUser, ApiError>);

/// Middleware: a request that carries an `Authorization` header has its token and session
/// checked here, before any extractor of its handler runs (see the module doc). Requests
/// without one pass untouched; the outcome is only acted on by handlers that take an
/// [`AuthUser`].
pub async fn check_bearer(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.headers().contains_key(header::AUTHORIZATION) {
        let outcome = authenticate(req.request().clone()).await;
        req.extensions_mut().insert(Authenticated(outcome));
    }
    next.call(req).await
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(Authenticated(outcome)) = req.extensions_mut().remove::<Authenticated>() {
            return Box::pin(ready(outcome));
        }
        // No middleware answer (no `Authorization` header, which `authenticate` refuses before
        // any read, or a route outside the middleware): judged here.
        Box::pin(authenticate(req.clone()))
    }
}
