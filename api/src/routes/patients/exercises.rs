//! `GET /v1/patients/{id}/exercises`: a patient's coping-skill exercises, newest first.

use crate::access::ReadAction;
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::repo::read_models;
use crate::repo::read_models::ExerciseRow;
use crate::routes::patients::list::{page, ListParams, Page};
use crate::state::AppState;
use actix_web::web;
use serde::Serialize;
use uuid::Uuid;

/// An exercise as the read model holds it.
#[derive(Debug, Serialize)]
pub struct ExerciseItem {
    /// Document id.
    pub id: String,
    /// Coping skill (catalog tag or `custom:…`).
    pub skill: Option<String>,
    /// When it started (ms UTC).
    pub started_at: Option<i64>,
    /// The patient's UTC offset then (minutes).
    pub tz_offset_min: Option<i32>,
    /// Minutes spent.
    pub duration_min: Option<i32>,
    /// Craving before, 0–10.
    pub craving_before: Option<i32>,
    /// Craving after, 0–10.
    pub craving_after: Option<i32>,
    /// How helpful it felt, 1–5.
    pub helpfulness: Option<i32>,
    /// The patient's note.
    pub note: Option<String>,
}

impl From<ExerciseRow> for ExerciseItem {
    fn from(r: ExerciseRow) -> Self {
        Self {
            id: r.doc_id,
            skill: r.skill,
            started_at: r.started_at,
            tz_offset_min: r.tz_offset_min,
            duration_min: r.duration_min,
            craving_before: r.craving_before,
            craving_after: r.craving_after,
            helpfulness: r.helpfulness,
            note: r.note,
        }
    }
}

/// Lists exercises in `[from, to)` by `started_at`.
#[tracing::instrument(skip_all, fields(patient_id = %path))]
pub async fn list_exercises(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> Result<web::Json<Page<ExerciseItem>>, ApiError> {
    let patient = path.into_inner();
    let page = db::run(&state.pool, move |conn| {
        let q = params.authorize(conn, &caller, patient, ReadAction::Exercises)?;
        let rows = read_models::exercises(conn, &q)?;
        Ok(page(
            rows,
            q.limit,
            |r| (r.started_at.unwrap_or(0), r.doc_id.clone()),
            ExerciseItem::from,
        ))
    })
    .await?;
    Ok(web::Json(page))
}
