//! `GET /dashboard/patients/{patient}?from=YYYY-MM-DD&to=YYYY-MM-DD`: one patient's page — the
//! craving chart with lapses and sessions, the time-of-day × weekday heat map, triggers and
//! coping skills ranked, the IOP hours ledger, attendance, and the access-log entries this very
//! view wrote.
//!
//! It reads through exactly the code of the JSON API: [`access::require_read`] first (a patient
//! without care-team assignment and active consent is the same 404 page as one that does not
//! exist), then one access-log entry per kind of record shown, as the API logs them —
//! `read_trends` (`GET /v1/patients/{id}/trends`), `read_iop_hours` (`…/iop-hours`) and
//! `read_sessions` (session markers and list, as `…/sessions`) — before anything is computed, then
//! [`trends::compute`] and [`iop_hours::ledger`] for the numbers. The page therefore never shows
//! what the API would refuse, and the patient sees every view in their access log.
//!
//! Days are the patient's local dates: check-ins by the offset their phone recorded (as trends
//! count them); sessions and lapse markers by the patient's zone ([`when::zone_of`]: their
//! track's time zone, else their latest check-in's offset), the zone the page names.
//!
//! The URL carries the patient's id and two dates, never patient text; the page title is just
//! "Patient" because titles end up in window lists and browser history.

use crate::access::{self, ReadAction};
use crate::calendar::{civil_from_days, days_from_civil, format_day, parse_day};
use crate::clock::now_ms;
use crate::dashboard::auth::SignedIn;
use crate::dashboard::charts::{
    bar_chart, craving_chart, heatmap, hours_chart, Bar, BarChart, CravingChart, DayPoint,
    HeatCell, HoursWeek, SessionMark, SessionPoint,
};
use crate::dashboard::error::PageError;
use crate::dashboard::layout::{self, Layout};
use crate::dashboard::when;
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::repo::read_models::{self, ListQuery};
use crate::repo::{accounts, consents, trends as q};
use crate::services::iop_hours::{self, Ledger};
use crate::state::AppState;
use crate::trends::flags::Severity;
use crate::trends::{self, Trends};
use actix_web::{web, HttpResponse};
use askama::Template;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Deserialize;
use sync_core::Session;
use uuid::Uuid;

/// Days shown when the address names no range: eight weeks ending on the patient's today.
pub const DEFAULT_DAYS: i64 = 56;
/// The longest range one page shows: 100 weeks, which keeps the IOP ledger within its
/// 106-week limit whatever weekdays the range starts and ends on.
pub const MAX_DAYS: i64 = 700;
/// The most sessions drawn on one chart (five a week for 100 weeks fits).
const MAX_SESSIONS: i64 = 1_000;
/// Rows of each ranking.
const TOP_N: usize = 10;

/// `?from=&to=`: the date-range picker's GET form. An empty field (a cleared date input) means
/// the default.
#[derive(Debug, Deserialize)]
pub struct RangeQuery {
    /// First local date, inclusive.
    pub from: Option<String>,
    /// Last local date, inclusive.
    pub to: Option<String>,
}

/// Reads one date field; empty means absent.
fn date_field(text: Option<&str>, name: &'static str) -> Result<Option<i64>, PageError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => parse_day(t, name).map(Some).map_err(|_| {
            PageError::BadRequest("dates must be written like 2026-03-31 (year-month-day)")
        }),
    }
}

/// The range shown: explicit bounds win; a missing end is the patient's today and a missing
/// start is [`DEFAULT_DAYS`] before the end.
fn resolve_range(from: Option<i64>, to: Option<i64>, today: i64) -> Result<(i64, i64), PageError> {
    let to = to.unwrap_or(today);
    let from = from.unwrap_or(to - (DEFAULT_DAYS - 1));
    if from > to {
        return Err(PageError::BadRequest(
            "the start date must not be after the end date",
        ));
    }
    if to - from + 1 > MAX_DAYS {
        return Err(PageError::BadRequest(
            "a range can be at most 100 weeks long; choose a shorter one",
        ));
    }
    Ok((from, to))
}

/// A day number as a jiff date.
fn to_date(day: i64) -> Result<Date, ApiError> {
    let (y, m, d) = civil_from_days(day);
    let (Ok(y), Ok(m), Ok(d)) = (i16::try_from(y), i8::try_from(m), i8::try_from(d)) else {
        return Err(ApiError::validation(
            ErrorCode::InvalidQuery,
            "the date is out of range",
        ));
    };
    Date::new(y, m, d)
        .map_err(|_| ApiError::validation(ErrorCode::InvalidQuery, "the date is out of range"))
}

/// The day number of a jiff date.
fn day_of(date: Date) -> i64 {
    days_from_civil(
        i64::from(date.year()),
        u32::try_from(date.month()).unwrap_or(1),
        u32::try_from(date.day()).unwrap_or(1),
    )
}

/// The local day (in `tz`) of an instant.
fn local_day_in(at_ms: i64, tz: &TimeZone) -> Option<i64> {
    Timestamp::from_millisecond(at_ms)
        .ok()
        .map(|t| day_of(t.to_zoned(tz.clone()).date()))
}

/// The first instant of local day `day` in `tz`, ms.
fn start_of_day(day: i64, tz: &TimeZone) -> Result<i64, ApiError> {
    Ok(to_date(day)?
        .to_zoned(tz.clone())
        .map_err(ApiError::internal)?
        .timestamp()
        .as_millisecond())
}

/// One flag as the page shows it: severity in words and as a class, never colour alone.
pub struct FlagView {
    /// `urgent`, `high`, `medium`.
    pub severity: &'static str,
    /// `URGENT`, `High`, `Medium`.
    pub severity_word: &'static str,
    /// The kind in words.
    pub label: String,
    /// Why, with its numbers.
    pub reason: String,
}

/// One row of the daily-values table under the craving chart.
pub struct DailyRow {
    /// `2026-03-02`.
    pub date: String,
    /// Check-ins.
    pub count: i64,
    /// `5.3`.
    pub mean: String,
    /// `8`.
    pub max: i64,
    /// `5.1`.
    pub rolling: String,
    /// Lapses reported that day.
    pub lapses: usize,
}

/// One week of the IOP hours table.
pub struct WeekRow {
    /// `2026-03-02`.
    pub week_start: String,
    /// `9`.
    pub scheduled: String,
    /// `7.5`.
    pub attended: String,
    /// `yes`, `no`, or `week not over`.
    pub meets: &'static str,
}

/// One access-log entry written by this view.
pub struct AccessView {
    /// When, in the patient's time zone.
    pub at: String,
    /// The counselor's name.
    pub actor: String,
    /// `read_trends`, …, as stored.
    pub action: String,
    /// What was read, in words.
    pub what: String,
    /// The consent's id.
    pub consent_id: String,
    /// The consent it was read under, in words.
    pub consent: String,
}

/// One session of the range, for the attendance table.
pub struct SessionView {
    /// `Tue 6 Oct 18:00`, in the patient's time zone.
    pub when: String,
    /// Its title, or its kind in words.
    pub what: String,
    /// `scheduled`, `cancelled`, `completed`.
    pub status: String,
    /// `attended`, `late`, `left early`, `absent`, `excused`, or `not marked`.
    pub attendance: String,
    /// The patient's answer: `yes`, `no`, `maybe`, or `no answer`.
    pub rsvp: String,
}

fn session_view(s: &Session, tz: &TimeZone) -> SessionView {
    SessionView {
        when: s
            .starts_at
            .map_or_else(|| "—".into(), |at| when::date_time(at, tz)),
        what: s
            .title
            .clone()
            .or_else(|| s.kind.as_deref().map(words))
            .unwrap_or_else(|| "Session".into()),
        status: s.status.clone().unwrap_or_else(|| "scheduled".into()),
        attendance: s
            .attendance
            .as_deref()
            .map_or_else(|| "not marked".into(), |a| a.replace('_', " ")),
        rsvp: s.rsvp.clone().unwrap_or_else(|| "no answer".into()),
    }
}

/// The skills that lowered cravings most when one trigger was active.
pub struct TriggerSkillsView {
    /// The trigger in words.
    pub trigger: String,
    /// Up to three skills with their mean drop and count.
    pub skills: String,
}

/// A link that picks a range.
pub struct RangeLink {
    /// Words.
    pub label: String,
    /// `?from=…&to=…` (dates only).
    pub query: String,
    /// Whether it is the range shown.
    pub current: bool,
}

#[derive(Template)]
#[template(path = "dashboard/patient.html")]
struct PatientPage {
    layout: Layout,
    patient_id: String,
    name: String,
    from: String,
    to: String,
    time_zone: String,
    presets: Vec<RangeLink>,
    earlier: String,
    later: Option<String>,
    flags: Vec<FlagView>,
    direction: String,
    adherence: String,
    days_since: String,
    attendance_rate: String,
    attended: i64,
    late: i64,
    left_early: i64,
    absent: i64,
    excused: i64,
    craving_svg: String,
    daily: Vec<DailyRow>,
    lapse_count: usize,
    session_count: usize,
    sessions: Vec<SessionView>,
    skills_by_trigger: Vec<TriggerSkillsView>,
    heatmap_svg: String,
    triggers_svg: String,
    skills_svg: String,
    hours_svg: String,
    hours_note: String,
    weeks: Vec<WeekRow>,
    access: Vec<AccessView>,
}

/// What the database read gives the page.
struct Read {
    name: String,
    trends: Trends,
    ledger: Ledger,
    lapse_days: Vec<i64>,
    sessions: Vec<Session>,
    today: i64,
    range: (i64, i64),
    tz: TimeZone,
    access: Vec<consents::AccessRow>,
    consents: Vec<consents::ConsentRow>,
}

fn read(
    conn: &mut DbConnection,
    signed_in: &SignedIn,
    patient: Uuid,
    (from, to): (Option<i64>, Option<i64>),
    settings: &trends::TrendSettings,
) -> Result<Result<Read, PageError>, ApiError> {
    let caller = &signed_in.user;
    let standing = access::require_read(conn, caller, patient)?;
    let now = now_ms();
    let id = patient.to_string();
    let today = trends::today(now, q::last_checkin(conn, &id)?);
    let (from, to) = match resolve_range(from, to, today) {
        Ok(range) => range,
        Err(e) => return Ok(Err(e)),
    };
    // Logged before anything is computed: a read that cannot be logged fails.
    for action in [
        ReadAction::Trends,
        ReadAction::IopHours,
        ReadAction::List(sync_core::DocKind::Session),
    ] {
        access::record_read(conn, caller, patient, standing, action)?;
    }
    let name = accounts::find(conn, patient)?
        .map(|u| u.display_name)
        .ok_or_else(|| ApiError::NotFound("no such patient".into()))?;
    let trends = trends::compute(conn, &id, (Some(from), Some(to)), now, settings)?;
    let ledger = iop_hours::ledger(conn, patient, Some(to_date(from)?), Some(to_date(to)?), now)?;
    let tz = when::zone_of(conn, &id)?;
    let lapse_days = trends
        .lapses
        .iter()
        .filter_map(|l| l.recorded_at.and_then(|at| local_day_in(at, &tz)))
        .collect();
    let rows = read_models::list_views::<Session>(
        conn,
        &ListQuery {
            patient: id.clone(),
            from: Some(start_of_day(from, &tz)?),
            to: Some(start_of_day(to + 1, &tz)?),
            after: None,
            limit: MAX_SESSIONS,
        },
    )?;
    // Newest first, each with a start; the query fetches one row more than asked to tell a
    // caller there are more.
    let sessions: Vec<Session> = rows
        .into_iter()
        .take(usize::try_from(MAX_SESSIONS).unwrap_or(usize::MAX))
        .collect();
    let access = consents::access_log_page(conn, patient, Some(now), None, None, 20)?
        .into_iter()
        .filter(|r| r.actor_id == caller.user_id.to_string())
        .collect();
    let consents = consents::of_patient(conn, patient)?;
    Ok(Ok(Read {
        name,
        trends,
        ledger,
        lapse_days,
        sessions,
        today,
        range: (from, to),
        tz,
        access,
        consents,
    }))
}

fn severity(s: Severity) -> (&'static str, &'static str) {
    match s {
        Severity::Urgent => ("urgent", "URGENT"),
        Severity::High => ("high", "High"),
        Severity::Medium => ("medium", "Medium"),
    }
}

/// `no_recent_checkin` → `No recent checkin`.
fn words(kind: &str) -> String {
    let text = kind.replace('_', " ");
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `rising (+0.12 points a day)`; a slope that rounds to zero reads as less than a hundredth,
/// never as `-0.00`.
fn direction_words(direction: &str, slope: f64) -> String {
    if (slope * 100.0).round() == 0.0 {
        format!("{direction} (less than 0.01 points a day either way)")
    } else {
        format!("{direction} ({slope:+.2} points a day)")
    }
}

/// What a staff read was, in words (the access log stores a code, `read_trends`, …).
fn read_words(action: &str) -> String {
    match action {
        "read_trends" => "Trends and risk flags".into(),
        "read_iop_hours" => "IOP hours".into(),
        "read_caseload" => "Caseload row".into(),
        "sync_pull" => "Records synced to a device".into(),
        other => match other.strip_prefix("read_") {
            Some("checkins") => "Check-ins".into(),
            Some(table) => words(table),
            None => words(other),
        },
    }
}

/// The consent a read was made under, in words: when it was given and to whom.
fn consent_words(consent: Option<&consents::ConsentRow>, tz: &TimeZone) -> String {
    match consent {
        Some(c) => {
            let to = if c.grantee == "care_team" {
                "the care team"
            } else {
                "one counselor"
            };
            format!("Given {} to {to}", when::date_time(c.created_at, tz))
        }
        None => "A consent no longer on record".into(),
    }
}

fn one_decimal(v: f64) -> String {
    format!("{v:.1}")
}

fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `?from=…&to=…`
fn range_query(from: i64, to: i64) -> String {
    format!("?from={}&to={}", format_day(from), format_day(to))
}

fn presets(from: i64, to: i64, today: i64) -> Vec<RangeLink> {
    [
        ("4 weeks", 28),
        ("8 weeks", 56),
        ("12 weeks", 84),
        ("6 months", 182),
        ("1 year", 365),
    ]
    .into_iter()
    .map(|(label, days)| {
        let start = today - (days - 1);
        RangeLink {
            label: label.to_string(),
            query: range_query(start, today),
            current: start == from && today == to,
        }
    })
    .collect()
}

fn page_from(read: Read, patient: Uuid, signed_in: &SignedIn) -> PatientPage {
    let Read {
        name,
        trends: t,
        ledger,
        lapse_days,
        sessions,
        today,
        range: (from, to),
        tz,
        access,
        consents,
    } = read;
    let points: Vec<SessionPoint> = sessions
        .iter()
        .rev()
        .filter(|s| s.status.as_deref() != Some("cancelled"))
        .filter_map(|s| {
            Some(SessionPoint {
                day: local_day_in(s.starts_at?, &tz)?,
                mark: SessionMark::from_attendance(s.attendance.as_deref()),
                label: words(s.kind.as_deref().unwrap_or("session")).to_lowercase(),
            })
        })
        .collect();
    let session_rows: Vec<SessionView> = sessions.iter().map(|s| session_view(s, &tz)).collect();
    let days: Vec<DayPoint> = t
        .daily
        .iter()
        .filter_map(|d| {
            Some(DayPoint {
                day: parse_day(&d.date, "date").ok()?,
                count: d.count,
                mean: d.mean,
                max: d.max as f64,
                rolling_mean_7d: d.rolling_mean_7d,
            })
        })
        .collect();
    let craving_svg = craving_chart(&CravingChart {
        id: "craving-chart",
        from,
        to,
        days: &days,
        lapses: &lapse_days,
        sessions: &points,
    });
    let daily = days
        .iter()
        .map(|d| DailyRow {
            date: format_day(d.day),
            count: d.count,
            mean: one_decimal(d.mean),
            max: d.max as i64,
            rolling: one_decimal(d.rolling_mean_7d),
            lapses: lapse_days.iter().filter(|l| **l == d.day).count(),
        })
        .collect();
    let cells: Vec<HeatCell> = t
        .heatmap
        .iter()
        .map(|c| HeatCell {
            weekday: c.weekday,
            hour: c.hour,
            count: c.count,
            mean: c.mean,
        })
        .collect();
    let triggers: Vec<Bar> = t
        .triggers
        .iter()
        .take(TOP_N)
        .map(|s| Bar {
            label: s.trigger.replace('_', " "),
            value: s.count as f64,
            note: match s.mean_intensity {
                Some(m) => format!("mean craving {m:.1}"),
                None => "no craving given".into(),
            },
        })
        .collect();
    let skills: Vec<Bar> = t
        .skills
        .iter()
        .take(TOP_N)
        .map(|s| Bar {
            label: s.skill.replace('_', " "),
            value: s.mean_drop,
            note: plural(s.count, "time", "times"),
        })
        .collect();
    let hours_weeks: Vec<HoursWeek> = ledger
        .weeks
        .iter()
        .filter_map(|w| {
            let start = parse_day(&w.week_start, "week").ok()?;
            Some(HoursWeek {
                week_start: start,
                scheduled_hours: w.scheduled_hours,
                attended_hours: w.attended_hours,
                ended: start + 6 < today,
            })
        })
        .collect();
    let weeks = ledger
        .weeks
        .iter()
        .zip(&hours_weeks)
        .map(|(w, h)| WeekRow {
            week_start: w.week_start.clone(),
            scheduled: format!("{:.1}", w.scheduled_hours),
            attended: format!("{:.1}", w.attended_hours),
            meets: match (w.meets_minimum_attended, h.ended) {
                (true, _) => "yes",
                (false, true) => "no",
                (false, false) => "week not over",
            },
        })
        .collect();
    let a = &t.attendance;
    let direction = match t.trend.slope_per_day {
        Some(slope) => direction_words(t.trend.direction, slope),
        None => "not enough check-ins to tell".into(),
    };
    let presets = presets(from, to, today);
    let span = to - from + 1;
    PatientPage {
        layout: signed_in.layout("Patient", "caseload"),
        patient_id: patient.to_string(),
        name,
        from: format_day(from),
        to: format_day(to),
        time_zone: ledger.time_zone.clone(),
        presets,
        earlier: range_query(from - span, from - 1),
        later: (to < today).then(|| range_query(to + 1, (to + span).min(today).max(to + 1))),
        flags: t
            .flags
            .iter()
            .map(|f| {
                let (severity, severity_word) = severity(f.severity);
                FlagView {
                    severity,
                    severity_word,
                    label: f.kind.label().to_string(),
                    reason: f.reason.clone(),
                }
            })
            .collect(),
        direction,
        adherence: format!(
            "{} of {} days ({:.0} %)",
            t.adherence.days_with_checkin,
            t.adherence.days,
            t.adherence.rate * 100.0
        ),
        days_since: t
            .days_since_last_checkin
            .map_or_else(|| "no check-in yet".into(), |d| plural(d, "day", "days")),
        attendance_rate: a
            .rate
            .map_or_else(|| "no marked sessions".into(), |r| format!("{:.0} %", r * 100.0)),
        attended: a.attended,
        late: a.late,
        left_early: a.left_early,
        absent: a.absent,
        excused: a.excused,
        craving_svg,
        daily,
        lapse_count: lapse_days.len(),
        session_count: points.len(),
        sessions: session_rows,
        skills_by_trigger: t
            .skills_by_trigger
            .iter()
            .map(|g| TriggerSkillsView {
                trigger: words(&g.trigger),
                skills: g
                    .skills
                    .iter()
                    .take(3)
                    .map(|s| {
                        format!(
                            "{} ({:+.1}, {})",
                            words(&s.skill).to_lowercase(),
                            s.mean_drop,
                            plural(s.count, "time", "times")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            })
            .collect(),
        heatmap_svg: heatmap("heatmap-chart", &cells),
        triggers_svg: bar_chart(&BarChart {
            id: "triggers-chart",
            title: "Triggers, most frequent first",
            axis: "Check-ins naming the trigger",
            bars: &triggers,
        }),
        skills_svg: bar_chart(&BarChart {
            id: "skills-chart",
            title: "Coping skills by mean craving drop",
            axis: "Mean craving drop after the exercise (points on the 0–10 scale)",
            bars: &skills,
        }),
        hours_svg: hours_chart(
            "hours-chart",
            &hours_weeks,
            ledger.minimum_hours_per_week,
            &ledger.population,
        ),
        hours_note: format!(
            "The dashed line is the intensive outpatient minimum ({}) for {} patients: {} hours a week.",
            ledger.level_of_care, ledger.population, ledger.minimum_hours_per_week
        ),
        weeks,
        access: access
            .into_iter()
            .map(|r| AccessView {
                at: when::date_time(r.at, &tz),
                actor: r.actor_name,
                what: read_words(&r.action),
                consent: consent_words(consents.iter().find(|c| c.id == r.consent_id), &tz),
                action: r.action,
                consent_id: r.consent_id,
            })
            .collect(),
    }
}

/// The patient page.
#[tracing::instrument(skip_all, fields(user_id = %signed_in.user.user_id, patient_id = tracing::field::Empty))]
pub async fn page(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<Uuid>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, PageError> {
    let patient = path.into_inner();
    tracing::Span::current().record("patient_id", tracing::field::display(patient));
    let range = (
        date_field(query.from.as_deref(), "from")?,
        date_field(query.to.as_deref(), "to")?,
    );
    let settings = state.settings.trends.clone();
    let who = signed_in.clone();
    let read = db::run(&state.pool, move |conn| {
        read(conn, &who, patient, range, &settings)
    })
    .await??;
    layout::render(&page_from(read, patient, &signed_in))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slope_that_rounds_to_zero_never_reads_minus_zero() {
        assert_eq!(
            direction_words("flat", -0.004),
            "flat (less than 0.01 points a day either way)"
        );
        assert_eq!(direction_words("flat", 0.0), direction_words("flat", -0.0));
        assert_eq!(
            direction_words("rising", 0.123),
            "rising (+0.12 points a day)"
        );
        assert_eq!(
            direction_words("falling", -0.05),
            "falling (-0.05 points a day)"
        );
    }

    #[test]
    fn every_read_the_access_log_stores_has_words() {
        for (code, text) in [
            ("read_checkins", "Check-ins"),
            ("read_exercises", "Exercises"),
            ("read_sessions", "Sessions"),
            ("read_trends", "Trends and risk flags"),
            ("read_caseload", "Caseload row"),
            ("read_iop_hours", "IOP hours"),
            ("sync_pull", "Records synced to a device"),
        ] {
            assert_eq!(read_words(code), text);
        }
    }

    #[test]
    fn a_missing_range_is_eight_weeks_ending_today() {
        assert_eq!(resolve_range(None, None, 1000).ok(), Some((945, 1000)));
        assert_eq!(resolve_range(None, Some(500), 1000).ok(), Some((445, 500)));
        assert_eq!(resolve_range(Some(990), None, 1000).ok(), Some((990, 1000)));
    }

    #[test]
    fn a_backwards_or_overlong_range_is_refused_in_words() {
        assert!(matches!(
            resolve_range(Some(10), Some(9), 1000),
            Err(PageError::BadRequest(m)) if m.contains("after")
        ));
        assert!(resolve_range(Some(1), Some(MAX_DAYS), 1000).is_ok());
        assert!(matches!(
            resolve_range(Some(0), Some(MAX_DAYS), 1000),
            Err(PageError::BadRequest(m)) if m.contains("100 weeks")
        ));
    }

    #[test]
    fn date_fields_accept_blank_and_refuse_nonsense() {
        assert_eq!(date_field(Some(""), "from").ok(), Some(None));
        assert_eq!(date_field(Some(" 1970-01-03 "), "from").ok(), Some(Some(2)));
        assert!(date_field(Some("03/02/2026"), "from").is_err());
        assert!(date_field(Some("2026-02-30"), "from").is_err());
    }

    #[test]
    fn days_convert_to_dates_and_back() {
        let day = days_from_civil(2026, 3, 29);
        assert_eq!(to_date(day).map(day_of).ok(), Some(day));
        let tz = TimeZone::fixed(jiff::tz::offset(-5));
        let start = start_of_day(day, &tz).ok();
        assert_eq!(start, Some(day * 86_400_000 + 5 * 3_600_000));
        assert_eq!(start.and_then(|s| local_day_in(s, &tz)), Some(day));
        assert_eq!(start.and_then(|s| local_day_in(s - 1, &tz)), Some(day - 1));
    }

    #[test]
    fn the_presets_mark_the_range_shown() {
        let links = presets(1000 - 55, 1000, 1000);
        assert_eq!(links.len(), 5);
        assert!(links
            .iter()
            .filter(|l| l.current)
            .all(|l| l.label == "8 weeks"));
        assert_eq!(links.iter().filter(|l| l.current).count(), 1);
    }
}
