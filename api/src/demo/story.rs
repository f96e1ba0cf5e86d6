//! Turns a [`Persona`] into the writes their phone and their counselor would have made: craving
//! check-ins with daily rhythms (mornings calmer, late nights and weekend evenings harder),
//! triggers, moods that follow cravings, occasional lapses, coping exercises with a craving
//! before and after, RSVPs and attendance. Pure: the clock, the time zone and the random source
//! come in as arguments, so one seed always tells the same story about the same days.
//!
//! The output is plain field writes ([`Write`]); the loader turns them into sync-core ops and
//! runs them through the server's push path.

use crate::demo::cast::{Course, Persona, Scripted};
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use rand::Rng;
use serde_json::{json, Value};
use sync_core::DocKind;
use uuid::Uuid;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The days a story covers, and the moment it ends.
#[derive(Debug, Clone)]
pub struct Span {
    /// The clinic's (and every demo patient's) time zone.
    pub tz: TimeZone,
    /// The last local day (today).
    pub today: Date,
    /// How many days up to and including today.
    pub days: i64,
    /// Now (ms UTC): nothing is written after it.
    pub now_ms: i64,
}

impl Span {
    /// The local days of the story, oldest first.
    pub fn dates(&self) -> Vec<Date> {
        (0..self.days)
            .rev()
            .filter_map(|ago| self.today.checked_sub(jiff::Span::new().days(ago)).ok())
            .collect()
    }

    /// The instant of a local date and time, and the UTC offset then (minutes).
    pub fn instant(&self, date: Date, hour: i8, minute: i8) -> Option<(i64, i64)> {
        let time = Time::new(hour, minute, 0, 0).ok()?;
        let zoned = self.tz.to_zoned(date.to_datetime(time)).ok()?;
        Some((
            zoned.timestamp().as_millisecond(),
            i64::from(zoned.offset().seconds() / 60),
        ))
    }

    /// The local date of an instant.
    pub fn local_date(&self, ms: i64) -> Option<Date> {
        let ts = Timestamp::from_millisecond(ms).ok()?;
        Some(ts.to_zoned(self.tz.clone()).date())
    }

    /// Whole local days between an instant's date and today.
    fn days_ago(&self, ms: i64) -> i64 {
        self.local_date(ms)
            .and_then(|d| d.until(self.today).ok())
            .map_or(i64::MAX, |span| i64::from(span.get_days()))
    }
}

/// Who makes a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Who {
    /// The patient, from their phone.
    Patient,
    /// Their counselor.
    Counselor,
}

/// Some fields of one document, written at one moment by one person.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// Who writes.
    pub who: Who,
    /// When (ms UTC): the HLC wall time of its ops.
    pub at_ms: i64,
    /// Document kind.
    pub kind: DocKind,
    /// Document id.
    pub doc: Uuid,
    /// `(field, value)` pairs, in sync-core's spelling (`triggers/stress`).
    pub fields: Vec<(String, Value)>,
}

/// A session the track generated for this patient.
#[derive(Debug, Clone)]
pub struct SessionSlot {
    /// Session document id.
    pub doc: Uuid,
    /// Start (ms UTC).
    pub starts_at_ms: i64,
    /// Length in minutes.
    pub duration_min: i64,
    /// Session kind.
    pub kind: String,
}

/// A normally distributed sample (Box–Muller), enough for plausible noise.
fn normal<R: Rng>(rng: &mut R, mean: f64, sd: f64) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen_range(0.0..1.0);
    mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Picks an item with probability proportional to its weight.
fn weighted<R: Rng, T: Copy>(rng: &mut R, items: &[(T, f64)]) -> Option<T> {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    if items.is_empty() || total <= 0.0 {
        return None;
    }
    let mut pick = rng.gen_range(0.0..total);
    for (item, weight) in items {
        if pick < *weight {
            return Some(*item);
        }
        pick -= weight;
    }
    items.last().map(|(item, _)| *item)
}

/// A random (version 4) document id from the story's own random source.
fn doc_id<R: Rng>(rng: &mut R) -> Uuid {
    uuid::Builder::from_random_bytes(rng.gen()).into_uuid()
}

fn clamp_round(x: f64, lo: i64, hi: i64) -> i64 {
    // Values are small (a 0–10 scale), so the cast cannot overflow.
    (x.round() as i64).clamp(lo, hi)
}

/// The patient's typical craving on day `i` of `n`.
fn typical(course: Course, i: i64, n: i64) -> f64 {
    let t = |a: f64, b: f64, k: i64, len: i64| {
        if len <= 1 {
            b
        } else {
            a + (b - a) * k as f64 / (len - 1) as f64
        }
    };
    match course {
        Course::Linear { start, end } => t(start, end, i, n),
        Course::Worsening {
            start,
            low,
            peak,
            days,
        } => {
            let turn = (n - days).max(1);
            if i < turn {
                t(start, low, i, turn)
            } else {
                t(low, peak, i - turn + 1, n - turn + 1)
            }
        }
    }
}

/// Harder moments: late nights, and Friday and Saturday evenings.
fn rhythm(weekday: Weekday, hour: i8) -> f64 {
    let hour_effect = match hour {
        h if h < 10 => -0.5,
        h if h >= 21 => 0.7,
        _ => 0.0,
    };
    let weekend = matches!(weekday, Weekday::Friday | Weekday::Saturday) && hour >= 18;
    hour_effect + if weekend { 0.8 } else { 0.0 }
}

/// Triggers of one check-in: the patient's usual ones, and the moment's.
fn triggers<R: Rng>(rng: &mut R, persona: &Persona, weekday: Weekday, hour: i8) -> Vec<String> {
    let how_many = match rng.gen_range(0..100) {
        0..=4 => 0,
        5..=69 => 1,
        _ => 2,
    };
    let mut out: Vec<String> = Vec::new();
    for _ in 0..how_many {
        if let Some(t) = weighted(rng, persona.triggers) {
            if !out.iter().any(|o| o == t) {
                out.push(t.to_string());
            }
        }
    }
    let weekend_evening = matches!(weekday, Weekday::Friday | Weekday::Saturday) && hour >= 18;
    if weekend_evening && rng.gen_bool(0.35) && !out.iter().any(|o| o == "people") {
        out.push("people".to_string());
    }
    if hour >= 21 && rng.gen_bool(0.25) && !out.iter().any(|o| o == "tired") {
        out.push("tired".to_string());
    }
    out
}

/// A check-in document's fields.
#[expect(
    clippy::too_many_arguments,
    reason = "one argument per check-in field keeps the call sites readable"
)]
fn checkin_fields(
    at_ms: i64,
    offset_min: i64,
    intensity: i64,
    mood: i64,
    lapse: bool,
    crisis: bool,
    substance: &str,
    triggers: &[String],
) -> Vec<(String, Value)> {
    let mut fields = vec![
        ("recorded_at".to_string(), json!(at_ms)),
        ("tz_offset_min".to_string(), json!(offset_min)),
        ("intensity".to_string(), json!(intensity)),
        ("mood".to_string(), json!(mood)),
        ("lapse".to_string(), json!(lapse)),
    ];
    for t in triggers {
        fields.push((format!("triggers/{t}"), json!(true)));
    }
    if lapse {
        fields.push(("substance".to_string(), json!(substance)));
    }
    if crisis {
        fields.push(("crisis".to_string(), json!(true)));
    }
    fields
}

/// How long an exercise of a skill usually takes (minutes).
fn skill_minutes(skill: &str) -> i64 {
    match skill {
        "paced_breathing" | "halt_check" | "grounding_54321" => 5,
        "urge_surfing" | "play_tape_forward" | "distraction" => 15,
        "call_support" | "journaling" | "meditation" => 20,
        "physical_activity" => 35,
        "mutual_help_meeting" => 60,
        _ => 10,
    }
}

/// An exercise after a craving of `intensity` at `checkin_ms`, if the patient does one.
fn exercise<R: Rng>(
    rng: &mut R,
    span: &Span,
    persona: &Persona,
    checkin_ms: i64,
    offset_min: i64,
    intensity: i64,
) -> Option<Write> {
    if intensity < 4 || !rng.gen_bool(0.5) {
        return None;
    }
    let pick = rng.gen_range(0..persona.skills.len().max(1));
    let (skill, drop_mean) = *persona.skills.get(pick)?;
    let started = checkin_ms + rng.gen_range(5..40) * MINUTE_MS;
    if started > span.now_ms - MINUTE_MS {
        return None;
    }
    let before = (intensity - rng.gen_range(0..=1)).clamp(0, 10);
    let drop = clamp_round(normal(rng, drop_mean, 1.0), 0, before);
    let helpfulness = clamp_round(1.0 + drop as f64 * 0.9 + normal(rng, 0.0, 0.4), 1, 5);
    let duration = (skill_minutes(skill) + rng.gen_range(-2..=5)).max(1);
    Some(Write {
        who: Who::Patient,
        at_ms: started + duration * MINUTE_MS,
        kind: DocKind::Exercise,
        doc: doc_id(rng),
        fields: vec![
            ("skill".to_string(), json!(skill)),
            ("started_at".to_string(), json!(started)),
            ("tz_offset_min".to_string(), json!(offset_min)),
            ("duration_min".to_string(), json!(duration)),
            ("craving_before".to_string(), json!(before)),
            ("craving_after".to_string(), json!(before - drop)),
            ("helpfulness".to_string(), json!(helpfulness)),
        ],
    })
}

fn scripted_checkin(
    s: &Scripted,
    persona: &Persona,
    at_ms: i64,
    offset_min: i64,
) -> Vec<(String, Value)> {
    let triggers: Vec<String> = s.triggers.iter().map(|t| t.to_string()).collect();
    checkin_fields(
        at_ms,
        offset_min,
        s.intensity,
        s.mood,
        s.lapse,
        s.crisis,
        persona.substance,
        &triggers,
    )
}

/// Every check-in and exercise a patient logged over the span, oldest first.
pub fn checkins_and_exercises<R: Rng>(rng: &mut R, span: &Span, persona: &Persona) -> Vec<Write> {
    let mut out = Vec::new();
    let dates = span.dates();
    let n = i64::try_from(dates.len()).unwrap_or(i64::MAX);
    for (i, date) in (0_i64..).zip(dates) {
        let days_ago = n - 1 - i;
        let scripted: Vec<&Scripted> = persona
            .scripted
            .iter()
            .filter(|s| s.days_ago == days_ago)
            .collect();
        // Draw the day's randomness even on silent days, so a persona's quiet spell does not
        // reshuffle everything before it.
        // The last day before a quiet spell has check-ins, so the spell is exactly its length.
        let skip = rng.gen_bool(persona.skip_rate.clamp(0.0, 1.0))
            && !(persona.silent_days > 0 && days_ago == persona.silent_days);
        let whole = persona.checkins_per_day.floor();
        let extra = rng.gen_bool((persona.checkins_per_day - whole).clamp(0.0, 1.0));
        let count = whole as usize + usize::from(extra);
        let day_noise = normal(rng, 0.0, 0.6);
        if days_ago < persona.silent_days {
            continue;
        }
        let mut times: Vec<(i8, i8)> = Vec::new();
        if !skip || !scripted.is_empty() {
            for _ in 0..count {
                let Some(mut hour) = weighted(rng, persona.hours) else {
                    continue;
                };
                if rng.gen_bool(0.3) {
                    hour = (hour + rng.gen_range(-1..=1)).clamp(6, 23);
                }
                times.push((hour, rng.gen_range(0..60)));
            }
        }
        times.sort_unstable();
        times.dedup_by_key(|(h, _)| *h);
        let mean = typical(persona.course, i, n) + day_noise;
        for (hour, minute) in times {
            let Some((at_ms, offset)) = span.instant(date, hour, minute) else {
                continue;
            };
            if at_ms > span.now_ms - MINUTE_MS {
                continue;
            }
            let raw = mean + rhythm(date.weekday(), hour) + normal(rng, 0.0, 1.0);
            let mut intensity = clamp_round(raw, 0, 10);
            if days_ago < 3 {
                intensity = intensity.min(persona.recent_cap);
            }
            let mood = clamp_round(4.9 - 0.38 * intensity as f64 + normal(rng, 0.0, 0.5), 1, 5);
            let lapse = days_ago >= 10
                && intensity >= 7
                && rng.gen_bool(persona.lapse_rate.clamp(0.0, 1.0));
            let trig = triggers(rng, persona, date.weekday(), hour);
            out.push(Write {
                who: Who::Patient,
                at_ms,
                kind: DocKind::Checkin,
                doc: doc_id(rng),
                fields: checkin_fields(
                    at_ms,
                    offset,
                    intensity,
                    mood,
                    lapse,
                    false,
                    persona.substance,
                    &trig,
                ),
            });
            out.extend(exercise(rng, span, persona, at_ms, offset, intensity));
        }
        for s in scripted {
            let Some((at_ms, offset)) = span.instant(date, s.hour, s.minute) else {
                continue;
            };
            // A scripted moment later today than now is moved to a minute ago.
            let at_ms = at_ms.min(span.now_ms - 2 * MINUTE_MS);
            out.push(Write {
                who: Who::Patient,
                at_ms,
                kind: DocKind::Checkin,
                doc: doc_id(rng),
                fields: scripted_checkin(s, persona, at_ms, offset),
            });
            out.extend(exercise(rng, span, persona, at_ms, offset, s.intensity));
        }
    }
    out.sort_by_key(|w| w.at_ms);
    out
}

/// What the counselor marks for the `j`-th latest past session (0 = the latest).
fn attendance_mark<R: Rng>(rng: &mut R, persona: &Persona, j: usize) -> &'static str {
    if j < persona.missed_streak {
        return "absent";
    }
    // The sessions just before a streak (or the latest two) were attended, so only the streak
    // the story means shows as missed sessions.
    if j < persona.missed_streak + 2 {
        return "attended";
    }
    if rng.gen_bool(persona.attendance.clamp(0.0, 1.0)) {
        match rng.gen_range(0..100) {
            0..=5 => "late",
            6..=9 => "left_early",
            _ => "attended",
        }
    } else if rng.gen_bool(0.3) {
        "excused"
    } else {
        "absent"
    }
}

/// The patient's RSVPs and the counselor's marks on their sessions: attendance after each past
/// session, the sessions of a clinic holiday cancelled, and (when `reschedule`) the next
/// individual session moved an hour later.
pub fn session_writes<R: Rng>(
    rng: &mut R,
    span: &Span,
    persona: &Persona,
    slots: &[SessionSlot],
    holiday: Option<Date>,
    reschedule: bool,
) -> Vec<Write> {
    let mut out = Vec::new();
    let first_day_ms = span
        .dates()
        .first()
        .and_then(|d| span.instant(*d, 0, 0))
        .map_or(span.now_ms, |(ms, _)| ms);
    let is_holiday =
        |s: &SessionSlot| holiday.is_some() && span.local_date(s.starts_at_ms) == holiday;
    let ends = |s: &SessionSlot| s.starts_at_ms + s.duration_min * MINUTE_MS;

    // Attendance, latest past session first.
    let mut past: Vec<&SessionSlot> = slots
        .iter()
        .filter(|s| ends(s) + 30 * MINUTE_MS <= span.now_ms && s.starts_at_ms >= first_day_ms)
        .filter(|s| !is_holiday(s))
        .collect();
    past.sort_by_key(|s| std::cmp::Reverse(s.starts_at_ms));
    let mut marks: Vec<(Uuid, &'static str)> = Vec::new();
    for (j, slot) in past.iter().enumerate() {
        let mark = attendance_mark(rng, persona, j);
        marks.push((slot.doc, mark));
        let at = (ends(slot) + rng.gen_range(15..90) * MINUTE_MS).min(span.now_ms - MINUTE_MS);
        out.push(Write {
            who: Who::Counselor,
            at_ms: at,
            kind: DocKind::Session,
            doc: slot.doc,
            fields: vec![("attendance".to_string(), json!(mark))],
        });
    }

    for slot in slots {
        if slot.starts_at_ms < first_day_ms || slot.starts_at_ms > span.now_ms + 3 * DAY_MS {
            continue;
        }
        if is_holiday(slot) {
            let at = slot.starts_at_ms - 5 * DAY_MS;
            if at <= span.now_ms {
                out.push(Write {
                    who: Who::Counselor,
                    at_ms: at,
                    kind: DocKind::Session,
                    doc: slot.doc,
                    fields: vec![("status".to_string(), json!("cancelled"))],
                });
            }
            continue;
        }
        let at = slot.starts_at_ms - rng.gen_range(18..48) * HOUR_MS;
        if at > span.now_ms - MINUTE_MS
            || at < first_day_ms
            || span.days_ago(at) < persona.silent_days
        {
            continue;
        }
        let excused = marks.iter().any(|(d, m)| *d == slot.doc && *m == "excused");
        let answer = if excused {
            "no"
        } else if rng.gen_bool(0.06) {
            "maybe"
        } else {
            "yes"
        };
        out.push(Write {
            who: Who::Patient,
            at_ms: at,
            kind: DocKind::Session,
            doc: slot.doc,
            fields: vec![("rsvp".to_string(), json!(answer))],
        });
    }

    if reschedule {
        let next_individual = slots
            .iter()
            .filter(|s| s.kind == "individual" && s.starts_at_ms > span.now_ms + DAY_MS)
            .min_by_key(|s| s.starts_at_ms);
        if let Some(slot) = next_individual {
            out.push(Write {
                who: Who::Counselor,
                at_ms: span.now_ms - 3 * HOUR_MS,
                kind: DocKind::Session,
                doc: slot.doc,
                fields: vec![("starts_at".to_string(), json!(slot.starts_at_ms + HOUR_MS))],
            });
        }
    }
    out.sort_by_key(|w| w.at_ms);
    out
}

/// The counselor's treatment plan for the patient: the coping skills they practise, two daily
/// check-in prompts, the weekly hours target, and the phase — intensive from the first day,
/// stepping down on `step_down` when that day has come.
pub fn plan_writes<R: Rng>(
    rng: &mut R,
    span: &Span,
    persona: &Persona,
    step_down: Option<Date>,
) -> Vec<Write> {
    let doc = doc_id(rng);
    let mut out = Vec::new();
    let first = span.dates().first().and_then(|d| span.instant(*d, 10, 0));
    if let Some((at_ms, _)) = first {
        let mut fields: Vec<(String, Value)> = persona
            .skills
            .iter()
            .map(|(skill, _)| (format!("skills/{skill}"), json!(true)))
            .collect();
        fields.push(("prompt_times/09:00".to_string(), json!(true)));
        fields.push(("prompt_times/21:00".to_string(), json!(true)));
        fields.push(("weekly_hours_target".to_string(), json!(9)));
        fields.push(("phase".to_string(), json!("intensive")));
        out.push(Write {
            who: Who::Counselor,
            at_ms,
            kind: DocKind::Plan,
            doc,
            fields,
        });
    }
    let stepped = step_down.and_then(|d| span.instant(d, 9, 0));
    if let (Some((at_ms, _)), Some((first_ms, _))) = (stepped, first) {
        if at_ms > first_ms && at_ms < span.now_ms {
            out.push(Write {
                who: Who::Counselor,
                at_ms,
                kind: DocKind::Plan,
                doc,
                fields: vec![("phase".to_string(), json!("step_down"))],
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests fail by panicking")]

    use super::*;
    use crate::demo::cast::{CONSENTING, WITHOUT_CONSENT};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn span() -> Span {
        let tz = TimeZone::get("America/New_York").unwrap();
        // 2026-11-20 15:30 in New York.
        let now = tz
            .to_zoned(jiff::civil::date(2026, 11, 20).at(15, 30, 0, 0))
            .unwrap();
        Span {
            tz,
            today: now.date(),
            days: 90,
            now_ms: now.timestamp().as_millisecond(),
        }
    }

    fn checkins(writes: &[Write]) -> Vec<&Write> {
        writes
            .iter()
            .filter(|w| w.kind == DocKind::Checkin)
            .collect()
    }

    fn field<'a>(w: &'a Write, name: &str) -> Option<&'a Value> {
        w.fields.iter().find(|(f, _)| f == name).map(|(_, v)| v)
    }

    #[test]
    fn the_same_seed_tells_the_same_story() {
        let s = span();
        let a = checkins_and_exercises(&mut StdRng::seed_from_u64(7), &s, &CONSENTING[0]);
        let b = checkins_and_exercises(&mut StdRng::seed_from_u64(7), &s, &CONSENTING[0]);
        let c = checkins_and_exercises(&mut StdRng::seed_from_u64(8), &s, &CONSENTING[0]);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn every_write_fits_sync_cores_schema_and_nothing_is_in_the_future() {
        let s = span();
        let mut rng = StdRng::seed_from_u64(1);
        for persona in CONSENTING.iter().chain([&WITHOUT_CONSENT]) {
            let writes = checkins_and_exercises(&mut rng, &s, persona);
            assert!(
                writes.len() > 90,
                "{} wrote only {}",
                persona.name,
                writes.len()
            );
            for w in writes {
                assert!(w.at_ms < s.now_ms, "{} wrote in the future", persona.name);
                for (f, v) in &w.fields {
                    sync_core::schema::validate_value(w.kind, f, v)
                        .unwrap_or_else(|r| panic!("{f} = {v}: {}", r.message));
                }
            }
        }
    }

    #[test]
    fn the_worsening_patient_ends_with_a_lapse_at_craving_nine_and_rising_cravings() {
        let s = span();
        let marcus = &CONSENTING[0];
        let writes = checkins_and_exercises(&mut StdRng::seed_from_u64(1), &s, marcus);
        let cis = checkins(&writes);
        let latest_lapse = cis
            .iter()
            .filter(|w| field(w, "lapse") == Some(&json!(true)))
            .max_by_key(|w| w.at_ms)
            .unwrap();
        assert_eq!(field(latest_lapse, "intensity"), Some(&json!(9)));
        assert!(s.now_ms - latest_lapse.at_ms < 48 * HOUR_MS);
        let mean = |from: i64, to: i64| {
            let v: Vec<i64> = cis
                .iter()
                .filter(|w| (from..to).contains(&(s.now_ms - w.at_ms)))
                .filter_map(|w| field(w, "intensity").and_then(Value::as_i64))
                .collect();
            v.iter().sum::<i64>() as f64 / v.len() as f64
        };
        let last_week = mean(0, 7 * DAY_MS);
        let three_weeks_before = mean(21 * DAY_MS, 28 * DAY_MS);
        assert!(
            last_week > three_weeks_before + 1.5,
            "last week {last_week:.1} vs {three_weeks_before:.1}"
        );
    }

    #[test]
    fn the_quiet_patient_has_no_checkin_in_their_silent_days() {
        let s = span();
        let dana = CONSENTING.iter().find(|p| p.silent_days > 0).unwrap();
        let writes = checkins_and_exercises(&mut StdRng::seed_from_u64(1), &s, dana);
        let last = checkins(&writes).last().map(|w| w.at_ms).unwrap();
        assert_eq!(s.days_ago(last), dana.silent_days);
    }

    #[test]
    fn cravings_follow_the_day_late_nights_are_harder_than_mornings() {
        let s = span();
        let mut morning = Vec::new();
        let mut night = Vec::new();
        let mut rng = StdRng::seed_from_u64(3);
        for persona in CONSENTING {
            for w in checkins(&checkins_and_exercises(&mut rng, &s, persona)) {
                let local = Timestamp::from_millisecond(w.at_ms)
                    .unwrap()
                    .to_zoned(s.tz.clone());
                let i = field(w, "intensity").and_then(Value::as_i64).unwrap() as f64;
                match local.hour() {
                    h if h < 10 => morning.push(i),
                    h if h >= 21 => night.push(i),
                    _ => {}
                }
            }
        }
        let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!(avg(&night) > avg(&morning) + 0.5);
    }

    #[test]
    fn the_latest_sessions_are_missed_only_by_the_patient_whose_story_says_so() {
        let s = span();
        let slots: Vec<SessionSlot> = (1..=30)
            .map(|k| SessionSlot {
                doc: Uuid::from_u128(k),
                starts_at_ms: s.now_ms - i64::try_from(k).unwrap() * DAY_MS,
                duration_min: 180,
                kind: "group".into(),
            })
            .collect();
        for persona in CONSENTING {
            let writes = session_writes(
                &mut StdRng::seed_from_u64(2),
                &s,
                persona,
                &slots,
                None,
                false,
            );
            let mut marks: Vec<&Write> =
                writes.iter().filter(|w| w.who == Who::Counselor).collect();
            marks.sort_by_key(|w| std::cmp::Reverse(w.at_ms));
            let streak = marks
                .iter()
                .take_while(|w| field(w, "attendance") == Some(&json!("absent")))
                .count();
            assert_eq!(streak, persona.missed_streak, "{}", persona.name);
            for w in &writes {
                assert!(w.at_ms < s.now_ms);
                for (f, v) in &w.fields {
                    sync_core::schema::validate_value(w.kind, f, v).unwrap();
                }
            }
        }
    }

    #[test]
    fn the_plan_starts_intensive_and_steps_down_on_the_day_the_track_does() {
        let s = span();
        let step_down = s.today.checked_sub(jiff::Span::new().days(20)).unwrap();
        let writes = plan_writes(
            &mut StdRng::seed_from_u64(4),
            &s,
            &CONSENTING[0],
            Some(step_down),
        );
        assert_eq!(writes.len(), 2);
        assert_eq!(field(&writes[0], "phase"), Some(&json!("intensive")));
        assert_eq!(
            writes[1].fields,
            vec![("phase".to_string(), json!("step_down"))]
        );
        assert_eq!(writes[0].doc, writes[1].doc);
        for w in &writes {
            assert_eq!(w.who, Who::Counselor);
            for (f, v) in &w.fields {
                sync_core::schema::validate_value(w.kind, f, v).unwrap();
            }
        }
        let later = s.today.checked_add(jiff::Span::new().days(5)).unwrap();
        let writes = plan_writes(
            &mut StdRng::seed_from_u64(4),
            &s,
            &CONSENTING[0],
            Some(later),
        );
        assert_eq!(writes.len(), 1, "a step-down still to come is not written");
    }

    #[test]
    fn a_holiday_cancels_the_days_sessions_and_leaves_them_unmarked() {
        let s = span();
        let slot = SessionSlot {
            doc: Uuid::from_u128(9),
            starts_at_ms: s.now_ms - 10 * DAY_MS,
            duration_min: 180,
            kind: "group".into(),
        };
        let holiday = s.local_date(slot.starts_at_ms);
        let writes = session_writes(
            &mut StdRng::seed_from_u64(2),
            &s,
            &CONSENTING[4],
            &[slot],
            holiday,
            false,
        );
        assert_eq!(writes.len(), 1);
        assert_eq!(
            writes[0].fields,
            vec![("status".to_string(), json!("cancelled"))]
        );
    }
}
