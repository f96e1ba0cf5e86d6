//! `GET /v1/caseload`: every patient the counselor may see, most urgent first — flags with their
//! reasons, latest check-in, 7-day mean, days since the last check-in, next session, attendance.

use crate::access::{self, ReadAction};
use crate::auth::AuthUser;
use crate::clock::now_ms;
use crate::db;
use crate::db::schema::{sessions, users};
use crate::domain::Role;
use crate::error::ApiError;
use crate::repo::trends as q;
use crate::state::AppState;
use crate::trends::flags::{Flag, Severity};
use crate::trends::{current_flags, today};
use actix_web::web;
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

const DAY_MS: i64 = 86_400_000;

/// The next session on a patient's schedule.
#[derive(Debug, Serialize)]
pub struct NextSession {
    /// Session id.
    pub id: String,
    /// Start (ms UTC).
    pub starts_at: i64,
    /// Kind of session.
    pub kind: Option<String>,
    /// Title.
    pub title: Option<String>,
}

/// One patient on the caseload.
#[derive(Debug, Serialize)]
pub struct CaseloadRow {
    /// Patient id.
    pub patient_id: Uuid,
    /// Name.
    pub display_name: String,
    /// The most severe flag's severity, if any: `urgent`, `high`, `medium`.
    pub priority: Option<Severity>,
    /// Risk flags, most severe first.
    pub flags: Vec<Flag>,
    /// When the latest check-in was felt (ms).
    pub last_checkin_at: Option<i64>,
    /// Its intensity.
    pub last_intensity: Option<i64>,
    /// Mean intensity over the last 7 local days.
    pub mean_7d: Option<f64>,
    /// Check-ins over the last 7 local days.
    pub checkins_7d: i64,
    /// Days since the latest check-in.
    pub days_since_last_checkin: Option<i64>,
    /// The next scheduled session.
    pub next_session: Option<NextSession>,
    /// Attendance rate over the last 30 days (attended, late or left early ÷ those + absent).
    pub attendance_rate_30d: Option<f64>,
}

/// The caseload.
#[derive(Debug, Serialize)]
pub struct Caseload {
    /// Patients, most urgent first.
    pub patients: Vec<CaseloadRow>,
}

fn row(
    conn: &mut db::DbConnection,
    patient: Uuid,
    now: i64,
    settings: &crate::trends::TrendSettings,
) -> Result<CaseloadRow, ApiError> {
    let id = patient.to_string();
    let display_name: String = users::table
        .find(&id)
        .select(users::display_name)
        .first(conn)?;
    let (flags, last) = current_flags(conn, &id, now, settings)?;
    let today = today(now, last);
    let week = q::daily(conn, &id, today - 6, today)?;
    let n: i64 = week.iter().map(|d| d.count).sum();
    let mean_7d =
        (n > 0).then(|| week.iter().map(|d| d.mean * d.count as f64).sum::<f64>() / n as f64);
    let next_session = sessions::table
        .filter(sessions::patient_id.eq(&id))
        .filter(sessions::deleted.eq(false))
        .filter(sessions::starts_at.gt(now))
        .filter(
            sessions::status
                .is_null()
                .or(sessions::status.ne("cancelled")),
        )
        .order(sessions::starts_at.asc())
        .select((
            sessions::doc_id,
            sessions::starts_at,
            sessions::kind,
            sessions::title,
        ))
        .first::<(String, Option<i64>, Option<String>, Option<String>)>(conn)
        .optional()?
        .map(|(id, starts_at, kind, title)| NextSession {
            id,
            starts_at: starts_at.unwrap_or_default(),
            kind,
            title,
        });
    let counts = q::attendance(conn, &id, now - 30 * DAY_MS, now)?;
    let count = |k: &str| counts.iter().find(|(a, _)| a == k).map_or(0, |(_, n)| *n);
    let present = count("attended") + count("late") + count("left_early");
    let counted = present + count("absent");
    Ok(CaseloadRow {
        patient_id: patient,
        display_name,
        priority: flags.first().map(|f| f.severity),
        flags,
        last_checkin_at: last.map(|l| l.at),
        last_intensity: last.and_then(|l| l.intensity),
        mean_7d,
        checkins_7d: n,
        days_since_last_checkin: last.map(|l| today - l.day),
        next_session,
        attendance_rate_30d: (counted > 0).then(|| present as f64 / counted as f64),
    })
}

/// Orders the caseload: the most severe flag first, then more flags, then longer silence, then
/// name, so the patients who need a call today come first.
fn urgency_order(a: &CaseloadRow, b: &CaseloadRow) -> std::cmp::Ordering {
    b.priority
        .cmp(&a.priority)
        .then(b.flags.len().cmp(&a.flags.len()))
        .then(
            b.days_since_last_checkin
                .unwrap_or(i64::MAX)
                .cmp(&a.days_since_last_checkin.unwrap_or(i64::MAX)),
        )
        .then(a.display_name.cmp(&b.display_name))
        .then(a.patient_id.cmp(&b.patient_id))
}

/// Builds the caseload. Each row is a read of that patient's records and is access-logged.
#[tracing::instrument(skip_all)]
pub async fn caseload(
    state: web::Data<AppState>,
    caller: AuthUser,
) -> Result<web::Json<Caseload>, ApiError> {
    caller.require(&[Role::Counselor])?;
    let settings = state.settings.trends.clone();
    let caseload = db::run(&state.pool, move |conn| {
        build(conn, &caller, now_ms(), &settings)
    })
    .await?;
    Ok(web::Json(caseload))
}

/// The caseload of `caller`, most urgent first; every row is an access-logged read. Shared by
/// this endpoint and the dashboard's caseload page, so both show exactly the same patients.
pub fn build(
    conn: &mut db::DbConnection,
    caller: &AuthUser,
    now: i64,
    settings: &crate::trends::TrendSettings,
) -> Result<Caseload, ApiError> {
    let mut patients = Vec::new();
    for (patient, standing) in access::readable_patients(conn, caller)? {
        access::record_read(conn, caller, patient, standing, ReadAction::Caseload)?;
        patients.push(row(conn, patient, now, settings)?);
    }
    patients.sort_by(urgency_order);
    Ok(Caseload { patients })
}
