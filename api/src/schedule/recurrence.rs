//! Weekly recurrence with step-down changes, computed in an IANA time zone. Pure: no I/O.
//!
//! A track runs `weeks` weeks from `start_date` (week 1 starts that day). Its schedule is a list of
//! slots, each applying from a week on: in week `w` the slots whose `from_week` is the highest
//! `from_week ≤ w` apply (several slots may share a `from_week`, e.g. a group in the evening and an
//! individual session on Saturdays). So `[{from_week: 1, days: mon–fri}, {from_week: 5, days: mon,
//! wed, fri}]` steps down from five to three days a week in week 5.
//!
//! Local wall-clock times are turned into instants with the track's time zone rules for that
//! date, so an 18:00 group stays at 18:00 local across a daylight-saving change (its UTC time
//! moves instead). A local time that does not exist (inside a spring-forward gap) is taken
//! after the gap, a repeated one (fall back) is taken at its first occurrence — jiff's
//! "compatible" rule, the one RFC 5545 calendars use.

use crate::error::ApiError;
use crate::error::ErrorCode;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Span;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The fewest and most weeks a track may run. IOPs run 8–12 weeks, a long one up to six months.
pub const WEEKS: std::ops::RangeInclusive<i64> = 1..=26;
/// The most weeks of a track stored before [`WEEKS`] was narrowed: such a track can still be
/// read, but no longer enrolled in (see [`check_limits`]).
pub const STORED_WEEKS_MAX: i64 = 52;
/// Session length bounds in minutes (the session schema's).
pub const DURATION_MIN: std::ops::RangeInclusive<i64> = 5..=720;
/// At most this many slots in a schedule.
pub const MAX_SLOTS: usize = 50;
/// At most this many sessions on one day (an IOP day is one three-hour block, perhaps with an
/// individual or medication session beside it).
pub const MAX_SESSIONS_PER_DAY: usize = 3;
/// At most this many sessions in one week (IOPs hold 3–5 group days, plus individual, family
/// and medication sessions).
pub const MAX_SESSIONS_PER_WEEK: usize = 10;
/// At most this many sessions in a whole track (a long program: 26 weeks of 5 group days and
/// a few more). An enrollment writes five ops a session in one push, which on SQLite holds the
/// one write lock while it is stored: 200 sessions are 1,000 ops, the most a phone may push at
/// once (`TETHER_MAX_BATCH_OPS`), so no enrollment keeps other pushes waiting longer than the
/// largest push does (the figure is in docs/performance.md).
pub const MAX_SESSIONS: usize = 200;
/// Longest track or title name, in characters.
pub const MAX_NAME_CHARS: usize = 120;

/// Namespace of the UUID v5 session ids generated from tracks.
pub const SESSION_NAMESPACE: Uuid = Uuid::from_u128(0x5c4e_d01e_7e74_4e2a_9b1d_0000_0000_0001);

const DAY_NAMES: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// Who a track is for; it sets the weekly IOP minimum (ASAM level 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Population {
    /// At least 9 hours a week.
    Adult,
    /// At least 6 hours a week.
    Adolescent,
}

impl Population {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Population::Adult => "adult",
            Population::Adolescent => "adolescent",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "adult" => Some(Population::Adult),
            "adolescent" => Some(Population::Adolescent),
            _ => None,
        }
    }

    /// The IOP minimum in minutes a week: 9 h for adults, 6 h for adolescents (ASAM level 2.1).
    pub fn minimum_minutes_per_week(self) -> i64 {
        match self {
            Population::Adult => 9 * 60,
            Population::Adolescent => 6 * 60,
        }
    }
}

/// One slot of a schedule as submitted and stored (wire form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotInput {
    /// First week (1-based) this slot applies from.
    pub from_week: i64,
    /// Days of the week: `mon` … `sun`.
    pub days: Vec<String>,
    /// Local start time, `HH:MM`.
    pub start_time: String,
    /// Length in minutes.
    pub duration_min: i64,
    /// Session kind (sync-core's `SESSION_KINDS`).
    pub kind: String,
    /// Title shown on the phone; defaults to the track's name.
    pub title: Option<String>,
}

/// A track definition as submitted (wire form).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackInput {
    /// Name, e.g. "Evening IOP".
    pub name: String,
    /// IANA time zone of the clinic, e.g. `America/New_York`.
    pub time_zone: String,
    /// `adult` or `adolescent`.
    pub population: String,
    /// First day of week 1, `YYYY-MM-DD`.
    pub start_date: String,
    /// Length in weeks, 1–26.
    pub weeks: i64,
    /// The weekly slots, with their step-down changes.
    pub schedule: Vec<SlotInput>,
}

/// One validated slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// First week it applies from.
    pub from_week: i64,
    /// Days it runs, Monday first, no repeats.
    pub days: Vec<Weekday>,
    /// Local start time.
    pub start_time: Time,
    /// Length in minutes.
    pub duration_min: i64,
    /// Session kind.
    pub kind: String,
    /// Title.
    pub title: String,
}

/// A validated track definition.
#[derive(Debug, Clone)]
pub struct TrackSpec {
    /// Name.
    pub name: String,
    /// The IANA name, as given.
    pub time_zone_name: String,
    /// The zone's rules.
    pub time_zone: TimeZone,
    /// Who it is for.
    pub population: Population,
    /// First day of week 1.
    pub start_date: Date,
    /// Length in weeks.
    pub weeks: i64,
    /// The slots, sorted by `from_week`.
    pub slots: Vec<Slot>,
}

impl TrackSpec {
    /// The last day of the track.
    pub fn end_date(&self) -> Result<Date, ApiError> {
        add_days(self.start_date, self.weeks * 7 - 1)
    }

    /// The normalized wire form of the slots (days Monday first, titles filled in).
    pub fn slot_inputs(&self) -> Vec<SlotInput> {
        self.slots
            .iter()
            .map(|s| SlotInput {
                from_week: s.from_week,
                days: s.days.iter().map(|d| day_name(*d).to_string()).collect(),
                start_time: format_time(s.start_time),
                duration_min: s.duration_min,
                kind: s.kind.clone(),
                title: Some(s.title.clone()),
            })
            .collect()
    }
}

/// One dated session of a track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// Week of the track, 1-based.
    pub week: i64,
    /// Local calendar date.
    pub local_date: Date,
    /// Local start time.
    pub start_time: Time,
    /// Start instant, ms since the epoch (UTC).
    pub starts_at_ms: i64,
    /// Length in minutes.
    pub duration_min: i64,
    /// Session kind.
    pub kind: String,
    /// Title.
    pub title: String,
}

impl Occurrence {
    /// The session fields this occurrence is written with, as sync ops' `(field, value)`.
    pub fn fields(&self) -> [(&'static str, serde_json::Value); 5] {
        use serde_json::json;
        [
            ("kind", json!(self.kind)),
            ("title", json!(self.title)),
            ("starts_at", json!(self.starts_at_ms)),
            ("duration_min", json!(self.duration_min)),
            ("status", json!("scheduled")),
        ]
    }

    /// The session document id of this occurrence for one patient: UUID v5 over the track, the
    /// patient, the local date and the slot's local start time, so regenerating a schedule
    /// yields the same documents (never duplicates) and a step-down that keeps a day keeps its
    /// document.
    pub fn doc_id(&self, track: Uuid, patient: Uuid) -> Uuid {
        let name = format!(
            "tether/track-session/{track}/{patient}/{}/{}",
            self.local_date,
            format_time(self.start_time)
        );
        Uuid::new_v5(&SESSION_NAMESPACE, name.as_bytes())
    }
}

fn invalid(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::validation(code, message)
}

fn day_name(day: Weekday) -> &'static str {
    DAY_NAMES
        .iter()
        .find(|(_, d)| *d == day)
        .map_or("mon", |(n, _)| n)
}

/// `HH:MM` of a time.
pub fn format_time(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// Adds whole days to a date.
pub fn add_days(date: Date, days: i64) -> Result<Date, ApiError> {
    date.checked_add(Span::new().try_days(days).map_err(ApiError::internal)?)
        .map_err(|_| invalid(ErrorCode::InvalidDate, "the date is out of range"))
}

/// Parses `YYYY-MM-DD` strictly (2026-02-30 is refused).
pub fn parse_date(text: &str, field: &str) -> Result<Date, ApiError> {
    let bad = || {
        invalid(
            ErrorCode::InvalidDate,
            format!("{field} must be a date like 2026-03-02"),
        )
    };
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let num = |s: &str| s.parse::<i16>().map_err(|_| bad());
    let (y, m, d) = (num(&text[0..4])?, num(&text[5..7])?, num(&text[8..10])?);
    if !crate::calendar::DATE_YEARS.contains(&i64::from(y)) {
        return Err(bad());
    }
    let m = i8::try_from(m).map_err(|_| bad())?;
    let d = i8::try_from(d).map_err(|_| bad())?;
    Date::new(y, m, d).map_err(|_| bad())
}

/// Parses `HH:MM`, 00:00–23:59.
pub fn parse_time(text: &str) -> Result<Time, ApiError> {
    let bad = || {
        invalid(
            ErrorCode::InvalidTime,
            "start_time must be a 24-hour local time like 18:00",
        )
    };
    let b = text.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
    {
        return Err(bad());
    }
    let h: i8 = text[0..2].parse().map_err(|_| bad())?;
    let m: i8 = text[3..5].parse().map_err(|_| bad())?;
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

/// Looks up an IANA time zone in the bundled database.
pub fn parse_time_zone(name: &str) -> Result<TimeZone, ApiError> {
    // Fixed offsets and POSIX strings are not clinic time zones.
    if !name.contains('/') && name != "UTC" {
        return Err(invalid(
            ErrorCode::UnknownTimeZone,
            "time_zone must be an IANA time zone like America/New_York",
        ));
    }
    TimeZone::get(name).map_err(|_| {
        invalid(
            ErrorCode::UnknownTimeZone,
            "time_zone must be an IANA time zone like America/New_York",
        )
    })
}

fn name_text(raw: &str, field: &str, code: ErrorCode) -> Result<String, ApiError> {
    let text = raw.trim();
    if text.is_empty()
        || text.chars().count() > MAX_NAME_CHARS
        || !sync_core::text::is_one_line(text)
    {
        return Err(invalid(
            code,
            format!("{field} must be 1–{MAX_NAME_CHARS} characters without control characters"),
        ));
    }
    Ok(text.to_string())
}

/// Validates a submitted track into a [`TrackSpec`]: its shape, then [`check_limits`]; every
/// problem has its own 422 code.
pub fn validate(input: &TrackInput) -> Result<TrackSpec, ApiError> {
    let spec = parse(input, *WEEKS.end())?;
    check_limits(&spec)?;
    Ok(spec)
}

/// Rebuilds the typed form of a stored track: its shape only, so that a track stored under
/// older limits can still be read (enrolling in it checks [`check_limits`] again).
pub fn parse_stored(input: &TrackInput) -> Result<TrackSpec, ApiError> {
    parse(input, STORED_WEEKS_MAX)
}

/// What a track may hold to be enrolled in: a start in [`sync_core::schema::SCHEDULE_START_YEARS`],
/// at most [`WEEKS`], [`MAX_SESSIONS_PER_DAY`], [`MAX_SESSIONS_PER_WEEK`] and [`MAX_SESSIONS`],
/// and every session one the session schema accepts (judged here, field by field, as the push
/// will judge the ops that write it), so an accepted track always enrolls whole.
pub fn check_limits(spec: &TrackSpec) -> Result<(), ApiError> {
    let years = sync_core::schema::SCHEDULE_START_YEARS;
    if !years.contains(&spec.start_date.year()) {
        return Err(invalid(
            ErrorCode::InvalidDate,
            format!(
                "start_date must fall in the years {}–{}, so that every session can be stored",
                years.start(),
                years.end()
            ),
        ));
    }
    if !WEEKS.contains(&spec.weeks) {
        return Err(weeks_error());
    }
    let mut phases: Vec<i64> = spec.slots.iter().map(|s| s.from_week).collect();
    phases.dedup();
    for phase in phases {
        let slots: Vec<&Slot> = spec.slots.iter().filter(|s| s.from_week == phase).collect();
        for (name, day) in DAY_NAMES {
            let n = slots.iter().filter(|s| s.days.contains(&day)).count();
            if n > MAX_SESSIONS_PER_DAY {
                return Err(invalid(
                    ErrorCode::TooManySessionsPerDay,
                    format!(
                        "from week {phase}, {name} has {n} sessions; a day holds at most {MAX_SESSIONS_PER_DAY}"
                    ),
                ));
            }
        }
        let n: usize = slots.iter().map(|s| s.days.len()).sum();
        if n > MAX_SESSIONS_PER_WEEK {
            return Err(invalid(
                ErrorCode::TooManySessionsPerWeek,
                format!(
                    "from week {phase}, a week has {n} sessions; a week holds at most {MAX_SESSIONS_PER_WEEK}"
                ),
            ));
        }
    }
    let all = occurrences(spec)?;
    if all.len() > MAX_SESSIONS {
        return Err(invalid(
            ErrorCode::TooManySessions,
            format!(
                "the track has {} sessions; a track holds at most {MAX_SESSIONS}",
                all.len()
            ),
        ));
    }
    for o in &all {
        for (field, value) in o.fields() {
            if let Err(r) =
                sync_core::schema::validate_value(sync_core::DocKind::Session, field, &value)
            {
                // Only a start outside the schema's years can fail here (the other fields are
                // held to the schema's own bounds above): a date problem.
                return Err(invalid(
                    ErrorCode::InvalidDate,
                    format!(
                        "the session of {} at {} cannot be stored: {}",
                        o.local_date,
                        format_time(o.start_time),
                        r.message
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn weeks_error() -> ApiError {
    invalid(
        ErrorCode::InvalidWeeks,
        format!(
            "weeks must be between {} and {}",
            WEEKS.start(),
            WEEKS.end()
        ),
    )
}

/// The shape of a track: every field on its own, weeks up to `weeks_max`.
fn parse(input: &TrackInput, weeks_max: i64) -> Result<TrackSpec, ApiError> {
    let name = name_text(&input.name, "name", ErrorCode::InvalidName)?;
    let time_zone = parse_time_zone(&input.time_zone)?;
    let population = Population::parse(&input.population).ok_or_else(|| {
        invalid(
            ErrorCode::InvalidPopulation,
            "population must be \"adult\" or \"adolescent\"",
        )
    })?;
    let start_date = parse_date(&input.start_date, "start_date")?;
    if !(1..=weeks_max).contains(&input.weeks) {
        return Err(weeks_error());
    }
    if input.schedule.is_empty() || input.schedule.len() > MAX_SLOTS {
        return Err(invalid(
            ErrorCode::InvalidSchedule,
            format!("schedule must have 1–{MAX_SLOTS} slots"),
        ));
    }
    let mut slots = Vec::with_capacity(input.schedule.len());
    for (i, s) in input.schedule.iter().enumerate() {
        if !(1..=input.weeks).contains(&s.from_week) {
            return Err(invalid(
                ErrorCode::InvalidFromWeek,
                format!("schedule[{i}].from_week must be between 1 and weeks"),
            ));
        }
        if s.days.is_empty() {
            return Err(invalid(
                ErrorCode::InvalidDays,
                format!("schedule[{i}].days must name at least one day"),
            ));
        }
        let mut days = Vec::with_capacity(s.days.len());
        for d in &s.days {
            let day = DAY_NAMES
                .iter()
                .find(|(n, _)| n == d)
                .map(|(_, w)| *w)
                .ok_or_else(|| {
                    invalid(
                        ErrorCode::InvalidDays,
                        format!("schedule[{i}].days: days are mon, tue, wed, thu, fri, sat, sun"),
                    )
                })?;
            if days.contains(&day) {
                return Err(invalid(
                    ErrorCode::InvalidDays,
                    format!("schedule[{i}].days names a day twice"),
                ));
            }
            days.push(day);
        }
        days.sort_by_key(|d| d.to_monday_zero_offset());
        let start_time = parse_time(&s.start_time)?;
        if !DURATION_MIN.contains(&s.duration_min) {
            return Err(invalid(
                ErrorCode::InvalidDuration,
                format!(
                    "schedule[{i}].duration_min must be between {} and {}",
                    DURATION_MIN.start(),
                    DURATION_MIN.end()
                ),
            ));
        }
        if !sync_core::schema::SESSION_KINDS.contains(&s.kind.as_str()) {
            return Err(invalid(
                ErrorCode::UnknownSessionKind,
                format!(
                    "schedule[{i}].kind must be one of: {}",
                    sync_core::schema::SESSION_KINDS.join(", ")
                ),
            ));
        }
        let title = match &s.title {
            Some(t) => name_text(t, &format!("schedule[{i}].title"), ErrorCode::InvalidTitle)?,
            None => name.clone(),
        };
        slots.push(Slot {
            from_week: s.from_week,
            days,
            start_time,
            duration_min: s.duration_min,
            kind: s.kind.clone(),
            title,
        });
    }
    if !slots.iter().any(|s| s.from_week == 1) {
        return Err(invalid(
            ErrorCode::InvalidSchedule,
            "schedule must have a slot from week 1",
        ));
    }
    // Two slots of one phase at the same day and time would be the same session.
    for (i, a) in slots.iter().enumerate() {
        for b in &slots[i + 1..] {
            if a.from_week == b.from_week
                && a.start_time == b.start_time
                && a.days.iter().any(|d| b.days.contains(d))
            {
                return Err(invalid(
                    ErrorCode::DuplicateSlot,
                    "two slots from the same week start at the same time on the same day",
                ));
            }
        }
    }
    slots.sort_by_key(|s| s.from_week);
    Ok(TrackSpec {
        name,
        time_zone_name: input.time_zone.clone(),
        time_zone,
        population,
        start_date,
        weeks: input.weeks,
        slots,
    })
}

/// The slots that apply in `week`: those with the highest `from_week ≤ week`.
pub fn slots_for_week(slots: &[Slot], week: i64) -> Vec<&Slot> {
    let Some(phase) = slots
        .iter()
        .map(|s| s.from_week)
        .filter(|w| *w <= week)
        .max()
    else {
        return Vec::new();
    };
    slots.iter().filter(|s| s.from_week == phase).collect()
}

/// The instant (ms UTC) of a local date and time in `tz`.
pub fn local_instant_ms(tz: &TimeZone, date: Date, time: Time) -> Result<i64, ApiError> {
    let zoned = tz
        .to_zoned(date.to_datetime(time))
        .map_err(|_| invalid(ErrorCode::InvalidDate, "the date is out of range"))?;
    Ok(zoned.timestamp().as_millisecond())
}

/// Every session of a track, in start order.
pub fn occurrences(spec: &TrackSpec) -> Result<Vec<Occurrence>, ApiError> {
    let mut out = Vec::new();
    for offset in 0..spec.weeks * 7 {
        let date = add_days(spec.start_date, offset)?;
        let week = offset / 7 + 1;
        for slot in slots_for_week(&spec.slots, week) {
            if !slot.days.contains(&date.weekday()) {
                continue;
            }
            out.push(Occurrence {
                week,
                local_date: date,
                start_time: slot.start_time,
                starts_at_ms: local_instant_ms(&spec.time_zone, date, slot.start_time)?,
                duration_min: slot.duration_min,
                kind: slot.kind.clone(),
                title: slot.title.clone(),
            });
        }
    }
    out.sort_by_key(|o| (o.starts_at_ms, format_time(o.start_time)));
    Ok(out)
}

/// One Monday-to-Sunday week of the hours ledger, in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalWeek {
    /// Its Monday.
    pub monday: Date,
    /// Its Sunday.
    pub sunday: Date,
    /// Monday 00:00 local, ms UTC (inclusive).
    pub start_ms: i64,
    /// The next Monday 00:00 local, ms UTC (exclusive).
    pub end_ms: i64,
}

/// The Monday on or before `date`.
pub fn monday_of(date: Date) -> Result<Date, ApiError> {
    add_days(date, -i64::from(date.weekday().to_monday_zero_offset()))
}

/// The local weeks (Monday first) that cover `from..=to` in `tz`. A week that contains a
/// daylight-saving change is 167 or 169 hours long.
pub fn local_weeks(tz: &TimeZone, from: Date, to: Date) -> Result<Vec<LocalWeek>, ApiError> {
    let mut weeks = Vec::new();
    let mut monday = monday_of(from)?;
    while monday <= to {
        let next = add_days(monday, 7)?;
        weeks.push(LocalWeek {
            monday,
            sunday: add_days(monday, 6)?,
            start_ms: local_instant_ms(tz, monday, Time::midnight())?,
            end_ms: local_instant_ms(tz, next, Time::midnight())?,
        });
        monday = next;
    }
    Ok(weeks)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail by panicking")]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn slot(from_week: i64, days: &[&str], start: &str, minutes: i64) -> SlotInput {
        SlotInput {
            from_week,
            days: days.iter().map(|d| d.to_string()).collect(),
            start_time: start.into(),
            duration_min: minutes,
            kind: "group".into(),
            title: Some("Evening group".into()),
        }
    }

    fn track(weeks: i64, schedule: Vec<SlotInput>) -> TrackInput {
        TrackInput {
            name: "Evening IOP".into(),
            time_zone: "America/New_York".into(),
            population: "adult".into(),
            start_date: "2026-03-02".into(),
            weeks,
            schedule,
        }
    }

    fn weekdays() -> Vec<&'static str> {
        vec!["mon", "tue", "wed", "thu", "fri"]
    }

    fn code(input: &TrackInput) -> ErrorCode {
        validate(input).unwrap_err().code()
    }

    #[test]
    fn an_evening_group_stays_at_six_pm_local_across_the_spring_dst_change() {
        let spec = validate(&track(2, vec![slot(1, &weekdays(), "18:00", 180)])).unwrap();
        let occ = occurrences(&spec).unwrap();
        assert_eq!(occ.len(), 10);
        // 2026-03-06 (Friday, EST) is 23:00 UTC; 2026-03-09 (Monday, EDT) is 22:00 UTC.
        let friday = &occ[4];
        let monday = &occ[5];
        assert_eq!(friday.local_date.to_string(), "2026-03-06");
        assert_eq!(monday.local_date.to_string(), "2026-03-09");
        assert_eq!(friday.starts_at_ms.rem_euclid(24 * HOUR), 23 * HOUR);
        assert_eq!(monday.starts_at_ms.rem_euclid(24 * HOUR), 22 * HOUR);
        for o in &occ {
            assert_eq!(o.start_time, Time::new(18, 0, 0, 0).unwrap());
        }
    }

    #[test]
    fn a_step_down_from_week_three_runs_three_days_instead_of_five() {
        let spec = validate(&track(
            4,
            vec![
                slot(1, &weekdays(), "18:00", 180),
                slot(3, &["mon", "wed", "fri"], "18:00", 180),
            ],
        ))
        .unwrap();
        let occ = occurrences(&spec).unwrap();
        let per_week: Vec<usize> = (1..=4)
            .map(|w| occ.iter().filter(|o| o.week == w).count())
            .collect();
        assert_eq!(per_week, vec![5, 5, 3, 3]);
    }

    #[test]
    fn slots_sharing_a_from_week_apply_together() {
        let mut individual = slot(1, &["sat"], "10:00", 60);
        individual.kind = "individual".into();
        let spec = validate(&track(
            1,
            vec![slot(1, &weekdays(), "18:00", 180), individual],
        ))
        .unwrap();
        assert_eq!(occurrences(&spec).unwrap().len(), 6);
    }

    #[test]
    fn session_ids_are_deterministic_and_distinct_per_patient_and_day() {
        let spec = validate(&track(1, vec![slot(1, &weekdays(), "18:00", 180)])).unwrap();
        let (t, p, q) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let a = occurrences(&spec).unwrap();
        let b = occurrences(&spec).unwrap();
        let ids: Vec<Uuid> = a.iter().map(|o| o.doc_id(t, p)).collect();
        assert_eq!(ids, b.iter().map(|o| o.doc_id(t, p)).collect::<Vec<_>>());
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        assert_ne!(a[0].doc_id(t, p), a[0].doc_id(t, q));
        assert_eq!(ids[0].get_version_num(), 5);
    }

    #[test]
    fn a_local_time_in_the_spring_forward_gap_is_taken_after_the_gap() {
        let mut t = track(1, vec![slot(1, &["sun"], "02:30", 60)]);
        t.start_date = "2026-03-02".into();
        let spec = validate(&t).unwrap();
        let occ = occurrences(&spec).unwrap();
        // 2026-03-08 02:30 does not exist in New York; 03:30 EDT is 07:30 UTC.
        assert_eq!(
            occ[0].starts_at_ms.rem_euclid(24 * HOUR),
            7 * HOUR + HOUR / 2
        );
    }

    #[test]
    fn every_invalid_field_has_its_own_code() {
        let ok = || track(2, vec![slot(1, &weekdays(), "18:00", 180)]);
        let mut t = ok();
        t.time_zone = "Mars/Olympus_Mons".into();
        assert_eq!(code(&t), "unknown_time_zone");
        let mut t = ok();
        t.time_zone = "EST5EDT,M3.2.0,M11.1.0".into();
        assert_eq!(code(&t), "unknown_time_zone");
        let mut t = ok();
        t.start_date = "2026-02-30".into();
        assert_eq!(code(&t), "invalid_date");
        let mut t = ok();
        t.start_date = "1999-12-27".into();
        assert_eq!(
            code(&t),
            "invalid_date",
            "sessions before 2000 could never be written"
        );
        let mut t = ok();
        t.weeks = 53;
        assert_eq!(code(&t), "invalid_weeks");
        let mut t = ok();
        t.weeks = 0;
        assert_eq!(code(&t), "invalid_weeks");
        let mut t = ok();
        t.population = "senior".into();
        assert_eq!(code(&t), "invalid_population");
        let mut t = ok();
        t.name = " ".into();
        assert_eq!(code(&t), "invalid_name");
        assert_eq!(code(&track(2, vec![])), "invalid_schedule");
        assert_eq!(
            code(&track(2, vec![slot(2, &["mon"], "18:00", 60)])),
            "invalid_schedule"
        );
        assert_eq!(
            code(&track(2, vec![slot(3, &["mon"], "18:00", 60)])),
            "invalid_from_week"
        );
        assert_eq!(
            code(&track(2, vec![slot(1, &["moon"], "18:00", 60)])),
            "invalid_days"
        );
        assert_eq!(
            code(&track(2, vec![slot(1, &[], "18:00", 60)])),
            "invalid_days"
        );
        assert_eq!(
            code(&track(2, vec![slot(1, &["mon", "mon"], "18:00", 60)])),
            "invalid_days"
        );
        assert_eq!(
            code(&track(2, vec![slot(1, &["mon"], "24:00", 60)])),
            "invalid_time"
        );
        assert_eq!(
            code(&track(2, vec![slot(1, &["mon"], "6pm", 60)])),
            "invalid_time"
        );
        assert_eq!(
            code(&track(2, vec![slot(1, &["mon"], "18:00", 4)])),
            "invalid_duration"
        );
        assert_eq!(
            code(&track(2, vec![slot(1, &["mon"], "18:00", 721)])),
            "invalid_duration"
        );
        let mut s = slot(1, &["mon"], "18:00", 60);
        s.kind = "yoga".into();
        assert_eq!(code(&track(2, vec![s])), "unknown_session_kind");
        assert_eq!(
            code(&track(
                2,
                vec![
                    slot(1, &["mon", "tue"], "18:00", 60),
                    slot(1, &["tue"], "18:00", 90)
                ]
            )),
            "duplicate_slot"
        );
    }

    #[test]
    fn a_track_holds_what_a_real_program_holds_and_no_more() {
        let two_a_day = |weeks| {
            track(
                weeks,
                vec![
                    slot(1, &weekdays(), "09:00", 60),
                    slot(1, &weekdays(), "13:00", 60),
                ],
            )
        };
        let largest = validate(&two_a_day(20)).unwrap();
        assert_eq!(occurrences(&largest).unwrap().len(), MAX_SESSIONS);
        assert_eq!(code(&two_a_day(21)), "too_many_sessions");
        let mut t = two_a_day(2);
        t.schedule.push(slot(1, &["sat"], "10:00", 60));
        assert_eq!(code(&t), "too_many_sessions_per_week");
        let day: Vec<SlotInput> = ["08:00", "11:00", "14:00", "17:00"]
            .iter()
            .map(|at| slot(1, &["mon"], at, 60))
            .collect();
        assert_eq!(code(&track(2, day.clone())), "too_many_sessions_per_day");
        validate(&track(2, day[..3].to_vec())).unwrap();
        // A step-down phase is held to the same limits.
        let mut t = track(4, vec![slot(1, &["mon"], "18:00", 60)]);
        t.schedule.extend(day.iter().map(|s| SlotInput {
            from_week: 3,
            ..s.clone()
        }));
        assert_eq!(code(&t), "too_many_sessions_per_day");
        assert_eq!(
            code(&track(27, vec![slot(1, &["mon"], "18:00", 60)])),
            "invalid_weeks"
        );
        validate(&track(26, vec![slot(1, &["mon"], "18:00", 60)])).unwrap();
    }

    #[test]
    fn a_track_stored_under_older_limits_is_still_read_but_fails_them() {
        let slots: Vec<SlotInput> = (0..50)
            .map(|i| {
                slot(
                    1,
                    &weekdays(),
                    &format!("{:02}:{:02}", 6 + i / 4, (i % 4) * 15),
                    15,
                )
            })
            .collect();
        let legacy = track(52, slots);
        let spec = parse_stored(&legacy).unwrap();
        assert_eq!(occurrences(&spec).unwrap().len(), 52 * 5 * 50);
        assert_eq!(check_limits(&spec).unwrap_err().code(), "invalid_weeks");
        let mut early = track(1, vec![slot(1, &["mon"], "00:00", 60)]);
        early.time_zone = "Pacific/Kiritimati".into();
        early.start_date = "2000-01-03".into();
        let spec = parse_stored(&early).unwrap();
        assert_eq!(check_limits(&spec).unwrap_err().code(), "invalid_date");
    }

    #[test]
    fn a_week_containing_the_spring_change_is_167_hours_long() {
        let tz = TimeZone::get("America/New_York").unwrap();
        let from = Date::new(2026, 3, 4).unwrap();
        let to = Date::new(2026, 3, 16).unwrap();
        let weeks = local_weeks(&tz, from, to).unwrap();
        assert_eq!(weeks.len(), 3);
        assert_eq!(weeks[0].monday.to_string(), "2026-03-02");
        assert_eq!(weeks[0].sunday.to_string(), "2026-03-08");
        assert_eq!(weeks[0].end_ms - weeks[0].start_ms, 167 * HOUR);
        assert_eq!(weeks[1].end_ms - weeks[1].start_ms, 168 * HOUR);
        assert_eq!(weeks[1].start_ms, weeks[0].end_ms);
    }

    #[test]
    fn the_iop_minimum_is_nine_hours_for_adults_and_six_for_adolescents() {
        assert_eq!(Population::Adult.minimum_minutes_per_week(), 540);
        assert_eq!(Population::Adolescent.minimum_minutes_per_week(), 360);
    }
}
