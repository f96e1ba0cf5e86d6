//! The aggregates behind trends and risk flags, computed in the database with SQL both backends
//! run unchanged (`$n` placeholders appear in ascending order, which SQLite also honours), over
//! the typed read models and the merged trigger sets in `field_state`.

use crate::db::schema::{checkins, sessions};
use crate::db::DbConnection;
use crate::error::ApiError;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text};

/// One local day of check-ins, as the database aggregates it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Day {
    /// Local day number (days since 1970-01-01).
    pub day: i64,
    /// Check-ins with an intensity.
    pub count: i64,
    /// Mean intensity.
    pub mean: f64,
    /// Highest intensity.
    pub max: i64,
    /// Mean mood (1–5), when any check-in had one.
    pub mood: Option<f64>,
}

/// A recent check-in, as flags need it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentCheckin {
    /// Document id.
    pub id: String,
    /// When it was felt (ms).
    pub recorded_at: i64,
    /// When it reached the server (ms): late data is judged on arrival.
    pub arrived_at: i64,
    /// Intensity.
    pub intensity: Option<i64>,
    /// Lapse reported.
    pub lapse: bool,
    /// "I need help now".
    pub crisis: bool,
}

#[derive(QueryableByName)]
struct DayRow {
    #[diesel(sql_type = BigInt)]
    day: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = Double)]
    mean: f64,
    #[diesel(sql_type = BigInt)]
    max: i64,
    #[diesel(sql_type = Nullable<Double>)]
    mood: Option<f64>,
}

/// Check-ins with an intensity, per local day in `[from, to]`.
pub fn daily(
    conn: &mut DbConnection,
    patient: &str,
    from: i64,
    to: i64,
) -> Result<Vec<Day>, ApiError> {
    let rows: Vec<DayRow> = diesel::sql_query(
        "SELECT CAST(local_day AS BIGINT) AS day, COUNT(*) AS n, \
                CAST(AVG(CAST(intensity AS DOUBLE PRECISION)) AS DOUBLE PRECISION) AS mean, \
                CAST(MAX(intensity) AS BIGINT) AS max, \
                CAST(AVG(CAST(mood AS DOUBLE PRECISION)) AS DOUBLE PRECISION) AS mood \
         FROM checkins \
         WHERE patient_id = $1 AND deleted = FALSE AND intensity IS NOT NULL \
           AND local_day >= $2 AND local_day <= $3 \
         GROUP BY local_day ORDER BY local_day",
    )
    .bind::<Text, _>(patient)
    .bind::<BigInt, _>(from)
    .bind::<BigInt, _>(to)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| Day {
            day: r.day,
            count: r.n,
            mean: r.mean,
            max: r.max,
            mood: r.mood,
        })
        .collect())
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Local days in `[from, to]` with at least one check-in.
pub fn days_with_checkin(
    conn: &mut DbConnection,
    patient: &str,
    from: i64,
    to: i64,
) -> Result<i64, ApiError> {
    Ok(diesel::sql_query(
        "SELECT COUNT(DISTINCT local_day) AS n FROM checkins \
         WHERE patient_id = $1 AND deleted = FALSE AND local_day >= $2 AND local_day <= $3",
    )
    .bind::<Text, _>(patient)
    .bind::<BigInt, _>(from)
    .bind::<BigInt, _>(to)
    .get_result::<CountRow>(conn)?
    .n)
}

/// One cell of the time-of-day × weekday heat map.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct HeatCell {
    /// 0 = Monday … 6 = Sunday, local.
    #[diesel(sql_type = BigInt)]
    pub weekday: i64,
    /// Hour 0–23, local.
    #[diesel(sql_type = BigInt)]
    pub hour: i64,
    /// Check-ins.
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    /// Mean intensity.
    #[diesel(sql_type = Double)]
    pub mean: f64,
}

/// Craving intensity by local weekday and hour.
pub fn heatmap(
    conn: &mut DbConnection,
    patient: &str,
    from: i64,
    to: i64,
) -> Result<Vec<HeatCell>, ApiError> {
    Ok(diesel::sql_query(
        "SELECT CAST(local_weekday AS BIGINT) AS weekday, CAST(local_hour AS BIGINT) AS hour, \
                COUNT(*) AS count, \
                CAST(AVG(CAST(intensity AS DOUBLE PRECISION)) AS DOUBLE PRECISION) AS mean \
         FROM checkins \
         WHERE patient_id = $1 AND deleted = FALSE AND intensity IS NOT NULL \
           AND local_day >= $2 AND local_day <= $3 \
         GROUP BY local_weekday, local_hour ORDER BY local_weekday, local_hour",
    )
    .bind::<Text, _>(patient)
    .bind::<BigInt, _>(from)
    .bind::<BigInt, _>(to)
    .load(conn)?)
}

/// One trigger's record over the window.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct TriggerStat {
    /// Trigger tag.
    #[diesel(sql_type = Text, column_name = tag)]
    pub trigger: String,
    /// Check-ins naming it.
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    /// Mean intensity of those check-ins.
    #[diesel(sql_type = Nullable<Double>)]
    pub mean_intensity: Option<f64>,
    /// Highest intensity of those check-ins.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub max_intensity: Option<i64>,
}

/// Triggers named in check-ins of the window, most frequent first. Set elements live in
/// `field_state` as `triggers/<tag>` registers whose value is `true`.
pub fn triggers(
    conn: &mut DbConnection,
    patient: &str,
    from: i64,
    to: i64,
) -> Result<Vec<TriggerStat>, ApiError> {
    Ok(diesel::sql_query(
        // CROSS JOIN fixes the join order on SQLite (the window's check-ins first, then each
        // one's trigger registers by primary key); PostgreSQL plans it as an inner join.
        "SELECT SUBSTR(fs.field, 10) AS tag, COUNT(*) AS count, \
                CAST(AVG(CAST(c.intensity AS DOUBLE PRECISION)) AS DOUBLE PRECISION) AS mean_intensity, \
                CAST(MAX(c.intensity) AS BIGINT) AS max_intensity \
         FROM checkins c CROSS JOIN field_state fs \
         WHERE c.patient_id = $1 AND c.local_day >= $2 AND c.local_day <= $3 AND c.deleted = FALSE \
           AND fs.patient_id = c.patient_id AND fs.kind = 'checkin' AND fs.doc_id = c.doc_id \
           AND fs.field LIKE 'triggers/%' AND fs.value = 'true' \
         GROUP BY fs.field ORDER BY count DESC, tag",
    )
    .bind::<Text, _>(patient)
    .bind::<BigInt, _>(from)
    .bind::<BigInt, _>(to)
    .load(conn)?)
}

/// A coping skill's record over the window.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct SkillStat {
    /// Skill tag.
    #[diesel(sql_type = Text)]
    pub skill: String,
    /// Exercises with both cravings recorded.
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    /// Mean craving drop (before − after).
    #[diesel(sql_type = Double)]
    pub mean_drop: f64,
}

/// Coping skills by mean craving drop, best first.
pub fn skills(
    conn: &mut DbConnection,
    patient: &str,
    from: i64,
    to: i64,
) -> Result<Vec<SkillStat>, ApiError> {
    Ok(diesel::sql_query(
        "SELECT skill, COUNT(*) AS count, \
                CAST(AVG(CAST(craving_before - craving_after AS DOUBLE PRECISION)) AS DOUBLE PRECISION) AS mean_drop \
         FROM exercises \
         WHERE patient_id = $1 AND local_day >= $2 AND local_day <= $3 \
           AND deleted = FALSE AND skill IS NOT NULL \
           AND craving_before IS NOT NULL AND craving_after IS NOT NULL \
         GROUP BY skill ORDER BY mean_drop DESC, count DESC, skill",
    )
    .bind::<Text, _>(patient)
    .bind::<BigInt, _>(from)
    .bind::<BigInt, _>(to)
    .load(conn)?)
}

/// A skill's record when one trigger was active.
#[derive(Debug, Clone, QueryableByName)]
pub struct TriggerSkillStat {
    /// Trigger tag.
    #[diesel(sql_type = Text, column_name = tag)]
    pub trigger: String,
    /// Skill tag.
    #[diesel(sql_type = Text)]
    pub skill: String,
    /// Exercises.
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    /// Mean craving drop.
    #[diesel(sql_type = Double)]
    pub mean_drop: f64,
}

/// Coping skills by mean craving drop per trigger. An exercise counts for a trigger when a
/// check-in naming that trigger was recorded within `lookback_ms` before the exercise started:
/// the craving the patient was coping with.
pub fn skills_by_trigger(
    conn: &mut DbConnection,
    patient: &str,
    from: i64,
    to: i64,
    lookback_ms: i64,
) -> Result<Vec<TriggerSkillStat>, ApiError> {
    Ok(diesel::sql_query(
        "SELECT tag, skill, COUNT(*) AS count, \
                CAST(AVG(CAST(drop_points AS DOUBLE PRECISION)) AS DOUBLE PRECISION) AS mean_drop \
         FROM ( \
           SELECT DISTINCT e.doc_id AS exercise, SUBSTR(fs.field, 10) AS tag, e.skill AS skill, \
                  e.craving_before - e.craving_after AS drop_points \
           FROM exercises e CROSS JOIN checkins c CROSS JOIN field_state fs \
           WHERE e.patient_id = $1 AND e.local_day >= $2 AND e.local_day <= $3 \
             AND e.deleted = FALSE AND e.skill IS NOT NULL \
             AND e.craving_before IS NOT NULL AND e.craving_after IS NOT NULL \
             AND c.patient_id = e.patient_id \
             AND c.recorded_at >= e.started_at - $4 AND c.recorded_at <= e.started_at \
             AND c.deleted = FALSE \
             AND fs.patient_id = c.patient_id AND fs.kind = 'checkin' AND fs.doc_id = c.doc_id \
             AND fs.field LIKE 'triggers/%' AND fs.value = 'true' \
         ) pairs \
         GROUP BY tag, skill ORDER BY tag, mean_drop DESC, count DESC, skill",
    )
    .bind::<Text, _>(patient)
    .bind::<BigInt, _>(from)
    .bind::<BigInt, _>(to)
    .bind::<BigInt, _>(lookback_ms)
    .load(conn)?)
}

/// A lapse in the window.
#[derive(Debug, Clone, Queryable, serde::Serialize)]
pub struct Lapse {
    /// Check-in id.
    pub id: String,
    /// When (ms).
    pub recorded_at: Option<i64>,
    /// Craving then.
    pub intensity: Option<i32>,
    /// Substance, if given.
    pub substance: Option<String>,
}

/// Lapses reported in the window, oldest first.
pub fn lapses(
    conn: &mut DbConnection,
    patient: &str,
    from: i64,
    to: i64,
) -> Result<Vec<Lapse>, ApiError> {
    Ok(checkins::table
        .filter(checkins::patient_id.eq(patient))
        .filter(checkins::deleted.eq(false))
        .filter(checkins::lapse.eq(true))
        .filter(checkins::local_day.ge(i32::try_from(from).unwrap_or(i32::MIN)))
        .filter(checkins::local_day.le(i32::try_from(to).unwrap_or(i32::MAX)))
        .order(checkins::recorded_at.asc())
        .select((
            checkins::doc_id,
            checkins::recorded_at,
            checkins::intensity,
            checkins::substance,
        ))
        .load(conn)?)
}

/// `(attendance, sessions)` for sessions starting in `[from_ms, to_ms)` that have one.
pub fn attendance(
    conn: &mut DbConnection,
    patient: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<(String, i64)>, ApiError> {
    let rows: Vec<Option<String>> = sessions::table
        .filter(sessions::patient_id.eq(patient))
        .filter(sessions::deleted.eq(false))
        .filter(sessions::attendance.is_not_null())
        .filter(sessions::starts_at.ge(from_ms))
        .filter(sessions::starts_at.lt(to_ms))
        .select(sessions::attendance)
        .load(conn)?;
    let mut counts: Vec<(String, i64)> = Vec::new();
    for a in rows.into_iter().flatten() {
        match counts.iter_mut().find(|(k, _)| *k == a) {
            Some((_, n)) => *n += 1,
            None => counts.push((a, 1)),
        }
    }
    Ok(counts)
}

/// Attendance of the latest sessions (started before `now_ms`) that have one, newest first.
pub fn latest_attendance(
    conn: &mut DbConnection,
    patient: &str,
    now_ms: i64,
    n: i64,
) -> Result<Vec<String>, ApiError> {
    let rows: Vec<Option<String>> = sessions::table
        .filter(sessions::patient_id.eq(patient))
        .filter(sessions::deleted.eq(false))
        .filter(sessions::attendance.is_not_null())
        .filter(sessions::starts_at.le(now_ms))
        .order((sessions::starts_at.desc(), sessions::doc_id.desc()))
        .limit(n)
        .select(sessions::attendance)
        .load(conn)?;
    Ok(rows.into_iter().flatten().collect())
}

/// The latest check-in of a patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastCheckin {
    /// When it was felt (ms).
    pub at: i64,
    /// Its local day.
    pub day: i64,
    /// The UTC offset the phone recorded with it (minutes).
    pub tz_offset_min: i64,
    /// Its craving intensity.
    pub intensity: Option<i64>,
}

/// The latest check-in.
pub fn last_checkin(
    conn: &mut DbConnection,
    patient: &str,
) -> Result<Option<LastCheckin>, ApiError> {
    type Row = (Option<i64>, Option<i32>, Option<i32>, Option<i32>);
    let row: Option<Row> = checkins::table
        .filter(checkins::patient_id.eq(patient))
        .filter(checkins::deleted.eq(false))
        .filter(checkins::recorded_at.is_not_null())
        .order((checkins::recorded_at.desc(), checkins::doc_id.desc()))
        .select((
            checkins::recorded_at,
            checkins::local_day,
            checkins::tz_offset_min,
            checkins::intensity,
        ))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(at, day, tz, intensity)| {
        Some(LastCheckin {
            at: at?,
            day: i64::from(day?),
            tz_offset_min: i64::from(tz.unwrap_or(0)),
            intensity: intensity.map(i64::from),
        })
    }))
}

/// Check-ins recorded after `recorded_after` or arrived after `arrived_after` (ms).
pub fn recent_checkins(
    conn: &mut DbConnection,
    patient: &str,
    recorded_after: i64,
    arrived_after: i64,
) -> Result<Vec<RecentCheckin>, ApiError> {
    type Row = (String, Option<i64>, i64, Option<i32>, Option<bool>, bool);
    let rows: Vec<Row> = checkins::table
        .filter(checkins::patient_id.eq(patient))
        .filter(checkins::deleted.eq(false))
        .filter(checkins::recorded_at.is_not_null())
        .filter(
            checkins::recorded_at
                .gt(recorded_after)
                .or(checkins::updated_at.gt(arrived_after)),
        )
        .select((
            checkins::doc_id,
            checkins::recorded_at,
            checkins::updated_at,
            checkins::intensity,
            checkins::lapse,
            checkins::crisis,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, at, arrived, intensity, lapse, crisis)| RecentCheckin {
                id,
                recorded_at: at.unwrap_or_default(),
                arrived_at: arrived,
                intensity: intensity.map(i64::from),
                lapse: lapse.unwrap_or(false),
                crisis,
            },
        )
        .collect())
}
