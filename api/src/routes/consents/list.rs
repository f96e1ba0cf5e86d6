//! `GET /v1/patients/{id}/consents`: every consent the patient has given, newest first.

use crate::auth::AuthUser;
use crate::clock::now_ms;
use crate::db;
use crate::error::ApiError;
use crate::repo::consents;
use crate::routes::consents::{require_owner, ConsentView};
use crate::state::AppState;
use actix_web::web;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The list takes no query parameters; an unknown one is a 422 like everywhere else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// The patient's consents.
#[derive(Debug, Serialize)]
pub struct ConsentList {
    /// Newest first, revoked and expired ones included (marked `active: false`).
    pub items: Vec<ConsentView>,
}

/// Lists consents.
#[tracing::instrument(skip_all, fields(patient_id = %path))]
pub async fn list_consents(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    _query: web::Query<NoParams>,
) -> Result<web::Json<ConsentList>, ApiError> {
    let patient = path.into_inner();
    let list = db::run(&state.pool, move |conn| {
        require_owner(conn, &caller, patient)?;
        let now = now_ms();
        Ok(ConsentList {
            items: consents::of_patient(conn, patient)?
                .into_iter()
                .map(|row| ConsentView::new(row, now))
                .collect(),
        })
    })
    .await?;
    Ok(web::Json(list))
}
