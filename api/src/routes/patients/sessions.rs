//! `GET /v1/patients/{id}/sessions`: a patient's treatment sessions, latest start first.

use crate::access::ReadAction;
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::repo::read_models;
use crate::repo::read_models::SessionRow;
use crate::routes::patients::list::{page, ListParams, Page};
use crate::state::AppState;
use actix_web::web;
use serde::Serialize;
use uuid::Uuid;

/// A session as the read model holds it.
#[derive(Debug, Serialize)]
pub struct SessionItem {
    /// Document id.
    pub id: String,
    /// group, individual, family, medication, psychoeducation, life_skills, mutual_help.
    pub kind: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Start (ms UTC).
    pub starts_at: Option<i64>,
    /// Length in minutes.
    pub duration_min: Option<i32>,
    /// Where.
    pub location: Option<String>,
    /// Telehealth link (https).
    pub telehealth_url: Option<String>,
    /// scheduled, cancelled, completed.
    pub status: Option<String>,
    /// The patient's answer: yes, no, maybe.
    pub rsvp: Option<String>,
    /// The patient's note with the rsvp.
    pub rsvp_note: Option<String>,
    /// The counselor's record: attended, late, left_early, absent, excused.
    pub attendance: Option<String>,
}

impl From<SessionRow> for SessionItem {
    fn from(r: SessionRow) -> Self {
        Self {
            id: r.doc_id,
            kind: r.kind,
            title: r.title,
            starts_at: r.starts_at,
            duration_min: r.duration_min,
            location: r.location,
            telehealth_url: r.telehealth_url,
            status: r.status,
            rsvp: r.rsvp,
            rsvp_note: r.rsvp_note,
            attendance: r.attendance,
        }
    }
}

/// Lists sessions starting in `[from, to)`.
#[tracing::instrument(skip_all, fields(patient_id = %path))]
pub async fn list_sessions(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> Result<web::Json<Page<SessionItem>>, ApiError> {
    let patient = path.into_inner();
    let page = db::run(&state.pool, move |conn| {
        let q = params.authorize(conn, &caller, patient, ReadAction::Sessions)?;
        let rows = read_models::sessions(conn, &q)?;
        Ok(page(
            rows,
            q.limit,
            |r| (r.starts_at.unwrap_or(0), r.doc_id.clone()),
            SessionItem::from,
        ))
    })
    .await?;
    Ok(web::Json(page))
}
