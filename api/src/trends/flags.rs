//! Risk flags: each with its reason in words and the data behind it, measured against the
//! patient's own history where the research says to (person-centred EMA), with every threshold
//! from configuration.

use crate::calendar::format_day;
use crate::trends::series::{ewma_baseline, slope, Day};
use serde::Serialize;
use serde_json::{json, Value};

pub use crate::repo::trends::RecentCheckin;
pub use crate::settings::FlagSettings;

/// How soon someone should act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth raising at the next session.
    Medium,
    /// Worth a call today.
    High,
    /// Call now.
    Urgent,
}

/// What a flag is about: snake_case on the wire, and the words the dashboard shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// "I need help now", or a lapse with a very high craving.
    Crisis,
    /// A craving at or above the high mark recently.
    HighCraving,
    /// A lapse reported recently.
    Lapse,
    /// No check-in for days, or none yet.
    NoRecentCheckin,
    /// Consecutive missed sessions.
    MissedSessions,
    /// Recent cravings well above the patient's own baseline.
    CravingAboveBaseline,
    /// Over the last week cravings rising while mood falls.
    CravingAndLowMoodRising,
}

impl FlagKind {
    /// The kind in words, as every dashboard page shows it.
    pub fn label(self) -> &'static str {
        match self {
            FlagKind::Crisis => "Crisis",
            FlagKind::HighCraving => "High craving",
            FlagKind::Lapse => "Lapse",
            FlagKind::NoRecentCheckin => "No recent check-in",
            FlagKind::MissedSessions => "Missed sessions",
            FlagKind::CravingAboveBaseline => "Craving above baseline",
            FlagKind::CravingAndLowMoodRising => "Craving and low mood rising",
        }
    }
}

/// One flag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    /// Stable machine-readable kind.
    pub kind: FlagKind,
    /// How soon to act.
    pub severity: Severity,
    /// Why, in words a counselor reads at a glance.
    pub reason: String,
    /// The numbers behind it.
    pub data: Value,
}

/// Everything the flags look at.
#[derive(Debug, Clone, Default)]
pub struct FlagInputs {
    /// Server time (ms).
    pub now_ms: i64,
    /// The patient's local day today.
    pub today: i64,
    /// Check-ins recorded or arrived recently.
    pub recent: Vec<RecentCheckin>,
    /// Daily aggregates of recent weeks (enough for a baseline), oldest first.
    pub daily: Vec<Day>,
    /// Local day of the latest check-in, if any.
    pub last_checkin_day: Option<i64>,
    /// Attendance of the latest sessions that have one, newest first.
    pub attendance: Vec<String>,
}

const HOUR_MS: i64 = 3_600_000;

/// Whether a check-in signals a crisis rather than a trend.
pub fn is_crisis(crisis: bool, lapse: bool, intensity: Option<i64>, s: &FlagSettings) -> bool {
    crisis || (lapse && intensity.is_some_and(|i| i >= s.crisis_lapse_intensity))
}

/// One flag rule: the flag it raises for these inputs, if any.
type Rule = fn(&FlagInputs, &FlagSettings) -> Option<Flag>;

/// The rules, in the order their flags are listed before sorting by severity.
const RULES: [Rule; 7] = [
    crisis,
    high_craving,
    lapse,
    no_recent_checkin,
    missed_sessions,
    craving_above_baseline,
    craving_and_low_mood_rising,
];

/// Computes every flag, most severe first (rules of equal severity keep their order).
pub fn flags(input: &FlagInputs, s: &FlagSettings) -> Vec<Flag> {
    let mut out: Vec<Flag> = RULES.iter().filter_map(|rule| rule(input, s)).collect();
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// Whether a check-in was recorded, or reached the server, within the last `hours`: late data
/// is judged on arrival.
fn recorded_or_arrived_within(c: &RecentCheckin, now: i64, hours: i64) -> bool {
    c.recorded_at >= now - hours * HOUR_MS || c.arrived_at >= now - hours * HOUR_MS
}

/// Urgent: a crisis check-in made or arrived within `crisis_hours`.
fn crisis(input: &FlagInputs, s: &FlagSettings) -> Option<Flag> {
    let crises: Vec<&RecentCheckin> = input
        .recent
        .iter()
        .filter(|c| {
            is_crisis(c.crisis, c.lapse, c.intensity, s)
                && recorded_or_arrived_within(c, input.now_ms, s.crisis_hours)
        })
        .collect();
    let latest = crises.iter().max_by_key(|c| c.recorded_at)?;
    let reason = if latest.crisis {
        "pressed \"I need help now\"".to_string()
    } else {
        format!(
            "reported a lapse with craving {}/10",
            latest.intensity.unwrap_or_default()
        )
    };
    Some(Flag {
        kind: FlagKind::Crisis,
        severity: Severity::Urgent,
        reason: format!("Crisis: {reason}; call now"),
        data: json!({ "checkin_id": latest.id, "recorded_at": latest.recorded_at, "count": crises.len() }),
    })
}

/// High: a craving at or above `high_intensity` recorded within `high_intensity_hours`.
fn high_craving(input: &FlagInputs, s: &FlagSettings) -> Option<Flag> {
    let high: Vec<&RecentCheckin> = input
        .recent
        .iter()
        .filter(|c| {
            c.intensity.is_some_and(|i| i >= s.high_intensity)
                && c.recorded_at >= input.now_ms - s.high_intensity_hours * HOUR_MS
        })
        .collect();
    let peak = high.iter().max_by_key(|c| (c.intensity, c.recorded_at))?;
    let intensity = peak.intensity.unwrap_or_default();
    Some(Flag {
        kind: FlagKind::HighCraving,
        severity: Severity::High,
        reason: format!(
            "Craving {intensity}/10 in the last {} hours",
            s.high_intensity_hours
        ),
        data: json!({ "checkin_id": peak.id, "intensity": intensity, "recorded_at": peak.recorded_at, "count": high.len() }),
    })
}

/// High: a lapse made or arrived within `lapse_days`.
fn lapse(input: &FlagInputs, s: &FlagSettings) -> Option<Flag> {
    let lapses: Vec<&RecentCheckin> = input
        .recent
        .iter()
        .filter(|c| c.lapse && recorded_or_arrived_within(c, input.now_ms, s.lapse_days * 24))
        .collect();
    let latest = lapses.iter().max_by_key(|c| c.recorded_at)?;
    Some(Flag {
        kind: FlagKind::Lapse,
        severity: Severity::High,
        reason: format!("Reported a lapse in the last {} days", s.lapse_days),
        data: json!({ "checkin_id": latest.id, "recorded_at": latest.recorded_at, "count": lapses.len() }),
    })
}

/// Medium: no check-in for `no_checkin_days` local days, or none yet.
fn no_recent_checkin(input: &FlagInputs, s: &FlagSettings) -> Option<Flag> {
    match input.last_checkin_day {
        Some(last) if input.today - last >= s.no_checkin_days => Some(Flag {
            kind: FlagKind::NoRecentCheckin,
            severity: Severity::Medium,
            reason: format!("No check-in for {} days", input.today - last),
            data: json!({ "last_checkin_date": format_day(last), "days": input.today - last }),
        }),
        None => Some(Flag {
            kind: FlagKind::NoRecentCheckin,
            severity: Severity::Medium,
            reason: "No check-in yet".to_string(),
            data: json!({ "last_checkin_date": null, "days": null }),
        }),
        Some(_) => None,
    }
}

/// High: the latest `missed_sessions` sessions (or more) all missed.
fn missed_sessions(input: &FlagInputs, s: &FlagSettings) -> Option<Flag> {
    let missed = input
        .attendance
        .iter()
        .take_while(|a| a.as_str() == "absent")
        .count();
    (s.missed_sessions > 0 && missed >= s.missed_sessions).then(|| Flag {
        kind: FlagKind::MissedSessions,
        severity: Severity::High,
        reason: format!("Missed the last {missed} sessions in a row"),
        data: json!({ "consecutive_absences": missed }),
    })
}

/// High: the last `recent_days` days' cravings `baseline_z` or more above the patient's own
/// moving baseline (with at least `min_baseline_days` days of it).
fn craving_above_baseline(input: &FlagInputs, s: &FlagSettings) -> Option<Flag> {
    let recent_from = input.today - s.recent_days + 1;
    let (baseline_days, recent_days): (Vec<&Day>, Vec<&Day>) =
        input.daily.iter().partition(|d| d.day < recent_from);
    let recent_n: i64 = recent_days.iter().map(|d| d.count).sum();
    if baseline_days.len() < s.min_baseline_days || recent_n <= 0 {
        return None;
    }
    let means: Vec<f64> = baseline_days.iter().map(|d| d.mean).collect();
    let b = ewma_baseline(&means, s.ewma_alpha)?;
    let recent_mean = recent_days
        .iter()
        .map(|d| d.mean * d.count as f64)
        .sum::<f64>()
        / recent_n as f64;
    // A floor on the spread: a patient who always reports exactly 3 should not be flagged for
    // one 4.
    let z = (recent_mean - b.mean) / b.sd.max(0.5);
    (z >= s.baseline_z).then(|| Flag {
        kind: FlagKind::CravingAboveBaseline,
        severity: Severity::High,
        reason: format!(
            "Cravings over the last {} days average {recent_mean:.1}, well above this patient's usual {:.1}",
            s.recent_days, b.mean
        ),
        data: json!({ "recent_mean": recent_mean, "baseline_mean": b.mean, "baseline_sd": b.sd, "z": z, "baseline_days": b.days }),
    })
}

/// High: over the last 7 days (at least 4 of each), cravings rising at `rising_slope` or more
/// while mood falls at `falling_mood_slope` or more.
fn craving_and_low_mood_rising(input: &FlagInputs, s: &FlagSettings) -> Option<Flag> {
    let week: Vec<&Day> = input
        .daily
        .iter()
        .filter(|d| d.day > input.today - 7)
        .collect();
    let craving_pts: Vec<(f64, f64)> = week.iter().map(|d| (d.day as f64, d.mean)).collect();
    let mood_pts: Vec<(f64, f64)> = week
        .iter()
        .filter_map(|d| d.mood.map(|m| (d.day as f64, m)))
        .collect();
    if craving_pts.len() < 4 || mood_pts.len() < 4 {
        return None;
    }
    let cs = slope(&craving_pts)?;
    let ms = slope(&mood_pts)?;
    (cs >= s.rising_slope && ms <= s.falling_mood_slope).then(|| Flag {
        kind: FlagKind::CravingAndLowMoodRising,
        severity: Severity::High,
        reason: "Over the last week cravings are rising while mood is falling".to_string(),
        data: json!({ "craving_slope_per_day": cs, "mood_slope_per_day": ms }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;
    const NOW: i64 = 20_000 * DAY_MS + 12 * HOUR_MS;

    fn checkin(hours_ago: i64, intensity: i64) -> RecentCheckin {
        RecentCheckin {
            id: format!("c{hours_ago}"),
            recorded_at: NOW - hours_ago * HOUR_MS,
            arrived_at: NOW - hours_ago * HOUR_MS,
            intensity: Some(intensity),
            lapse: false,
            crisis: false,
        }
    }

    fn input(recent: Vec<RecentCheckin>) -> FlagInputs {
        FlagInputs {
            now_ms: NOW,
            today: 20_000,
            recent,
            daily: Vec::new(),
            last_checkin_day: Some(20_000),
            attendance: Vec::new(),
        }
    }

    fn kinds(flags: &[Flag]) -> Vec<String> {
        flags.iter().map(|f| spelling(f.kind)).collect()
    }

    fn spelling(kind: FlagKind) -> String {
        serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    #[test]
    fn each_kind_keeps_its_wire_spelling_and_has_its_own_label() {
        let all = [
            (FlagKind::Crisis, "crisis", "Crisis"),
            (FlagKind::HighCraving, "high_craving", "High craving"),
            (FlagKind::Lapse, "lapse", "Lapse"),
            (
                FlagKind::NoRecentCheckin,
                "no_recent_checkin",
                "No recent check-in",
            ),
            (
                FlagKind::MissedSessions,
                "missed_sessions",
                "Missed sessions",
            ),
            (
                FlagKind::CravingAboveBaseline,
                "craving_above_baseline",
                "Craving above baseline",
            ),
            (
                FlagKind::CravingAndLowMoodRising,
                "craving_and_low_mood_rising",
                "Craving and low mood rising",
            ),
        ];
        assert_eq!(all.len(), RULES.len());
        for (kind, wire, label) in all {
            assert_eq!(spelling(kind), wire);
            assert_eq!(kind.label(), label);
        }
    }

    #[test]
    fn a_patient_who_never_checked_in_is_flagged_without_a_date() {
        let mut i = input(Vec::new());
        i.last_checkin_day = None;
        let f = flags(&i, &FlagSettings::default());
        assert_eq!(kinds(&f), vec!["no_recent_checkin"]);
        assert_eq!(f[0].reason, "No check-in yet");
        assert_eq!(f[0].data["days"], Value::Null);
    }

    #[test]
    fn missed_sessions_set_to_zero_flags_nothing() {
        let mut i = input(Vec::new());
        i.attendance = vec!["absent".into(); 5];
        let s = FlagSettings {
            missed_sessions: 0,
            ..FlagSettings::default()
        };
        assert!(flags(&i, &s).is_empty());
    }

    #[test]
    fn a_quiet_patient_has_no_flags() {
        assert!(flags(&input(vec![checkin(5, 3)]), &FlagSettings::default()).is_empty());
    }

    #[test]
    fn help_now_is_an_urgent_crisis_even_when_it_arrives_days_late() {
        let mut c = checkin(24 * 5, 2);
        c.crisis = true;
        c.arrived_at = NOW - HOUR_MS;
        let f = flags(&input(vec![c]), &FlagSettings::default());
        assert_eq!(kinds(&f), vec!["crisis"]);
        assert_eq!(f[0].severity, Severity::Urgent);
    }

    #[test]
    fn a_lapse_at_nine_is_a_crisis_and_at_five_is_a_lapse() {
        let mut severe = checkin(2, 9);
        severe.lapse = true;
        assert_eq!(
            kinds(&flags(&input(vec![severe]), &FlagSettings::default())),
            vec!["crisis", "high_craving", "lapse"]
        );
        let mut mild = checkin(2, 5);
        mild.lapse = true;
        assert_eq!(
            kinds(&flags(&input(vec![mild]), &FlagSettings::default())),
            vec!["lapse"]
        );
    }

    #[test]
    fn high_craving_counts_only_inside_its_window() {
        assert_eq!(
            kinds(&flags(
                &input(vec![checkin(47, 8)]),
                &FlagSettings::default()
            )),
            vec!["high_craving"]
        );
        assert!(flags(&input(vec![checkin(49, 8)]), &FlagSettings::default()).is_empty());
        assert!(flags(&input(vec![checkin(1, 7)]), &FlagSettings::default()).is_empty());
    }

    #[test]
    fn silence_and_missed_sessions_are_flagged_at_their_thresholds() {
        let mut i = input(Vec::new());
        i.last_checkin_day = Some(19_998);
        assert!(flags(&i, &FlagSettings::default()).is_empty());
        i.last_checkin_day = Some(19_997);
        i.attendance = vec!["absent".into(), "absent".into(), "attended".into()];
        assert_eq!(
            kinds(&flags(&i, &FlagSettings::default())),
            vec!["missed_sessions", "no_recent_checkin"]
        );
        i.attendance = vec!["absent".into(), "attended".into(), "absent".into()];
        assert_eq!(
            kinds(&flags(&i, &FlagSettings::default())),
            vec!["no_recent_checkin"]
        );
    }

    #[test]
    fn a_rise_against_the_patients_own_baseline_is_flagged_not_a_population_cut_off() {
        let day = |d: i64, mean: f64| Day {
            day: d,
            count: 2,
            mean,
            max: mean as i64,
            mood: None,
        };
        let mut i = input(Vec::new());
        // A patient who usually sits around 2: a 5 is far above their own normal…
        i.daily = (0..14)
            .map(|k| day(19_984 + k, if k % 2 == 0 { 2.0 } else { 2.5 }))
            .collect();
        i.daily.push(day(19_999, 5.0));
        i.daily.push(day(20_000, 5.0));
        assert_eq!(
            kinds(&flags(&i, &FlagSettings::default())),
            vec!["craving_above_baseline"]
        );
        // …while for a patient who usually sits around 5, it is an ordinary day.
        for d in &mut i.daily {
            if d.day < 19_998 {
                d.mean += 3.0;
            }
        }
        assert!(flags(&i, &FlagSettings::default()).is_empty());
    }

    #[test]
    fn rising_craving_with_falling_mood_is_flagged_together_only() {
        let mut i = input(Vec::new());
        i.daily = (0..6)
            .map(|k| Day {
                day: 19_995 + k,
                count: 1,
                mean: 3.0 + k as f64 * 0.5,
                max: 5,
                mood: Some(4.0 - k as f64 * 0.4),
            })
            .collect();
        let s = FlagSettings {
            min_baseline_days: 100,
            ..FlagSettings::default()
        };
        assert_eq!(kinds(&flags(&i, &s)), vec!["craving_and_low_mood_rising"]);
        for d in &mut i.daily {
            d.mood = Some(4.0);
        }
        assert!(flags(&i, &s).is_empty());
    }
}
