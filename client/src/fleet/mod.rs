//! The fleet simulator: many phones of many patients, and their counselors, using the real
//! server over HTTP the way real devices do — offline for a while, writing check-ins, exercises
//! and rsvps, syncing at random moments — with the failures real networks and phones add: an
//! answer lost after the server committed, a request arriving twice, the app killed mid-sync
//! (the device then restarts from its store file, as a phone would).
//!
//! At the end every device syncs without faults and the simulator checks, exactly:
//! - every device's outbox is empty and nothing was refused;
//! - every device of a patient holds the same replica, equal to the fold (sync-core merge) of
//!   every op any device ever wrote for that patient — so no acknowledged op is lost and none
//!   was invented;
//! - each counselor holds exactly their patients' records;
//! - a brand-new device of each patient pulls that same replica from the server;
//! - the server's read models (`/v1/patients/{id}/checkins|exercises|sessions`) equal the typed
//!   views of that replica.
//!
//! [`load`] is the benchmark mode: thousands of devices syncing about once a minute.

pub mod cli;
pub mod faults;
pub mod load;
pub mod server;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sync_core::schema::{SKILLS, TRIGGERS};
use sync_core::view::PatientText;
use sync_core::{DocKey, DocKind, FieldState, Op, Replica, View};
use uuid::Uuid;

use crate::client::{system_ms, Client, SyncConfig};
use crate::error::ClientError;
use crate::records::{CheckinInput, ExerciseInput, SessionInput};
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use crate::store::{FieldWrite, Store};
use crate::transport::HttpTransport;
use faults::{FaultCounts, FaultyTransport};

/// The password every simulated account chooses.
const PASSWORD: &str = "fleet simulator password";

/// The shape of a simulation.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// Simulated patients.
    pub patients: usize,
    /// Counselors (patients are spread over them).
    pub counselors: usize,
    /// Each patient has 1 to this many devices.
    pub max_devices: usize,
    /// Rounds of offline writing and random syncing.
    pub rounds: usize,
    /// Records each device writes per round, at most (0 to this, at random).
    pub writes_per_round: usize,
    /// Chance that a device syncs in a round.
    pub sync_chance: f64,
    /// Chance per sync request that its answer is lost after the server committed.
    pub drop_chance: f64,
    /// Chance per sync request that it reaches the server twice.
    pub duplicate_chance: f64,
    /// Chance per sync request that the app is killed around it.
    pub kill_chance: f64,
    /// Chance per push that a broken network loses it yet answers "stored" (0 in any real
    /// run; a test sets it to prove the final check catches a lost acknowledged op).
    pub forge_chance: f64,
    /// Ops per push (small, so a sync spans several batches and can die between them).
    pub push_batch: usize,
    /// Seed of the random choices (which device finishes a sync first still varies, so two
    /// runs with one seed are alike, not identical).
    pub seed: u64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            patients: 6,
            counselors: 2,
            max_devices: 3,
            rounds: 4,
            writes_per_round: 3,
            sync_chance: 0.7,
            drop_chance: 0.1,
            duplicate_chance: 0.1,
            kill_chance: 0.1,
            forge_chance: 0.0,
            push_batch: 8,
            seed: 7,
        }
    }
}

/// What a simulation did and found.
#[derive(Debug, Clone, Default)]
pub struct FleetReport {
    /// Patients simulated.
    pub patients: usize,
    /// Counselors simulated.
    pub counselors: usize,
    /// Devices (patients' and counselors').
    pub devices: usize,
    /// Rounds run.
    pub rounds: usize,
    /// Syncs started.
    pub syncs: u64,
    /// Syncs killed part-way (the device restarted from its store).
    pub interrupted: u64,
    /// Syncs that gave up after their retries (lost answers in a row).
    pub gave_up: u64,
    /// Distinct ops written by all devices.
    pub ops_written: usize,
    /// Distinct op ids the server acknowledged in answers that arrived.
    pub ops_acknowledged: usize,
    /// Faults injected: answers dropped, requests duplicated, apps killed.
    pub faults: (u64, u64, u64),
    /// Field states compared in the final check, per copy.
    pub fields_checked: usize,
    /// Every disagreement found (empty when the fleet converged).
    pub mismatches: Vec<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl FleetReport {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty()
    }
}

impl std::fmt::Display for FleetReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "fleet: {} patients, {} counselors, {} devices, {} rounds: {} syncs ({} killed mid-sync, {} gave up), \
             {} ops written, {} acknowledged; faults: {} answers dropped, {} requests duplicated, {} kills; \
             {} fields checked on every copy: {} in {:.1} s",
            self.patients,
            self.counselors,
            self.devices,
            self.rounds,
            self.syncs,
            self.interrupted,
            self.gave_up,
            self.ops_written,
            self.ops_acknowledged,
            self.faults.0,
            self.faults.1,
            self.faults.2,
            self.fields_checked,
            if self.ok() {
                "ALL AGREE".to_string()
            } else {
                format!("{} MISMATCHES", self.mismatches.len())
            },
            self.elapsed.as_secs_f64()
        )
    }
}

/// Why a simulation could not run (a disagreement is not an error: it is in the report).
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// Setting up accounts or a device failed.
    #[error("fleet set-up failed: {0}")]
    Setup(String),
    /// A client call failed where the simulator cannot carry on.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The working directory could not be used.
    #[error("fleet working directory: {0}")]
    Io(#[from] std::io::Error),
}

type FleetClient = Client<FaultyTransport<HttpTransport>>;

/// Whose device it is.
#[derive(Debug, Clone)]
enum Owner {
    Patient(Uuid),
    Counselor(Vec<Uuid>),
}

struct Device {
    label: String,
    owner: Owner,
    path: PathBuf,
    client: FleetClient,
}

/// What the simulator shares with every device it opens.
struct Env {
    server: String,
    http: reqwest::Client,
    counts: Arc<FaultCounts>,
    cfg: FleetConfig,
}

impl Env {
    fn config(&self) -> SyncConfig {
        SyncConfig {
            push_batch: self.cfg.push_batch,
            pull_limit: 50,
            retry: RetryPolicy {
                max_attempts: 4,
                base: Duration::from_millis(5),
                max: Duration::from_millis(50),
            },
            ..SyncConfig::default()
        }
    }

    fn transport(&self, seed: u64) -> FaultyTransport<HttpTransport> {
        let http = HttpTransport::with_client(&self.server, self.http.clone());
        FaultyTransport::random(
            http,
            seed,
            self.cfg.drop_chance,
            self.cfg.duplicate_chance,
            self.cfg.kill_chance,
        )
        .forging(self.cfg.forge_chance)
        .counting_into(self.counts.clone())
    }

    /// Opens (or re-opens, after a kill) a device's store file.
    fn open(&self, path: &Path, seed: u64) -> Result<FleetClient, FleetError> {
        let store = Store::open(path).map_err(ClientError::from)?;
        Ok(Client::new(store, self.transport(seed), self.config()))
    }

    fn plain(&self) -> Result<Client<HttpTransport>, FleetError> {
        let store = Store::in_memory().map_err(ClientError::from)?;
        let http = HttpTransport::with_client(&self.server, self.http.clone());
        Ok(Client::new(store, http, self.config()))
    }
}

fn text_of(v: &Value, key: &str) -> Result<String, FleetError> {
    v[key]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| FleetError::Setup(format!("the answer has no `{key}`")))
}

/// Runs a simulation against the server at `server` whose first admin signs in with
/// `admin_email` and `admin_password`. Every account it creates is new (a fresh run id).
pub async fn run(
    server: &str,
    admin_email: &str,
    admin_password: &Secret,
    cfg: FleetConfig,
) -> Result<FleetReport, FleetError> {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("tether-fleet-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let result = simulate(server, admin_email, admin_password, cfg, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result.map(|mut r| {
        r.elapsed = started.elapsed();
        r
    })
}

async fn simulate(
    server: &str,
    admin_email: &str,
    admin_password: &Secret,
    cfg: FleetConfig,
    dir: &Path,
) -> Result<FleetReport, FleetError> {
    let env = Env {
        server: server.trim_end_matches('/').to_string(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| FleetError::Setup(e.to_string()))?,
        counts: Arc::default(),
        cfg: cfg.clone(),
    };
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let run_id = Uuid::new_v4().simple().to_string();
    let password = Secret::new(PASSWORD);
    let mut devices = setup(
        &env,
        admin_email,
        admin_password,
        &password,
        &run_id,
        dir,
        &mut rng,
    )
    .await?;
    let mut report = FleetReport {
        patients: cfg.patients,
        counselors: cfg.counselors,
        devices: devices.len(),
        rounds: cfg.rounds,
        ..FleetReport::default()
    };
    let mut written: BTreeMap<Uuid, Op> = BTreeMap::new();
    let mut acknowledged: BTreeSet<Uuid> = BTreeSet::new();

    for round in 0..cfg.rounds {
        for d in devices.iter_mut() {
            let n = rng.gen_range(0..=cfg.writes_per_round);
            for _ in 0..n {
                act(d, round, &mut rng)?;
            }
        }
        let mut set = tokio::task::JoinSet::new();
        let mut idle = Vec::new();
        for mut d in devices.drain(..) {
            if rng.gen_bool(cfg.sync_chance) {
                record_outbox(&mut d.client, &mut written)?;
                set.spawn(async move {
                    let r = d.client.sync().await;
                    (d, r)
                });
            } else {
                idle.push(d);
            }
        }
        devices = idle;
        while let Some(joined) = set.join_next().await {
            let (mut d, result) =
                joined.map_err(|e| FleetError::Setup(format!("a device task failed: {e}")))?;
            report.syncs += 1;
            match result {
                Ok(r) => acknowledged.extend(r.acknowledged),
                Err(ClientError::Interrupted) => {
                    report.interrupted += 1;
                    // The app was killed: drop it and start it again from its store file.
                    let seed = rng.gen();
                    let path = d.path.clone();
                    drop(d.client);
                    d.client = env.open(&path, seed)?;
                }
                Err(ClientError::Unavailable { .. }) => report.gave_up += 1,
                Err(e) => return Err(e.into()),
            }
            devices.push(d);
        }
        devices.sort_by(|a, b| a.label.cmp(&b.label));
    }

    // Back online for good: everyone syncs twice (the second pass pulls what others pushed in
    // the first), with no faults.
    for d in devices.iter_mut() {
        d.client.transport().heal();
    }
    for _ in 0..2 {
        for d in devices.iter_mut() {
            record_outbox(&mut d.client, &mut written)?;
            report.syncs += 1;
            let r = d.client.sync().await?;
            acknowledged.extend(r.acknowledged);
        }
    }
    report.faults = env.counts.snapshot();
    report.ops_written = written.len();
    report.ops_acknowledged = acknowledged.len();
    check(
        &env,
        &mut devices,
        &written,
        &acknowledged,
        &password,
        &mut report,
    )
    .await?;
    Ok(report)
}

/// Every op a device wrote passes through its outbox: snapshot it before each sync.
fn record_outbox(c: &mut FleetClient, written: &mut BTreeMap<Uuid, Op>) -> Result<(), FleetError> {
    for op in c
        .store()
        .outbox_batch(usize::MAX)
        .map_err(ClientError::from)?
    {
        written.insert(op.id, op);
    }
    Ok(())
}

async fn setup(
    env: &Env,
    admin_email: &str,
    admin_password: &Secret,
    password: &Secret,
    run_id: &str,
    dir: &Path,
    rng: &mut StdRng,
) -> Result<Vec<Device>, FleetError> {
    let mut admin = env.plain()?;
    admin
        .login(&env.server, admin_email, admin_password, "fleet admin")
        .await?;
    let mut counselors = Vec::new();
    for i in 0..env.cfg.counselors.max(1) {
        let created = admin
            .post_json(
                "/v1/clinicians",
                json!({ "email": format!("fleet-c{i}-{run_id}@fleet.test"),
                        "display_name": format!("Counselor {i}") }),
            )
            .await?;
        let code = Secret::new(text_of(&created, "activation_code")?);
        let path = dir.join(format!("counselor-{i}.db"));
        let mut client = env.open(&path, rng.gen())?;
        client
            .activate(&env.server, &code, password, "counselor laptop")
            .await?;
        counselors.push(Device {
            label: format!("c{i}"),
            owner: Owner::Counselor(Vec::new()),
            path,
            client,
        });
    }
    let mut patients = Vec::new();
    for j in 0..env.cfg.patients {
        let ci = j % counselors.len();
        let enrolled = counselors[ci]
            .client
            .post_json(
                "/v1/patients",
                json!({ "email": format!("fleet-p{j}-{run_id}@fleet.test"),
                        "display_name": format!("Patient {j}") }),
            )
            .await?;
        let code = Secret::new(text_of(&enrolled, "enrollment_code")?);
        let email = text_of(&enrolled, "email")?;
        let path = dir.join(format!("patient-{j}-0.db"));
        let mut first = env.open(&path, rng.gen())?;
        let me = first
            .activate(&env.server, &code, password, "phone 0")
            .await?;
        first.consent_to_care_team("fleet simulation").await?;
        if let Owner::Counselor(list) = &mut counselors[ci].owner {
            list.push(me.user_id);
        }
        patients.push(Device {
            label: format!("p{j:04}-0"),
            owner: Owner::Patient(me.user_id),
            path,
            client: first,
        });
        let extra = rng.gen_range(1..=env.cfg.max_devices.max(1)) - 1;
        for k in 1..=extra {
            let path = dir.join(format!("patient-{j}-{k}.db"));
            let mut c = env.open(&path, rng.gen())?;
            c.login(&env.server, &email, password, &format!("phone {k}"))
                .await?;
            patients.push(Device {
                label: format!("p{j:04}-{k}"),
                owner: Owner::Patient(me.user_id),
                path,
                client: c,
            });
        }
    }
    counselors.extend(patients);
    Ok(counselors)
}

fn pick<'a>(rng: &mut StdRng, list: &'a [&'a str]) -> &'a str {
    list.choose(rng).copied().unwrap_or("stress")
}

/// One realistic offline action of a device.
fn act(d: &mut Device, round: usize, rng: &mut StdRng) -> Result<(), FleetError> {
    let now = i64::try_from(system_ms()).unwrap_or(i64::MAX);
    match d.owner.clone() {
        Owner::Counselor(patients) => {
            let Some(&patient) = patients.choose(rng) else {
                return Ok(());
            };
            let sessions: Vec<sync_core::Session> = d
                .client
                .sessions_between(i64::MIN, i64::MAX)?
                .into_iter()
                .filter(|s| s.patient == patient)
                .collect();
            if sessions.is_empty() || rng.gen_bool(0.6) {
                let kinds = ["group", "individual", "family", "psychoeducation"];
                d.client.schedule_session(
                    patient,
                    &SessionInput {
                        kind: pick(rng, &kinds).to_string(),
                        title: format!("Session of round {round}"),
                        starts_at_ms: now + rng.gen_range(-3..=10) * 86_400_000,
                        duration_min: *[60u16, 90, 180].choose(rng).unwrap_or(&60),
                    },
                )?;
            } else if let Some(s) = sessions.choose(rng) {
                let (field, value) = if rng.gen_bool(0.7) {
                    let marks = ["attended", "late", "left_early", "absent", "excused"];
                    ("attendance", json!(pick(rng, &marks)))
                } else {
                    ("status", json!("cancelled"))
                };
                d.client.write_fields(&[FieldWrite {
                    key: DocKey {
                        patient,
                        kind: DocKind::Session,
                        doc: s.id,
                    },
                    field: field.into(),
                    value,
                }])?;
            }
        }
        Owner::Patient(patient) => {
            let x: f64 = rng.gen();
            if x < 0.5 {
                let n = rng.gen_range(0..=3);
                let triggers = (0..n)
                    .map(|_| pick(rng, TRIGGERS.builtin).to_string())
                    .collect();
                d.client.record_checkin(&CheckinInput {
                    intensity: rng.gen_range(0..=10),
                    triggers,
                    mood: Some(rng.gen_range(1..=5)),
                    lapse: rng.gen_bool(0.1).then_some(true),
                    note: rng
                        .gen_bool(0.3)
                        .then(|| PatientText::new(format!("synthetic note, round {round}"))),
                    recorded_at_ms: Some(now - rng.gen_range(0..72) * 3_600_000),
                    tz_offset_min: -300,
                    ..CheckinInput::default()
                })?;
            } else if x < 0.7 {
                let before = rng.gen_range(3..=10);
                d.client.log_exercise(&ExerciseInput {
                    skill: pick(rng, SKILLS.builtin).to_string(),
                    started_at_ms: Some(now - rng.gen_range(0..72) * 3_600_000),
                    tz_offset_min: -300,
                    duration_min: Some(rng.gen_range(2..=30)),
                    craving_before: Some(before),
                    craving_after: Some(rng.gen_range(0..=before)),
                    helpfulness: Some(rng.gen_range(1..=5)),
                    note: None,
                })?;
            } else if x < 0.85 {
                let sessions = d.client.sessions_between(i64::MIN, i64::MAX)?;
                if let Some(s) = sessions.choose(rng) {
                    d.client
                        .rsvp(s.id, pick(rng, &["yes", "no", "maybe"]), None)?;
                }
            } else {
                // Another device's check-in, edited or deleted here: concurrent writes to merge.
                let checkins = d.client.checkins()?;
                if let Some(c) = checkins.choose(rng) {
                    let (field, value) = if rng.gen_bool(0.8) {
                        ("intensity", json!(rng.gen_range(0..=10)))
                    } else {
                        ("_deleted", json!(true))
                    };
                    d.client.write_fields(&[FieldWrite {
                        key: DocKey {
                            patient,
                            kind: DocKind::Checkin,
                            doc: c.id,
                        },
                        field: field.into(),
                        value,
                    }])?;
                }
            }
        }
    }
    Ok(())
}

fn canonical(states: Vec<FieldState>) -> Vec<String> {
    let mut v: Vec<String> = states
        .into_iter()
        .map(|s| serde_json::to_string(&s).unwrap_or_default())
        .collect();
    v.sort();
    v
}

fn diff(label: &str, expected: &[String], actual: &[String], out: &mut Vec<String>) {
    if expected == actual {
        return;
    }
    let e: BTreeSet<&String> = expected.iter().collect();
    let a: BTreeSet<&String> = actual.iter().collect();
    out.push(format!(
        "{label}: {} field states missing, {} unexpected (of {} expected)",
        e.difference(&a).count(),
        a.difference(&e).count(),
        expected.len()
    ));
}

async fn check(
    env: &Env,
    devices: &mut [Device],
    written: &BTreeMap<Uuid, Op>,
    acknowledged: &BTreeSet<Uuid>,
    password: &Secret,
    report: &mut FleetReport,
) -> Result<(), FleetError> {
    let out = &mut report.mismatches;
    // The truth: every op any device wrote, merged by sync-core.
    let mut truth = Replica::new();
    for op in written.values() {
        if let Err(r) = truth.apply(op.clone()) {
            out.push(format!("op {} fails its own schema: {:?}", op.id, r.code));
        }
    }
    for id in acknowledged {
        if !written.contains_key(id) {
            out.push(format!(
                "the server acknowledged op {id}, which no device wrote"
            ));
        }
    }
    let mut by_patient: BTreeMap<Uuid, Vec<FieldState>> = BTreeMap::new();
    for s in truth.states() {
        by_patient.entry(s.patient).or_default().push(s);
    }
    let expected = |patients: &[Uuid]| -> Vec<String> {
        canonical(
            patients
                .iter()
                .flat_map(|p| by_patient.get(p).cloned().unwrap_or_default())
                .collect(),
        )
    };
    report.fields_checked = truth.len();

    let mut emails: BTreeMap<Uuid, String> = BTreeMap::new();
    for d in devices.iter_mut() {
        let store = d.client.store();
        let outbox = store.outbox_len().map_err(ClientError::from)?;
        if outbox > 0 {
            out.push(format!(
                "device {}: {outbox} ops still in the outbox",
                d.label
            ));
        }
        let refused = store.rejected().map_err(ClientError::from)?;
        if let Some(r) = refused.first() {
            out.push(format!(
                "device {}: {} ops refused, first {}",
                d.label,
                refused.len(),
                r.code
            ));
        }
        let patients = match &d.owner {
            Owner::Patient(p) => {
                if let Some(info) = store.device().map_err(ClientError::from)? {
                    emails.insert(*p, info.email);
                }
                vec![*p]
            }
            Owner::Counselor(ps) => ps.clone(),
        };
        let actual = canonical(store.states().map_err(ClientError::from)?);
        diff(
            &format!("device {}", d.label),
            &expected(&patients),
            &actual,
            out,
        );
    }

    // A brand-new phone of each patient bootstraps from the server alone.
    let mut counselor = devices
        .iter_mut()
        .find(|d| matches!(d.owner, Owner::Counselor(_)));
    for (patient, email) in &emails {
        let mut fresh = env.plain()?;
        fresh
            .login(&env.server, email, password, "new phone")
            .await?;
        fresh.sync().await?;
        let actual = canonical(fresh.store().states().map_err(ClientError::from)?);
        diff(
            &format!("new phone of {patient}"),
            &expected(&[*patient]),
            &actual,
            out,
        );
        // The server's read models, as the patient's own screens and the counselor's see them.
        compare_read_models(&mut fresh, *patient, &truth, out).await;
        fresh.logout(false).await?;
        if let Some(c) = counselor.as_mut() {
            if matches!(&c.owner, Owner::Counselor(ps) if ps.contains(patient)) {
                compare_read_models(&mut c.client, *patient, &truth, out).await;
            }
        }
    }
    Ok(())
}

/// Reads every page of a patient's list endpoint.
async fn list_all<T: crate::transport::Transport>(
    c: &mut Client<T>,
    patient: Uuid,
    what: &str,
) -> Result<Vec<Value>, ClientError> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/patients/{patient}/{what}?limit=500");
        if let Some(c) = &cursor {
            path.push_str("&cursor=");
            path.push_str(c);
        }
        let page = c.get_json(&path).await?;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return Ok(items),
        }
    }
}

/// A view as the read model lists it: without `patient`, keyed by id, sets sorted.
fn normalise(mut v: Value) -> Option<(String, Value)> {
    let obj = v.as_object_mut()?;
    obj.remove("patient");
    for set in ["triggers"] {
        if let Some(Value::Array(a)) = obj.get_mut(set) {
            a.sort_by_key(|x| x.to_string());
        }
    }
    // The read model says `null` for a flag never written; the view says `false`.
    for flag in ["crisis"] {
        if obj.get(flag) == Some(&Value::Null) {
            obj.insert(flag.into(), Value::Bool(false));
        }
    }
    let id = obj.get("id")?.as_str()?.to_string();
    Some((id, v))
}

fn views<V: View + serde::Serialize>(
    truth: &Replica,
    patient: Uuid,
    keep: impl Fn(&V) -> bool,
) -> BTreeMap<String, Value> {
    truth
        .list::<V>()
        .into_iter()
        .filter(|v| keep(v))
        .filter_map(|v| serde_json::to_value(&v).ok())
        .filter(|v| v["patient"] == json!(patient))
        .filter_map(normalise)
        .collect()
}

async fn compare_read_models<T: crate::transport::Transport>(
    c: &mut Client<T>,
    patient: Uuid,
    truth: &Replica,
    out: &mut Vec<String>,
) {
    let who = c.device().map(|d| d.role).unwrap_or_default();
    let expected = [
        (
            "checkins",
            views::<sync_core::CheckIn>(truth, patient, |c| c.recorded_at.is_some()),
        ),
        (
            "exercises",
            views::<sync_core::Exercise>(truth, patient, |x| x.started_at.is_some()),
        ),
        (
            "sessions",
            views::<sync_core::Session>(truth, patient, |s| s.starts_at.is_some()),
        ),
    ];
    for (what, want) in expected {
        match list_all(c, patient, what).await {
            Ok(items) => {
                let got: BTreeMap<String, Value> =
                    items.into_iter().filter_map(normalise).collect();
                if got != want {
                    let differing = want.iter().filter(|(k, v)| got.get(*k) != Some(v)).count();
                    out.push(format!(
                        "{what} of {patient} read by the {who}: {} listed, {} expected, {differing} differ",
                        got.len(),
                        want.len()
                    ));
                }
            }
            Err(e) => out.push(format!("{what} of {patient} read by the {who}: {e}")),
        }
    }
}
