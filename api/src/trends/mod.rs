//! Trends and risk flags for one patient: what a counselor reads before deciding whom to call
//! and what to work on. The heavy lifting is SQL aggregation ([`crate::repo::trends`]); this
//! module shapes the aggregates and applies the pure rules in [`series`] and [`flags`].

pub mod flags;
pub mod series;

use crate::calendar::{self, format_day, local_day};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::repo::trends::{self as q, HeatCell, Lapse, LastCheckin, SkillStat, TriggerStat};
use flags::{Flag, FlagInputs};
use serde::Serialize;
use series::{rolling_mean, slope};

pub use crate::settings::TrendSettings;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// One local day of cravings.
#[derive(Debug, Serialize)]
pub struct DailyPoint {
    /// `YYYY-MM-DD`, the patient's local date.
    pub date: String,
    /// Check-ins with an intensity.
    pub count: i64,
    /// Mean intensity.
    pub mean: f64,
    /// Highest intensity.
    pub max: i64,
    /// Check-in-weighted mean of the 7 days ending this day.
    pub rolling_mean_7d: f64,
}

/// Direction of cravings over the window.
#[derive(Debug, Serialize)]
pub struct Direction {
    /// Least-squares slope of daily means, points per day; null with fewer than two days.
    pub slope_per_day: Option<f64>,
    /// `rising`, `falling`, `flat`, or `unknown` (too little data).
    pub direction: &'static str,
}

/// Skills that worked for one trigger.
#[derive(Debug, Serialize)]
pub struct TriggerSkills {
    /// Trigger tag.
    pub trigger: String,
    /// Skills by mean craving drop, best first.
    pub skills: Vec<SkillStat>,
}

/// Days with a check-in over days in the window.
#[derive(Debug, Serialize)]
pub struct Adherence {
    /// Days with at least one check-in.
    pub days_with_checkin: i64,
    /// Days in the window.
    pub days: i64,
    /// The ratio.
    pub rate: f64,
}

/// Session attendance in the window.
#[derive(Debug, Default, Serialize)]
pub struct Attendance {
    /// Sessions attended on time.
    pub attended: i64,
    /// Attended, late.
    pub late: i64,
    /// Attended, left early.
    pub left_early: i64,
    /// Missed.
    pub absent: i64,
    /// Excused (not counted in the rate).
    pub excused: i64,
    /// (attended + late + left_early) ÷ (those + absent); null with no such session.
    pub rate: Option<f64>,
}

/// Everything `GET /v1/patients/{id}/trends` answers.
#[derive(Debug, Serialize)]
pub struct Trends {
    /// First local date of the window.
    pub from: String,
    /// Last local date of the window (inclusive).
    pub to: String,
    /// Daily craving series (days with check-ins only).
    pub daily: Vec<DailyPoint>,
    /// Slope and direction.
    pub trend: Direction,
    /// Triggers, most frequent first.
    pub triggers: Vec<TriggerStat>,
    /// Triggers named at least twice, highest mean craving first.
    pub triggers_by_intensity: Vec<TriggerStat>,
    /// Time-of-day × weekday cells.
    pub heatmap: Vec<HeatCell>,
    /// Coping skills by mean craving drop.
    pub skills: Vec<SkillStat>,
    /// Coping skills by mean craving drop, per trigger.
    pub skills_by_trigger: Vec<TriggerSkills>,
    /// Lapses reported in the window.
    pub lapses: Vec<Lapse>,
    /// Check-in adherence.
    pub adherence: Adherence,
    /// Session attendance.
    pub attendance: Attendance,
    /// Days since the latest check-in (any time); null if none yet.
    pub days_since_last_checkin: Option<i64>,
    /// Risk flags now (not limited to the window), most severe first.
    pub flags: Vec<Flag>,
}

/// The patient's "today": the current date at the UTC offset of their latest check-in.
pub fn today(now_ms: i64, last: Option<LastCheckin>) -> i64 {
    local_day(now_ms, last.map_or(0, |l| l.tz_offset_min))
}

/// Flags for one patient now.
pub fn current_flags(
    conn: &mut DbConnection,
    patient: &str,
    now_ms: i64,
    settings: &TrendSettings,
) -> Result<(Vec<Flag>, Option<LastCheckin>), ApiError> {
    let s = &settings.flags;
    let last = q::last_checkin(conn, patient)?;
    let today = today(now_ms, last);
    let recorded_after = now_ms
        - (s.lapse_days * 24)
            .max(s.high_intensity_hours)
            .max(s.crisis_hours)
            * HOUR_MS;
    let arrived_after = now_ms - (s.lapse_days * 24).max(s.crisis_hours) * HOUR_MS;
    let inputs = FlagInputs {
        now_ms,
        today,
        recent: q::recent_checkins(conn, patient, recorded_after, arrived_after)?,
        daily: q::daily(conn, patient, today - settings.baseline_days, today)?,
        last_checkin_day: last.map(|l| l.day),
        attendance: q::latest_attendance(
            conn,
            patient,
            now_ms,
            i64::try_from(s.missed_sessions).unwrap_or(2).max(1),
        )?,
    };
    Ok((flags::flags(&inputs, s), last))
}

/// Computes trends over local days `[from, to]` (both inclusive; `None` picks the 28 days ending
/// today).
pub fn compute(
    conn: &mut DbConnection,
    patient: &str,
    window: (Option<i64>, Option<i64>),
    now_ms: i64,
    settings: &TrendSettings,
) -> Result<Trends, ApiError> {
    let (flags, last) = current_flags(conn, patient, now_ms, settings)?;
    let today = today(now_ms, last);
    let to = window.1.unwrap_or(today);
    // The default window never reaches back before the first day a date may name.
    let from = window.0.unwrap_or((to - 27).max(calendar::first_day()));
    if from > to {
        return Err(ApiError::validation(
            ErrorCode::InvalidQuery,
            "from must not be after to",
        ));
    }
    if to - from > 3_660 {
        return Err(ApiError::validation(
            ErrorCode::InvalidQuery,
            "the window is at most ten years",
        ));
    }

    let days = q::daily(conn, patient, from, to)?;
    let rolling = rolling_mean(&days, 7);
    let points: Vec<(f64, f64)> = days.iter().map(|d| (d.day as f64, d.mean)).collect();
    let slope_per_day = slope(&points);
    let direction = match slope_per_day {
        None => "unknown",
        Some(s) if s >= settings.flat_slope => "rising",
        Some(s) if s <= -settings.flat_slope => "falling",
        Some(_) => "flat",
    };

    let triggers = q::triggers(conn, patient, from, to)?;
    let mut by_intensity: Vec<TriggerStat> =
        triggers.iter().filter(|t| t.count >= 2).cloned().collect();
    by_intensity.sort_by(|a, b| {
        b.mean_intensity
            .unwrap_or(0.0)
            .total_cmp(&a.mean_intensity.unwrap_or(0.0))
            .then(b.count.cmp(&a.count))
            .then(a.trigger.cmp(&b.trigger))
    });

    let mut skills_by_trigger: Vec<TriggerSkills> = Vec::new();
    for row in q::skills_by_trigger(
        conn,
        patient,
        from,
        to,
        settings.skill_trigger_lookback_hours * HOUR_MS,
    )? {
        let stat = SkillStat {
            skill: row.skill,
            count: row.count,
            mean_drop: row.mean_drop,
        };
        match skills_by_trigger.last_mut() {
            Some(group) if group.trigger == row.trigger => group.skills.push(stat),
            _ => skills_by_trigger.push(TriggerSkills {
                trigger: row.trigger,
                skills: vec![stat],
            }),
        }
    }

    let window_days = to - from + 1;
    let with_checkin = q::days_with_checkin(conn, patient, from, to)?;
    // Sessions are stored in UTC; the window's bounds are taken at the patient's latest offset.
    let offset_ms = last.map_or(0, |l| l.tz_offset_min) * 60_000;
    let mut attendance = Attendance::default();
    for (kind, n) in q::attendance(
        conn,
        patient,
        from * DAY_MS - offset_ms,
        (to + 1) * DAY_MS - offset_ms,
    )? {
        match kind.as_str() {
            "attended" => attendance.attended = n,
            "late" => attendance.late = n,
            "left_early" => attendance.left_early = n,
            "absent" => attendance.absent = n,
            "excused" => attendance.excused = n,
            _ => {}
        }
    }
    let present = attendance.attended + attendance.late + attendance.left_early;
    let counted = present + attendance.absent;
    attendance.rate = (counted > 0).then(|| present as f64 / counted as f64);

    Ok(Trends {
        from: format_day(from),
        to: format_day(to),
        daily: days
            .iter()
            .zip(rolling)
            .map(|(d, r)| DailyPoint {
                date: format_day(d.day),
                count: d.count,
                mean: d.mean,
                max: d.max,
                rolling_mean_7d: r,
            })
            .collect(),
        trend: Direction {
            slope_per_day,
            direction,
        },
        triggers,
        triggers_by_intensity: by_intensity,
        heatmap: q::heatmap(conn, patient, from, to)?,
        skills: q::skills(conn, patient, from, to)?,
        skills_by_trigger,
        lapses: q::lapses(conn, patient, from, to)?,
        adherence: Adherence {
            days_with_checkin: with_checkin,
            days: window_days,
            rate: with_checkin as f64 / window_days as f64,
        },
        attendance,
        days_since_last_checkin: last.map(|l| today - l.day),
        flags,
    })
}
