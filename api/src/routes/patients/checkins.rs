//! `GET /v1/patients/{id}/checkins`: a patient's craving check-ins, newest first.

use crate::access::ReadAction;
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::repo::read_models;
use crate::repo::read_models::CheckinRow;
use crate::routes::patients::list::{page, ListParams, Page};
use crate::state::AppState;
use actix_web::web;
use serde::Serialize;
use uuid::Uuid;

/// A check-in as the read model holds it.
#[derive(Debug, Serialize)]
pub struct CheckinItem {
    /// Document id.
    pub id: String,
    /// When the craving was felt (ms UTC).
    pub recorded_at: Option<i64>,
    /// The patient's UTC offset then (minutes).
    pub tz_offset_min: Option<i32>,
    /// Craving intensity 0–10.
    pub intensity: Option<i32>,
    /// Triggers, sorted.
    pub triggers: Vec<String>,
    /// Mood 1–5.
    pub mood: Option<i32>,
    /// A lapse was reported.
    pub lapse: Option<bool>,
    /// Substance involved.
    pub substance: Option<String>,
    /// Where / with whom (the patient's words).
    pub context: Option<String>,
    /// "I need help now".
    pub crisis: bool,
    /// The patient's note.
    pub note: Option<String>,
}

impl From<CheckinRow> for CheckinItem {
    fn from(r: CheckinRow) -> Self {
        Self {
            id: r.doc_id,
            recorded_at: r.recorded_at,
            tz_offset_min: r.tz_offset_min,
            intensity: r.intensity,
            triggers: serde_json::from_str(&r.triggers).unwrap_or_default(),
            mood: r.mood,
            lapse: r.lapse,
            substance: r.substance,
            context: r.context,
            crisis: r.crisis,
            note: r.note,
        }
    }
}

/// Lists check-ins in `[from, to)` by `recorded_at`.
#[tracing::instrument(skip_all, fields(patient_id = %path))]
pub async fn list_checkins(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> Result<web::Json<Page<CheckinItem>>, ApiError> {
    let patient = path.into_inner();
    let page = db::run(&state.pool, move |conn| {
        let q = params.authorize(conn, &caller, patient, ReadAction::Checkins)?;
        let rows = read_models::checkins(conn, &q)?;
        Ok(page(
            rows,
            q.limit,
            |r| (r.recorded_at.unwrap_or(0), r.doc_id.clone()),
            CheckinItem::from,
        ))
    })
    .await?;
    Ok(web::Json(page))
}
