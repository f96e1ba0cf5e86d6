//! The caseload rule: every patient the counselor may see, most urgent first — flags with their
//! reasons, latest check-in, 7-day mean, days since the last check-in, next session, attendance.

use crate::access::{self, ReadAction};
use crate::auth::AuthUser;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::repo::trends as q;
use crate::repo::{accounts, sessions};
use crate::trends::flags::{Flag, Severity};
use crate::trends::{current_flags, today};
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
    conn: &mut DbConnection,
    patient: Uuid,
    now: i64,
    settings: &crate::trends::TrendSettings,
) -> Result<CaseloadRow, ApiError> {
    let id = patient.to_string();
    let display_name = accounts::display_name(conn, &id)?;
    let (flags, last) = current_flags(conn, &id, now, settings)?;
    let today = today(now, last);
    let week = q::daily(conn, &id, today - 6, today)?;
    let n: i64 = week.iter().map(|d| d.count).sum();
    let mean_7d =
        (n > 0).then(|| week.iter().map(|d| d.mean * d.count as f64).sum::<f64>() / n as f64);
    let next_session = sessions::next_after(conn, &id, now)?.map(|s| NextSession {
        id: s.doc_id,
        starts_at: s.starts_at.unwrap_or_default(),
        kind: s.kind,
        title: s.title,
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

/// The caseload of `caller`, most urgent first; every row is an access-logged read. The API's
/// `GET /v1/caseload` and the dashboard's caseload page both call it, so both show exactly the
/// same patients.
pub fn build(
    conn: &mut DbConnection,
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
