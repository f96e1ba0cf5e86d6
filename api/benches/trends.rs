//! Trends latency for a patient with two years of check-ins (about ten a day), on SQLite.
//!
//! `cargo bench -p api --bench trends` (release). The data goes in through the real push path
//! (`sync::push::push`: op log, field state, read models), then `trends::compute` — the same
//! function the endpoint calls, SQL aggregates included — is timed over three windows. Figures
//! are measured, never assumed. Target (issue 5): under 50 ms on SQLite.

use api::auth::AuthUser;
use api::db::{self, DbConnection};
use api::domain::{Email, Role};
use api::repo::accounts;
use api::settings::DatabaseSettings;
use api::sync::push::{self, PushLimits};
use api::trends::{self, TrendSettings};
use serde_json::{json, Value};
use std::error::Error;
use std::time::{Duration, Instant};
use sync_core::op::op_id;
use sync_core::{DocKind, Hlc, Op};
use uuid::Uuid;

const DAY_MS: i64 = 86_400_000;
const TRIGGERS: [&str; 8] = [
    "stress", "lonely", "tired", "hungry", "people", "places", "boredom", "conflict",
];
const SKILLS: [&str; 4] = [
    "urge_surfing",
    "paced_breathing",
    "grounding_54321",
    "call_support",
];

/// A small deterministic generator (xorshift), so every run measures the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn arg(name: &str, default: i64) -> i64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)].as_secs_f64() * 1_000.0
}

fn main() -> Result<(), Box<dyn Error>> {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing: run small then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let days = arg("--days", if quick { 14 } else { 730 });
    let per_day = arg("--per-day", 10);
    let iterations = if quick { 2 } else { 30 };

    let dir = std::env::temp_dir().join(format!("tether-trends-bench-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let database = DatabaseSettings::from_url(
        &dir.join("bench.db").display().to_string(),
        2,
        Duration::from_secs(30),
    );
    let pool = db::build_pool(&database)?;
    let mut conn = pool.get()?;
    db::run_migrations(&mut conn)?;

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let clinic =
        accounts::ensure_clinic(&mut conn, "Bench Clinic", now).map_err(|e| e.to_string())?;
    let email = Email::parse("bench-patient@example.test").map_err(|e| e.to_string())?;
    let patient = accounts::insert_user(
        &mut conn,
        &accounts::NewUser {
            clinic_id: clinic,
            role: Role::Patient,
            email: &email,
            display_name: "Bench",
            password_hash: None,
        },
        now,
    )
    .map_err(|e| e.to_string())?;
    let device = accounts::create_device(&mut conn, patient, "bench phone", now)
        .map_err(|e| e.to_string())?;
    let caller = AuthUser {
        user_id: patient,
        role: Role::Patient,
        clinic_id: clinic,
        device_id: device,
    };

    // Generate the history: `per_day` check-ins a day for `days` days, two exercises a day.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut seq = 0u64;
    let mut counter = 0u32;
    let mut ops: Vec<Value> = Vec::new();
    let mut make = |kind: DocKind,
                    doc: Uuid,
                    field: &str,
                    value: Value,
                    rng: &mut Rng|
     -> Result<Value, Box<dyn Error>> {
        seq += 1;
        counter += 1;
        let hlc = Hlc::new(now as u64 - 1_000, counter, 7)?;
        let random: [u8; 10] = rng
            .next()
            .to_le_bytes()
            .iter()
            .chain(&[0u8, 1])
            .copied()
            .collect::<Vec<_>>()
            .try_into()
            .map_err(|_| "random bytes")?;
        let op = Op {
            id: op_id(&hlc, &random),
            patient,
            kind,
            doc,
            field: field.into(),
            value,
            hlc,
            device_seq: seq,
        };
        Ok(serde_json::to_value(op)?)
    };
    let start_day = now - days * DAY_MS;
    for d in 0..days {
        for k in 0..per_day {
            let doc = Uuid::from_u128(u128::from(rng.next()) << 64 | u128::from(rng.next()));
            let at = start_day
                + d * DAY_MS
                + (k * DAY_MS / per_day.max(1))
                + rng.below(3_600_000) as i64;
            ops.push(make(
                DocKind::Checkin,
                doc,
                "recorded_at",
                json!(at),
                &mut rng,
            )?);
            ops.push(make(
                DocKind::Checkin,
                doc,
                "tz_offset_min",
                json!(-300),
                &mut rng,
            )?);
            ops.push(make(
                DocKind::Checkin,
                doc,
                "intensity",
                json!(rng.below(11)),
                &mut rng,
            )?);
            ops.push(make(
                DocKind::Checkin,
                doc,
                "mood",
                json!(1 + rng.below(5)),
                &mut rng,
            )?);
            for _ in 0..1 + rng.below(2) {
                let t = TRIGGERS[rng.below(TRIGGERS.len() as u64) as usize];
                ops.push(make(
                    DocKind::Checkin,
                    doc,
                    &format!("triggers/{t}"),
                    json!(true),
                    &mut rng,
                )?);
            }
            if rng.below(50) == 0 {
                ops.push(make(DocKind::Checkin, doc, "lapse", json!(true), &mut rng)?);
            }
        }
        for _ in 0..2 {
            let doc = Uuid::from_u128(u128::from(rng.next()) << 64 | u128::from(rng.next()));
            let at = start_day + d * DAY_MS + rng.below(DAY_MS as u64) as i64;
            ops.push(make(
                DocKind::Exercise,
                doc,
                "skill",
                json!(SKILLS[rng.below(4) as usize]),
                &mut rng,
            )?);
            ops.push(make(
                DocKind::Exercise,
                doc,
                "started_at",
                json!(at),
                &mut rng,
            )?);
            ops.push(make(
                DocKind::Exercise,
                doc,
                "tz_offset_min",
                json!(-300),
                &mut rng,
            )?);
            let before = 3 + rng.below(8);
            ops.push(make(
                DocKind::Exercise,
                doc,
                "craving_before",
                json!(before),
                &mut rng,
            )?);
            ops.push(make(
                DocKind::Exercise,
                doc,
                "craving_after",
                json!(before - rng.below(before + 1)),
                &mut rng,
            )?);
        }
    }
    let total_ops = ops.len();
    let loading = Instant::now();
    let limits = PushLimits {
        max_clock_ahead_ms: 300_000,
    };
    let mut batches = ops.into_iter().peekable();
    while batches.peek().is_some() {
        let batch: Vec<Value> = batches.by_ref().take(1_000).collect();
        let outcome =
            push::push(&mut conn, &caller, batch, limits, now).map_err(|e| e.to_string())?;
        if !outcome.rejected.is_empty() {
            return Err(format!("rejected: {:?}", outcome.rejected[0]).into());
        }
    }
    let load_secs = loading.elapsed().as_secs_f64();

    let settings = TrendSettings::default();
    let id = patient.to_string();
    let today = api::calendar::local_day(now, -300);
    let windows = [
        ("28 days (default)", None),
        ("90 days", Some(today - 89)),
        ("whole history", Some(today - days)),
    ];
    println!("trends benchmark (SQLite): {days} days × {per_day} check-ins/day = {} check-ins, {total_ops} ops loaded through push in {load_secs:.1} s", days * per_day);
    let mut default_p95 = 0.0;
    for (label, from) in windows {
        let mut times = Vec::new();
        for _ in 0..iterations {
            let started = Instant::now();
            let t = trends::compute(
                &mut conn as &mut DbConnection,
                &id,
                (from, None),
                now,
                &settings,
            )
            .map_err(|e| e.to_string())?;
            times.push(started.elapsed());
            std::hint::black_box(t);
        }
        times.sort();
        let (p50, p95, max) = (
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            percentile(&times, 1.0),
        );
        if from.is_none() {
            default_p95 = p95;
        }
        println!("  window {label:<18} p50 {p50:7.2} ms   p95 {p95:7.2} ms   max {max:7.2} ms   ({iterations} runs)");
    }
    // Where the time goes, query by query, for the default window.
    {
        use api::repo::trends as q;
        let (from, to) = (today - 27, today);
        let mut time =
            |label: &str,
             f: &mut dyn FnMut(&mut DbConnection) -> Result<usize, api::error::ApiError>|
             -> Result<(), Box<dyn Error>> {
                let started = Instant::now();
                let rows = f(&mut conn).map_err(|e| e.to_string())?;
                println!(
                    "    {label:<22} {:8.2} ms  ({rows} rows)",
                    started.elapsed().as_secs_f64() * 1_000.0
                );
                Ok(())
            };
        println!("  breakdown (default window, one run each):");
        time("daily", &mut |c| Ok(q::daily(c, &id, from, to)?.len()))?;
        time("days_with_checkin", &mut |c| {
            Ok(q::days_with_checkin(c, &id, from, to)? as usize)
        })?;
        time("heatmap", &mut |c| Ok(q::heatmap(c, &id, from, to)?.len()))?;
        time(
            "triggers",
            &mut |c| Ok(q::triggers(c, &id, from, to)?.len()),
        )?;
        time("skills", &mut |c| Ok(q::skills(c, &id, from, to)?.len()))?;
        time("skills_by_trigger", &mut |c| {
            Ok(q::skills_by_trigger(c, &id, from, to, 3 * 3_600_000)?.len())
        })?;
        time("lapses", &mut |c| Ok(q::lapses(c, &id, from, to)?.len()))?;
        time("recent_checkins", &mut |c| {
            Ok(q::recent_checkins(c, &id, now - 7 * DAY_MS, now - 7 * DAY_MS)?.len())
        })?;
        time("last_checkin", &mut |c| {
            Ok(q::last_checkin(c, &id)?.map_or(0, |_| 1))
        })?;
        time("latest_attendance", &mut |c| {
            Ok(q::latest_attendance(c, &id, now, 2)?.len())
        })?;
    }
    println!(
        "target: trends under 50 ms on SQLite (default window p95): {}",
        if default_p95 < 50.0 { "met" } else { "NOT met" }
    );
    drop(conn);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
