//! `DELETE /v1/patients/{id}/consents/{consent_id}`: the patient withdraws a consent. Access it
//! gave ends with this request.

use crate::auth::AuthUser;
use crate::clock::now_ms;
use crate::db;
use crate::error::ApiError;
use crate::repo::consents;
use crate::routes::consents::require_owner;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use uuid::Uuid;

/// Revokes a consent; revoking one already revoked is a no-op (204 again).
#[tracing::instrument(skip_all, fields(patient_id = %path.0, consent_id = %path.1))]
pub async fn revoke_consent(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (patient, consent) = path.into_inner();
    db::run(&state.pool, move |conn| {
        require_owner(conn, &caller, patient)?;
        if consents::revoke(conn, patient, consent, now_ms())? {
            Ok(())
        } else {
            Err(ApiError::NotFound("no such consent".into()))
        }
    })
    .await?;
    tracing::info!("consent revoked");
    Ok(HttpResponse::NoContent().finish())
}
