//! A JSON request body read only when the handler asks for it, after it has judged the caller.
//!
//! actix runs a handler's extractors before its first line, so a handler taking `web::Json<T>`
//! answers a malformed body with 400 before it can tell a caller who may not use the endpoint
//! at all that they may not (403), and the contract promises the role (and, for a patient's
//! own resources, their standing) is judged first. A handler that takes [`Body`] instead checks
//! who is asking, then calls [`Body::json`]: the body is read and decoded with the same limit,
//! `Content-Type` rule and errors as `web::Json` under [`super::json_config`]. Only a
//! `Content-Length` over the limit is refused (413) before the handler runs, as `web::Json`
//! does: that judges the request's size, not its body.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use std::future::{ready, Ready};

/// The request body, not yet read.
pub struct Body {
    req: HttpRequest,
    payload: Payload,
}

impl FromRequest for Body {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let result = match (declared, limit(req)) {
            (_, Err(e)) => Err(e),
            (Some(length), Ok(limit)) if length > limit => Err(ApiError::PayloadTooLarge { limit }),
            _ => Ok(Body {
                req: req.clone(),
                payload: payload.take(),
            }),
        };
        ready(result)
    }
}

/// `TETHER_MAX_BODY_BYTES`.
fn limit(req: &HttpRequest) -> Result<usize, ApiError> {
    Ok(req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal("application state missing"))?
        .settings
        .max_body_bytes)
}

impl Body {
    /// Reads the body and decodes it as `T`: 415 unless it is JSON, 413 past
    /// `TETHER_MAX_BODY_BYTES`, 400 `invalid_json` when it does not decode (the message never
    /// quotes the body).
    pub async fn json<T: DeserializeOwned>(mut self) -> Result<T, ApiError> {
        let limit = limit(&self.req)?;
        web::JsonBody::<T>::new(&self.req, &mut self.payload, None, true)
            .limit(limit)
            .await
            .map_err(ApiError::from)
    }
}
