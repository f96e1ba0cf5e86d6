//! `GET /v1/patients/{id}/access-log`: every read of the patient's records by staff — who, when,
//! what, under which consent. The patient reads it; nobody else.

use crate::access::{self, Standing};
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::repo::consents::{self, AccessRow};
use crate::routes::patients::list::{page, ListParams, Page};
use crate::state::AppState;
use actix_web::web;
use serde::Serialize;
use uuid::Uuid;

/// One staff read.
#[derive(Debug, Serialize)]
pub struct AccessEntry {
    /// Entry id.
    pub id: String,
    /// When (ms).
    pub at: i64,
    /// Who read.
    pub actor_id: String,
    /// Their name.
    pub actor_name: String,
    /// Their role.
    pub actor_role: String,
    /// What they read (`access::ReadAction`): read_checkins, read_exercises, read_sessions,
    /// sync_pull, read_trends, read_caseload, read_iop_hours.
    pub action: String,
    /// The consent that allowed it.
    pub consent_id: String,
}

impl From<AccessRow> for AccessEntry {
    fn from(r: AccessRow) -> Self {
        Self {
            id: r.id,
            at: r.at,
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            actor_role: r.actor_role,
            action: r.action,
            consent_id: r.consent_id,
        }
    }
}

/// Lists the access log, newest first.
#[tracing::instrument(skip_all, fields(patient_id = %path))]
pub async fn access_log(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> Result<web::Json<Page<AccessEntry>>, ApiError> {
    let patient = path.into_inner();
    let page = db::run(&state.pool, move |conn| {
        let q = params.validate(patient)?;
        match access::standing(conn, &caller, patient)? {
            Standing::Owner => {}
            Standing::CareTeam { .. } => {
                return Err(ApiError::Forbidden(
                    "only the patient reads their access log".into(),
                ))
            }
            Standing::Stranger => return Err(ApiError::NotFound("no such patient".into())),
        }
        let rows =
            consents::access_log_page(conn, patient, q.from, q.to, q.after.clone(), q.limit)?;
        Ok(page(
            rows,
            q.limit,
            |r| (r.at, r.id.clone()),
            AccessEntry::from,
        ))
    })
    .await?;
    Ok(web::Json(page))
}
