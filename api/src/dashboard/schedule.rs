//! The schedule page of one patient: their program track, the sessions of the last three weeks
//! (to mark attendance) and the upcoming ones (to reschedule, cancel, or restore a cancelled one).
//!
//! The page reads the `sessions` read model through the same standing check and access log as
//! `GET /v1/patients/{id}/sessions` (`read_sessions`). The forms write through
//! [`writes::write_fields`], i.e. the sync push path, so the patient's phone receives every
//! change on its next pull, and the op log records the counselor and this browser session.

use crate::access::{self, ReadAction, Standing};
use crate::clock::now_ms;
use crate::dashboard::auth::SignedIn;
use crate::dashboard::error::PageError;
use crate::dashboard::layout::{self, Layout};
use crate::dashboard::{patient_standing, when, writes};
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::repo::read_models::{self, ListQuery};
use crate::repo::{accounts, tracks};
use crate::state::AppState;
use crate::sync::push::PushLimits;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::json;
use sync_core::schema::ATTENDANCE;
use sync_core::Session;
use sync_core::{DocKey, DocKind};
use uuid::Uuid;

const DAY_MS: i64 = 86_400_000;
/// How far back the page lists sessions (to mark attendance).
pub const PAST_DAYS: i64 = 21;
/// How far ahead it lists them.
pub const AHEAD_DAYS: i64 = 60;

/// The attendance marks, with the words the page shows.
pub const ATTENDANCE_LABELS: &[(&str, &str)] = &[
    ("attended", "Attended"),
    ("late", "Late"),
    ("left_early", "Left early"),
    ("absent", "Absent"),
    ("excused", "Excused"),
];

/// The patient's track, as the page shows it.
pub struct TrackView {
    /// Name.
    pub name: String,
    /// IANA time zone (every time on the page is in it).
    pub time_zone: String,
    /// `adult` or `adolescent`.
    pub population: String,
    /// The weekly IOP minimum for that population.
    pub weekly_minimum_h: u32,
    /// First day.
    pub start_date: String,
    /// Length in weeks.
    pub weeks: i32,
}

/// One session row.
pub struct SessionView {
    /// Document id.
    pub id: String,
    /// `Tue 24 Nov 18:00`.
    pub when: String,
    /// `in 3 days`, `2 h ago`.
    pub relative: String,
    /// The `datetime-local` value of its start, for the reschedule form.
    pub input: String,
    /// Title or kind.
    pub title: String,
    /// Kind in words.
    pub kind: String,
    /// Minutes.
    pub duration_min: i32,
    /// `scheduled`, `cancelled`, `completed`.
    pub status: String,
    /// Whether it is cancelled.
    pub cancelled: bool,
    /// The patient's answer, in words.
    pub rsvp: String,
    /// The counselor's mark (`attended`, …), if any.
    pub attendance: Option<String>,
    /// The mark in words.
    pub attendance_label: String,
}

#[derive(Template)]
#[template(path = "dashboard/schedule.html")]
struct SchedulePage {
    layout: Layout,
    patient_id: String,
    patient_name: String,
    track: Option<TrackView>,
    zone: String,
    past: Vec<SessionView>,
    upcoming: Vec<SessionView>,
    done: Option<&'static str>,
    marks: &'static [(&'static str, &'static str)],
}

/// `?done=` after a change.
#[derive(Debug, Deserialize)]
pub struct ScheduleQuery {
    done: Option<String>,
}

fn words(tag: &str) -> String {
    tag.replace('_', " ")
}

fn view(row: Session, now: i64, tz: &jiff::tz::TimeZone) -> SessionView {
    let starts_at = row.starts_at.unwrap_or_default();
    let status = row.status.unwrap_or_else(|| "scheduled".into());
    let attendance_label = row
        .attendance
        .as_deref()
        .and_then(|a| ATTENDANCE_LABELS.iter().find(|(k, _)| *k == a))
        .map_or_else(|| "not marked".to_string(), |(_, l)| (*l).to_string());
    SessionView {
        id: row.id.to_string(),
        when: when::date_time(starts_at, tz),
        relative: when::relative(now, starts_at),
        input: when::input_value(starts_at, tz),
        title: row
            .title
            .clone()
            .or_else(|| row.kind.as_deref().map(words))
            .unwrap_or_else(|| "Session".into()),
        kind: row.kind.as_deref().map(words).unwrap_or_default(),
        duration_min: row.duration_min.map_or(0, i32::from),
        cancelled: status == "cancelled",
        status,
        rsvp: row.rsvp.map_or_else(|| "no answer".into(), |r| words(&r)),
        attendance: row.attendance,
        attendance_label,
    }
}

/// `GET /dashboard/patients/{patient}/schedule`
#[tracing::instrument(skip_all, fields(user_id = %signed_in.user.user_id, patient_id = %path))]
pub async fn page(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<Uuid>,
    query: web::Query<ScheduleQuery>,
) -> Result<HttpResponse, PageError> {
    let patient = path.into_inner();
    let who = signed_in.clone();
    let (name, track, zone, rows, now) = db::run(&state.pool, move |conn| {
        patient_standing(
            conn,
            &who,
            patient,
            ReadAction::List(sync_core::DocKind::Session),
        )?;
        let id = patient.to_string();
        let name = accounts::display_name(conn, &id)?;
        let track = tracks::current_track_of(conn, &id)?;
        let zone = when::zone_of(conn, &id)?;
        let now = now_ms();
        let rows = read_models::list_views::<Session>(
            conn,
            &ListQuery {
                patient: id,
                from: Some(now - PAST_DAYS * DAY_MS),
                to: Some(now + AHEAD_DAYS * DAY_MS),
                after: None,
                limit: 500,
            },
        )?;
        Ok((name, track, zone, rows, now))
    })
    .await?;
    let mut past = Vec::new();
    let mut upcoming = Vec::new();
    // The read model lists newest first: the page reads forward in time.
    for row in rows.into_iter().rev() {
        if row.starts_at.unwrap_or_default() <= now {
            past.push(view(row, now, &zone));
        } else {
            upcoming.push(view(row, now, &zone));
        }
    }
    // The most recent past sessions are the ones to mark: show them first.
    past.reverse();
    let done = match query.done.as_deref() {
        Some("attendance") => {
            Some("Attendance saved. The patient's phone receives it on its next sync.")
        }
        Some("rescheduled") => {
            Some("Session rescheduled. The patient's phone receives it on its next sync.")
        }
        Some("cancelled") => {
            Some("Session cancelled. The patient's phone receives it on its next sync.")
        }
        Some("restored") => {
            Some("Session restored. The patient's phone receives it on its next sync.")
        }
        _ => None,
    };
    layout::render(&SchedulePage {
        layout: signed_in.layout("Schedule", "caseload"),
        patient_id: patient.to_string(),
        patient_name: name,
        track: track.map(|t| TrackView {
            weekly_minimum_h: if t.population == "adolescent" { 6 } else { 9 },
            name: t.name,
            time_zone: t.time_zone,
            population: t.population,
            start_date: t.start_date,
            weeks: t.weeks,
        }),
        zone: zone
            .iana_name()
            .map_or_else(|| "the patient's local time".to_string(), str::to_string),
        past,
        upcoming,
        done,
        marks: ATTENDANCE_LABELS,
    })
}

/// Checks that the counselor may act for the patient now (care team and active consent) and
/// that the session is one of the patient's (not deleted); a 404 page otherwise.
fn find_session(
    conn: &mut DbConnection,
    signed_in: &SignedIn,
    patient: Uuid,
    session: Uuid,
) -> Result<Session, PageError> {
    if !matches!(
        access::standing(conn, &signed_in.user, patient)?,
        Standing::CareTeam { .. }
    ) {
        return Err(PageError::NotFound);
    }
    read_models::find_live::<Session>(conn, &patient.to_string(), &session.to_string())?
        .ok_or(PageError::NotFound)
}

/// What a session change posts.
#[derive(Deserialize)]
pub struct ChangeForm {
    /// The session's CSRF token.
    csrf: String,
    /// For attendance: the mark.
    #[serde(default)]
    attendance: Option<String>,
    /// For a reschedule: the new start, `YYYY-MM-DDTHH:MM` in the patient's zone.
    #[serde(default)]
    starts_at: Option<String>,
}

#[derive(Clone, Copy)]
enum Change {
    Attendance,
    Reschedule,
    Cancel,
    Restore,
}

async fn change(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<(Uuid, Uuid)>,
    form: web::Form<ChangeForm>,
    change: Change,
) -> Result<HttpResponse, PageError> {
    signed_in.check_csrf(&form.csrf)?;
    let (patient, session) = path.into_inner();
    let form = form.into_inner();
    let limits = PushLimits {
        max_clock_ahead_ms: state.settings.sync.max_clock_ahead_ms,
    };
    let done = db::run(&state.pool, move |conn| {
        let row = find_session(conn, &signed_in, patient, session).map_err(page_to_api)?;
        let now = now_ms();
        let (fields, done) = match change {
            Change::Attendance => {
                let mark = form.attendance.unwrap_or_default();
                if !ATTENDANCE.contains(&mark.as_str()) {
                    return Err(ApiError::validation(
                        ErrorCode::Invalid,
                        "Choose an attendance mark.",
                    ));
                }
                if row.starts_at.unwrap_or(i64::MAX) > now {
                    return Err(ApiError::validation(
                        ErrorCode::Invalid,
                        "Attendance can be marked once the session has started.",
                    ));
                }
                (vec![("attendance", json!(mark))], "attendance")
            }
            Change::Reschedule => {
                let zone = when::zone_of(conn, &patient.to_string())?;
                let at = form
                    .starts_at
                    .as_deref()
                    .and_then(|t| when::parse_input(t, &zone))
                    .ok_or_else(|| {
                        ApiError::validation(
                            ErrorCode::Invalid,
                            "Give the new date and time of the session.",
                        )
                    })?;
                (vec![("starts_at", json!(at))], "rescheduled")
            }
            Change::Cancel => (vec![("status", json!("cancelled"))], "cancelled"),
            Change::Restore => (vec![("status", json!("scheduled"))], "restored"),
        };
        let key = DocKey {
            patient,
            kind: DocKind::Session,
            doc: session,
        };
        writes::write_fields(conn, &signed_in.user, key, &fields, limits, now)
            .map_err(page_to_api)?;
        Ok(done)
    })
    .await
    .map_err(api_to_page)?;
    tracing::info!(change = done, "dashboard session change");
    Ok(layout::see_other(&layout::path(&format!(
        "/patients/{patient}/schedule?done={done}"
    ))))
}

// `db::run` speaks `ApiError`; these carry the page's own outcomes through it and back.
fn page_to_api(e: PageError) -> ApiError {
    match e {
        PageError::Api(e) => e,
        PageError::NotFound => ApiError::NotFound("no such session".into()),
        PageError::Invalid(message) => ApiError::validation(ErrorCode::Invalid, message),
        other => ApiError::validation(ErrorCode::Invalid, other.to_string()),
    }
}

fn api_to_page(e: ApiError) -> PageError {
    match e {
        ApiError::Validation { message, .. } => PageError::Invalid(message),
        ApiError::NotFound(_) => PageError::NotFound,
        other => PageError::Api(other),
    }
}

/// `POST …/sessions/{session}/attendance`
pub async fn mark_attendance(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<(Uuid, Uuid)>,
    form: web::Form<ChangeForm>,
) -> Result<HttpResponse, PageError> {
    change(state, signed_in, path, form, Change::Attendance).await
}

/// `POST …/sessions/{session}/reschedule`
pub async fn reschedule(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<(Uuid, Uuid)>,
    form: web::Form<ChangeForm>,
) -> Result<HttpResponse, PageError> {
    change(state, signed_in, path, form, Change::Reschedule).await
}

/// `POST …/sessions/{session}/restore`: undoes a cancellation.
pub async fn restore(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<(Uuid, Uuid)>,
    form: web::Form<ChangeForm>,
) -> Result<HttpResponse, PageError> {
    change(state, signed_in, path, form, Change::Restore).await
}

/// `POST …/sessions/{session}/cancel`
pub async fn cancel(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<(Uuid, Uuid)>,
    form: web::Form<ChangeForm>,
) -> Result<HttpResponse, PageError> {
    change(state, signed_in, path, form, Change::Cancel).await
}
