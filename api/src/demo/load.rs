//! Writes the demo clinic into a database: accounts, care team and consents through the same
//! repositories the API uses, the program track through the same schedule generator as
//! `POST /v1/tracks/{id}/enrollments`, and every check-in, exercise, RSVP and attendance mark as
//! sync-core ops run through the server's push path ([`crate::sync::push::push`]). So the op
//! log, the read models, trends and risk flags are exactly what real phones would have produced.
//!
//! Each phone pushes a day's changes shortly after the last of them (the push is told that
//! moment as its "now"), so data arrives when it was made: a lapse from three weeks ago is judged
//! as having arrived three weeks ago, not as a fresh crisis.

use crate::auth::{password, AuthUser};
use crate::db::{self, DbConnection};
use crate::demo::cast::{self, Persona};
use crate::demo::story::{self, SessionSlot, Span, Who, Write};
use crate::domain::{Email, Role};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::repo::consents::{self, ConsentRow};
use crate::repo::tracks::{self, TrackRow};
use crate::repo::{accounts, care_team};
use crate::schedule::generator;
use crate::schedule::recurrence::{self, SlotInput, TrackInput};
use crate::secret::Secret;
use crate::sync::push::{self, PushLimits};
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use sync_core::op::op_id;
use sync_core::{DocKind, Hlc, Op};
use uuid::Uuid;

/// The clinic's time zone, and every demo patient's.
pub const TIME_ZONE: &str = "America/New_York";
const MINUTE_MS: i64 = 60_000;
/// The push path's default bound on clock skew; demo ops are never ahead of their push.
const LIMITS: PushLimits = PushLimits {
    max_clock_ahead_ms: 300_000,
};

/// What to create.
#[derive(Debug)]
pub struct DemoOptions {
    /// Days of history up to today.
    pub days: i64,
    /// Patients who consent (5–8); one more who does not is always added.
    pub patients: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// The password of every demo account.
    pub password: Secret<String>,
}

/// One demo patient, as printed.
#[derive(Debug, Clone, Serialize)]
pub struct DemoPatient {
    /// Account id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Sign-in email (same password as the counselor).
    pub email: String,
    /// Whether they consented to share with the care team.
    pub consented: bool,
}

/// What was created.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    /// Clinic name.
    pub clinic: String,
    /// Clinic id.
    pub clinic_id: Uuid,
    /// Admin sign-in email.
    pub admin_email: String,
    /// Counselor account id.
    pub counselor_id: Uuid,
    /// Counselor sign-in email.
    pub counselor_email: String,
    /// The program track every consenting patient follows.
    pub track_id: Uuid,
    /// Patients, consenting ones first.
    pub patients: Vec<DemoPatient>,
    /// Days of history.
    pub days: i64,
    /// Check-ins written.
    pub checkins: usize,
    /// Exercises written.
    pub exercises: usize,
    /// Sessions on the track (all patients).
    pub sessions: usize,
    /// Ops pushed, sessions included.
    pub ops: usize,
}

/// Whether this database already holds the demo clinic (its counselor's account exists).
pub fn already_loaded(conn: &mut DbConnection) -> Result<bool, ApiError> {
    Ok(accounts::find_by_email(conn, &cast::email("counselor"))?.is_some())
}

/// A device that pushes: its account, its HLC state and its next sequence number.
struct Device {
    author: AuthUser,
    node: u64,
    wall: u64,
    counter: u32,
    next_seq: u64,
}

impl Device {
    fn new(author: AuthUser) -> Self {
        let b = author.device_id.as_bytes();
        let node = u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]);
        Self {
            author,
            node,
            wall: 0,
            counter: 0,
            next_seq: 1,
        }
    }

    /// The next HLC at or after `at_ms`, strictly after the device's previous one.
    fn tick(&mut self, at_ms: i64) -> Result<Hlc, ApiError> {
        let at = u64::try_from(at_ms).map_err(ApiError::internal)?;
        if at > self.wall {
            self.wall = at;
            self.counter = 0;
        } else {
            self.counter = self
                .counter
                .checked_add(1)
                .ok_or_else(|| ApiError::internal("demo: hlc counter overflow"))?;
        }
        Hlc::new(self.wall, self.counter, self.node).map_err(ApiError::internal)
    }
}

/// One push: a device's writes of one local day, sent when its phone next synced.
struct Batch {
    arrival_ms: i64,
    device: usize,
    writes: Vec<(Uuid, Write)>,
}

fn local_date(tz: &TimeZone, ms: i64) -> Result<Date, ApiError> {
    Ok(Timestamp::from_millisecond(ms)
        .map_err(ApiError::internal)?
        .to_zoned(tz.clone())
        .date())
}

/// The Monday on or before a date.
fn monday_on_or_before(date: Date) -> Result<Date, ApiError> {
    let back = i64::from(date.weekday().to_monday_zero_offset());
    recurrence::add_days(date, -back)
}

/// The demo's track: four evenings a week stepping down to three, plus a weekly individual
/// session; about 13 then 10 hours a week, above the adult IOP minimum of 9.
fn track_input(start: Date, weeks: i64) -> TrackInput {
    let step_down = (weeks - 5).max(2);
    let slot =
        |from_week: i64, days: &[&str], start_time: &str, minutes: i64, kind: &str, title: &str| {
            SlotInput {
                from_week,
                days: days.iter().map(|d| d.to_string()).collect(),
                start_time: start_time.to_string(),
                duration_min: minutes,
                kind: kind.to_string(),
                title: Some(title.to_string()),
            }
        };
    TrackInput {
        name: "Evening IOP".to_string(),
        time_zone: TIME_ZONE.to_string(),
        population: "adult".to_string(),
        start_date: start.to_string(),
        weeks,
        schedule: vec![
            slot(
                1,
                &["mon", "wed", "thu"],
                "18:00",
                180,
                "group",
                "Evening group",
            ),
            slot(
                1,
                &["tue"],
                "18:00",
                180,
                "psychoeducation",
                "Relapse prevention",
            ),
            slot(1, &["fri"], "17:00", 60, "individual", "Individual session"),
            slot(
                step_down,
                &["mon", "wed"],
                "18:00",
                180,
                "group",
                "Evening group",
            ),
            slot(
                step_down,
                &["thu"],
                "18:00",
                180,
                "life_skills",
                "Life skills",
            ),
            slot(
                step_down,
                &["fri"],
                "17:00",
                60,
                "individual",
                "Individual session",
            ),
        ],
    }
}

/// Creates the demo clinic. Refuses (409 `demo_exists`) when the database already holds it.
pub fn load(
    conn: &mut DbConnection,
    options: &DemoOptions,
    now_ms: i64,
) -> Result<DemoSummary, ApiError> {
    if already_loaded(conn)? {
        return Err(ApiError::Conflict {
            code: ErrorCode::DemoExists,
            message: format!(
                "this database already holds the demo clinic ({}); \
                 point --database-url at a fresh database to make another",
                cast::email("counselor")
            ),
        });
    }
    let tz = TimeZone::get(TIME_ZONE).map_err(ApiError::internal)?;
    let today = local_date(&tz, now_ms)?;
    let span = Span {
        tz: tz.clone(),
        today,
        days: options.days,
        now_ms,
    };
    let first_day = span
        .dates()
        .first()
        .copied()
        .ok_or_else(|| ApiError::internal("demo: no days"))?;
    // Accounts exist from the evening before the first day of data.
    let (first_ms, _) = span
        .instant(first_day, 0, 0)
        .ok_or_else(|| ApiError::internal("demo: first day"))?;
    let created_ms = first_ms - 6 * 60 * MINUTE_MS;

    let hash = password::hash_now(&options.password)?;
    let consenting: Vec<&Persona> = cast::CONSENTING.iter().take(options.patients).collect();
    let everyone: Vec<&Persona> = consenting
        .iter()
        .copied()
        .chain([&cast::WITHOUT_CONSENT])
        .collect();

    // Accounts, the care team, consents and one phone per patient.
    let (clinic_id, counselor, patients, desk) = db::write_tx(conn, |conn| {
        let clinic_id = accounts::ensure_clinic(conn, cast::CLINIC, created_ms)?;
        let user = |conn: &mut DbConnection, role: Role, email: &str, name: &str| {
            let email = Email::parse(email)?;
            accounts::insert_user(
                conn,
                &accounts::NewUser {
                    clinic_id,
                    role,
                    email: &email,
                    display_name: name,
                    password_hash: Some(&hash),
                },
                created_ms,
            )
        };
        user(conn, Role::Admin, &cast::email("admin"), cast::ADMIN_NAME)?;
        let counselor = user(
            conn,
            Role::Counselor,
            &cast::email("counselor"),
            cast::COUNSELOR_NAME,
        )?;
        let desk = accounts::create_device(conn, counselor, "Clinic desk (demo)", created_ms)?;
        let mut patients = Vec::new();
        for persona in &everyone {
            let id = user(
                conn,
                Role::Patient,
                &cast::email(persona.email_local),
                persona.name,
            )?;
            care_team::assign(conn, counselor, id, created_ms)?;
            if persona.consented {
                consents::insert(
                    conn,
                    &ConsentRow {
                        id: Uuid::now_v7().to_string(),
                        patient_id: id.to_string(),
                        grantee: "care_team".to_string(),
                        counselor_id: None,
                        purpose: "treatment in the Evening IOP".to_string(),
                        created_at: created_ms,
                        expires_at: None,
                        revoked_at: None,
                    },
                )?;
            }
            let phone = accounts::create_device(conn, id, "Phone (demo)", created_ms)?;
            patients.push((id, phone));
        }
        Ok::<_, ApiError>((clinic_id, counselor, patients, desk))
    })?;
    let counselor_auth = AuthUser {
        user_id: counselor,
        role: Role::Counselor,
        clinic_id,
        device_id: desk,
    };

    // The track, and each consenting patient's sessions through the schedule generator.
    let start = monday_on_or_before(first_day)?;
    let weeks = ((options.days + 6) / 7 + 4).min(*recurrence::WEEKS.end());
    let spec = recurrence::validate(&track_input(start, weeks))?;
    let track_id = Uuid::now_v7();
    tracks::insert(
        conn,
        &TrackRow {
            id: track_id.to_string(),
            clinic_id: clinic_id.to_string(),
            created_by: counselor.to_string(),
            name: spec.name.clone(),
            time_zone: spec.time_zone_name.clone(),
            population: spec.population.as_str().to_string(),
            start_date: spec.start_date.to_string(),
            weeks: i32::try_from(spec.weeks).map_err(ApiError::internal)?,
            schedule: serde_json::to_string(&spec.slot_inputs()).map_err(ApiError::internal)?,
            created_at: created_ms,
        },
    )?;
    let occurrences = recurrence::occurrences(&spec)?;
    let mut sessions = 0;
    let mut slots: Vec<Vec<SessionSlot>> = Vec::new();
    for (persona, (patient, _)) in everyone.iter().zip(&patients) {
        if !persona.consented {
            slots.push(Vec::new());
            continue;
        }
        let generated = generator::generate(
            conn,
            &counselor_auth,
            track_id,
            *patient,
            &occurrences,
            LIMITS,
            created_ms,
        )?;
        sessions += generated.created;
        tracks::enroll(
            conn,
            &track_id.to_string(),
            &patient.to_string(),
            &counselor.to_string(),
            created_ms,
        )?;
        slots.push(
            occurrences
                .iter()
                .map(|o| SessionSlot {
                    doc: o.doc_id(track_id, *patient),
                    starts_at_ms: o.starts_at_ms,
                    duration_min: o.duration_min,
                    kind: o.kind.clone(),
                })
                .collect(),
        );
    }

    // The day the track steps down (the first day of the week whose slots change).
    let step_down = spec
        .slots
        .iter()
        .map(|slot| slot.from_week)
        .filter(|w| *w > 1)
        .min()
        .map(|w| recurrence::add_days(spec.start_date, (w - 1) * 7))
        .transpose()?;

    // A clinic holiday about three and a half weeks ago: that Thursday's sessions are cancelled.
    let holiday = span
        .dates()
        .into_iter()
        .rev()
        .skip(21)
        .find(|d| d.weekday() == Weekday::Thursday);

    // Every patient's story, then one push per device per local day.
    let mut devices: Vec<Device> = vec![Device::new(counselor_auth)];
    let mut writes: Vec<(usize, Uuid, Write)> = Vec::new();
    let (mut checkins, mut exercises) = (0, 0);
    for (k, (persona, (patient, phone))) in everyone.iter().zip(&patients).enumerate() {
        let mut rng =
            StdRng::seed_from_u64(options.seed.wrapping_mul(1_000).wrapping_add(k as u64));
        devices.push(Device::new(AuthUser {
            user_id: *patient,
            role: Role::Patient,
            clinic_id,
            device_id: *phone,
        }));
        let device = devices.len() - 1;
        let mut story = story::checkins_and_exercises(&mut rng, &span, persona);
        if persona.consented {
            story.extend(story::plan_writes(&mut rng, &span, persona, step_down));
        }
        story.extend(story::session_writes(
            &mut rng,
            &span,
            persona,
            slots.get(k).map_or(&[][..], Vec::as_slice),
            holiday,
            k == 0,
        ));
        // The story covers whole days; what it places later today has not happened yet (and
        // would be refused as stamped in the future).
        for w in story.into_iter().filter(|w| w.at_ms <= now_ms) {
            match w.kind {
                DocKind::Checkin => checkins += 1,
                DocKind::Exercise => exercises += 1,
                DocKind::Session | DocKind::Plan => {}
            }
            let by = match w.who {
                Who::Patient => device,
                Who::Counselor => 0,
            };
            writes.push((by, *patient, w));
        }
    }
    let mut batches: BTreeMap<(usize, Date), Batch> = BTreeMap::new();
    for (device, patient, w) in writes {
        let day = local_date(&tz, w.at_ms)?;
        let arrival = (w.at_ms + 10 * MINUTE_MS).min(now_ms);
        let batch = batches.entry((device, day)).or_insert(Batch {
            arrival_ms: arrival,
            device,
            writes: Vec::new(),
        });
        batch.arrival_ms = batch.arrival_ms.max(arrival);
        batch.writes.push((patient, w));
    }
    let mut batches: Vec<Batch> = batches.into_values().collect();
    batches.sort_by_key(|b| (b.arrival_ms, b.device));

    let mut op_rng = StdRng::seed_from_u64(options.seed ^ 0x7e7_4e2);
    let mut ops_pushed = sessions * 5;
    for mut batch in batches {
        batch.writes.sort_by_key(|(_, w)| w.at_ms);
        let device = devices
            .get_mut(batch.device)
            .ok_or_else(|| ApiError::internal("demo: device"))?;
        let mut raw: Vec<Value> = Vec::new();
        for (patient, w) in &batch.writes {
            for (field, value) in &w.fields {
                let hlc = device.tick(w.at_ms)?;
                let op = Op {
                    id: op_id(&hlc, &op_rng.gen()),
                    patient: *patient,
                    kind: w.kind,
                    doc: w.doc,
                    field: field.clone(),
                    value: value.clone(),
                    hlc,
                    device_seq: device.next_seq,
                };
                device.next_seq += 1;
                raw.push(serde_json::to_value(&op).map_err(ApiError::internal)?);
            }
        }
        ops_pushed += raw.len();
        let outcome = push::push(conn, &device.author, raw, LIMITS, batch.arrival_ms)?;
        if let Some(r) = outcome.rejected.first() {
            return Err(ApiError::internal(format!(
                "demo: the push path refused an op ({}: {})",
                r.code, r.message
            )));
        }
    }

    let mut summary_patients = Vec::new();
    for (persona, (id, _)) in everyone.iter().zip(&patients) {
        summary_patients.push(DemoPatient {
            id: *id,
            name: persona.name.to_string(),
            email: cast::email(persona.email_local),
            consented: persona.consented,
        });
    }
    Ok(DemoSummary {
        clinic: cast::CLINIC.to_string(),
        clinic_id,
        admin_email: cast::email("admin"),
        counselor_id: counselor,
        counselor_email: cast::email("counselor"),
        track_id,
        patients: summary_patients,
        days: options.days,
        checkins,
        exercises,
        sessions,
        ops: ops_pushed,
    })
}
