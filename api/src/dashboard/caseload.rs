//! `GET /dashboard/caseload`: one row per consented patient on the counselor's care team, most
//! urgent first. The rows come from the same builder as `GET /v1/caseload`
//! ([`crate::services::caseload::build`]): the same patients, flags, numbers and order, and
//! every row written to that patient's access log.

use crate::clock::now_ms;
use crate::dashboard::auth::SignedIn;
use crate::dashboard::charts::sparkline;
use crate::dashboard::error::PageError;
use crate::dashboard::layout::{self, Layout};
use crate::dashboard::when;
use crate::db;
use crate::repo::trends as q;
use crate::services::caseload::{build, CaseloadRow};
use crate::state::AppState;
use crate::trends::flags::{FlagKind, Severity};
use crate::trends::today;
use actix_web::{web, HttpResponse};
use askama::Template;

/// Days in the caseload's craving sparkline.
pub const SPARK_DAYS: i64 = 14;

/// One flag as the page shows it.
pub struct FlagView {
    /// `urgent`, `high`, `medium` (a CSS class and words, never colour alone).
    pub severity: &'static str,
    /// The flag kind in words (`Crisis`, `High craving`, …).
    pub label: String,
    /// The reason, with its numbers.
    pub reason: String,
}

/// One patient's row.
pub struct RowView {
    /// Patient id (the only patient detail in any URL).
    pub id: String,
    /// Name.
    pub name: String,
    /// Most severe flag: `urgent`, `high`, `medium`, or `none`.
    pub priority: &'static str,
    /// Flags, most severe first.
    pub flags: Vec<FlagView>,
    /// `3 h ago · 7/10`, or `none yet`.
    pub last_checkin: String,
    /// The 7-day mean, `5.4`, or `—`.
    pub mean_7d: String,
    /// Check-ins in the last 7 days.
    pub checkins_7d: i64,
    /// The last [`SPARK_DAYS`] days' mean craving as an inline SVG sparkline (gaps for days
    /// without a check-in; its `aria-label` reads the values out).
    pub spark: String,
    /// `2`, or `—`.
    pub days_since: String,
    /// Whether the silence is long enough to show as a warning.
    pub silent: bool,
    /// `Tue 24 Nov 18:00 · Evening group`, or `none scheduled`.
    pub next_session: String,
    /// `83 %`, or `—`.
    pub attendance: String,
}

#[derive(Template)]
#[template(path = "dashboard/caseload.html")]
struct CaseloadPage {
    layout: Layout,
    rows: Vec<RowView>,
    urgent: usize,
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Urgent => "urgent",
        Severity::High => "high",
        Severity::Medium => "medium",
    }
}

/// The flag's reason without a leading repeat of its label (`Crisis: …` under `Crisis`).
fn reason(kind: FlagKind, reason: &str) -> String {
    let label = kind.label();
    match reason.split_once(": ") {
        Some((head, rest)) if head.eq_ignore_ascii_case(label) => rest.to_string(),
        _ => reason.to_string(),
    }
}

fn view(
    conn: &mut db::DbConnection,
    row: CaseloadRow,
    now: i64,
    no_checkin_days: i64,
) -> Result<RowView, crate::error::ApiError> {
    let id = row.patient_id.to_string();
    let tz = when::zone_of(conn, &id)?;
    let last = q::last_checkin(conn, &id)?;
    let today = today(now, last);
    let daily = q::daily(conn, &id, today - (SPARK_DAYS - 1), today)?;
    let spark: Vec<Option<f64>> = (today - (SPARK_DAYS - 1)..=today)
        .map(|d| daily.iter().find(|x| x.day == d).map(|x| x.mean))
        .collect();
    Ok(RowView {
        name: row.display_name,
        priority: row.priority.map_or("none", severity),
        flags: row
            .flags
            .iter()
            .map(|f| FlagView {
                severity: severity(f.severity),
                label: f.kind.label().to_string(),
                reason: reason(f.kind, &f.reason),
            })
            .collect(),
        last_checkin: match (row.last_checkin_at, row.last_intensity) {
            (Some(at), Some(i)) => format!("{} · {i}/10", when::relative(now, at)),
            (Some(at), None) => when::relative(now, at),
            (None, _) => "none yet".into(),
        },
        mean_7d: row
            .mean_7d
            .map_or_else(|| "—".into(), |m| format!("{m:.1}")),
        checkins_7d: row.checkins_7d,
        spark: sparkline(&spark),
        days_since: row
            .days_since_last_checkin
            .map_or_else(|| "—".into(), |d| d.to_string()),
        silent: row
            .days_since_last_checkin
            .is_none_or(|d| d >= no_checkin_days),
        next_session: row.next_session.map_or_else(
            || "none scheduled".into(),
            |s| {
                let mut text = when::date_time(s.starts_at, &tz);
                if let Some(title) = s.title.or(s.kind) {
                    text.push_str(" · ");
                    text.push_str(&title);
                }
                text
            },
        ),
        attendance: row
            .attendance_rate_30d
            .map_or_else(|| "—".into(), |r| format!("{:.0} %", r * 100.0)),
        id,
    })
}

/// The caseload page.
#[tracing::instrument(skip_all, fields(user_id = %signed_in.user.user_id))]
pub async fn page(
    state: web::Data<AppState>,
    signed_in: SignedIn,
) -> Result<HttpResponse, PageError> {
    let settings = state.settings.trends.clone();
    let caller = signed_in.user;
    let rows = db::run(&state.pool, move |conn| {
        let now = now_ms();
        let caseload = build(conn, &caller, now, &settings)?;
        caseload
            .patients
            .into_iter()
            .map(|row| view(conn, row, now, settings.flags.no_checkin_days))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    let urgent = rows.iter().filter(|r| r.priority == "urgent").count();
    layout::render(&CaseloadPage {
        layout: signed_in.layout("Caseload", "caseload"),
        rows,
        urgent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_does_not_repeat_its_label() {
        assert_eq!(reason(FlagKind::Crisis, "Crisis: call now"), "call now");
        assert_eq!(
            reason(FlagKind::Lapse, "Reported a lapse: 2 days ago"),
            "Reported a lapse: 2 days ago"
        );
    }
}
