//! `POST /v1/tracks/{id}/enrollments`: enrolls a patient in a track and writes their sessions.
//!
//! Only a counselor who may act for the patient (care team and active consent) may do it; to
//! anyone else the patient does not exist (404). Enrolling again is safe: the session ids are
//! deterministic and sessions that already exist are left as they are.

use crate::access::{self, Standing};
use crate::auth::AuthUser;
use crate::clock::now_ms;
use crate::db;
use crate::domain::Role;
use crate::error::ApiError;
use crate::repo::tracks;
use crate::routes::body::Body;
use crate::schedule::generator;
use crate::schedule::recurrence::{self, format_time};
use crate::services::tracks::spec_of;
use crate::state::AppState;
use crate::sync::push::PushLimits;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `{"patient_id": …}`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentRequest {
    /// The patient to enroll.
    pub patient_id: Uuid,
}

/// One generated session.
#[derive(Debug, Serialize)]
pub struct GeneratedSession {
    /// Session document id (deterministic).
    pub id: Uuid,
    /// Week of the track, 1-based.
    pub week: i64,
    /// Local date, `YYYY-MM-DD`, in the track's time zone.
    pub local_date: String,
    /// Local start time, `HH:MM`.
    pub local_start_time: String,
    /// Start, ms UTC.
    pub starts_at: i64,
    /// Length in minutes.
    pub duration_min: i64,
    /// Session kind.
    pub kind: String,
    /// Title.
    pub title: String,
}

/// The enrollment and what it wrote.
#[derive(Debug, Serialize)]
pub struct EnrollmentResponse {
    /// Track id.
    pub track_id: String,
    /// Patient id.
    pub patient_id: Uuid,
    /// When (ms UTC).
    pub enrolled_at: i64,
    /// Sessions written by this request.
    pub sessions_created: usize,
    /// Sessions the patient already had (an earlier enrollment), left untouched.
    pub sessions_existing: usize,
    /// Every session of the track for this patient, in start order.
    pub sessions: Vec<GeneratedSession>,
}

/// Enrolls; 201 for a new enrollment, 200 when the patient was already enrolled.
#[tracing::instrument(skip_all, fields(track_id = %path, patient_id = tracing::field::Empty))]
pub async fn enroll(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Counselor])?;
    let track_id = path.into_inner().to_string();
    let patient = body.json::<EnrollmentRequest>().await?.patient_id;
    tracing::Span::current().record("patient_id", tracing::field::display(patient));
    let limits = PushLimits {
        max_clock_ahead_ms: state.settings.sync.max_clock_ahead_ms,
    };
    let now = now_ms();
    let (response, new) = db::run(&state.pool, move |conn| {
        let track = tracks::find(conn, &track_id, &caller.clinic_id.to_string())?
            .ok_or_else(|| ApiError::NotFound("no such track".into()))?;
        let standing = access::standing(conn, &caller, patient)?;
        if !matches!(standing, Standing::CareTeam { .. }) {
            return Err(ApiError::NotFound("no such patient".into()));
        }
        let spec = spec_of(&track)?;
        // A track stored before today's limits may hold more, or sessions that cannot be
        // stored: it is refused whole rather than written in part.
        recurrence::check_limits(&spec)
            .map_err(|e| generator::not_enrollable(&format!("{} ({e})", e.code())))?;
        let occurrences = recurrence::occurrences(&spec)?;
        let track_uuid =
            Uuid::parse_str(&track.id).map_err(|_| ApiError::internal("corrupt track id"))?;
        let generated = generator::generate(
            conn,
            &caller,
            track_uuid,
            patient,
            &occurrences,
            limits,
            now,
        )?;
        let new = tracks::enroll(
            conn,
            &track.id,
            &patient.to_string(),
            &caller.user_id.to_string(),
            now,
        )?;
        let sessions = occurrences
            .iter()
            .map(|o| GeneratedSession {
                id: o.doc_id(track_uuid, patient),
                week: o.week,
                local_date: o.local_date.to_string(),
                local_start_time: format_time(o.start_time),
                starts_at: o.starts_at_ms,
                duration_min: o.duration_min,
                kind: o.kind.clone(),
                title: o.title.clone(),
            })
            .collect();
        Ok((
            EnrollmentResponse {
                track_id: track.id,
                patient_id: patient,
                enrolled_at: now,
                sessions_created: generated.created,
                sessions_existing: generated.existing,
                sessions,
            },
            new,
        ))
    })
    .await?;
    tracing::info!(
        created = response.sessions_created,
        existing = response.sessions_existing,
        "track enrollment"
    );
    Ok(if new {
        HttpResponse::Created().json(response)
    } else {
        HttpResponse::Ok().json(response)
    })
}
