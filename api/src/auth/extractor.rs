//! The `AuthUser` extractor: a handler that takes one is reachable only with a valid access token.

use crate::domain::Role;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use std::future::{ready, Ready};
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

fn authenticate(req: &HttpRequest) -> Result<AuthUser, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthorized(
                "missing_token",
                "send an access token: Authorization: Bearer <token>",
            )
        })?
        .to_str()
        .map_err(|_| ApiError::unauthorized("invalid_token", "the access token is not valid"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(
                "missing_token",
                "send an access token: Authorization: Bearer <token>",
            )
        })?;
    let claims = state.jwt.verify(token)?;
    let user = AuthUser {
        user_id: claims.sub,
        role: claims.role,
        clinic_id: claims.clinic,
        device_id: claims.dev,
    };
    tracing::Span::current().record("user_id", tracing::field::display(user.user_id));
    Ok(user)
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}
