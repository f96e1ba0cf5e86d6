//! Load mode: thousands of simulated devices, each syncing about once a minute with a few new
//! ops, against the real server binary running as its own process. Reports syncs/s, ops/s,
//! p50/p95/p99 sync latency (push + every pull page, as a phone's sync is) and the server's peak
//! resident memory (`VmHWM`, reset after set-up so sign-in hashing does not count), then steps
//! the rate up to find where p99 crosses 100 ms.
//!
//! A load device keeps its state in memory (token, HLC, device sequence, cursor) and speaks the
//! same protocol as [`crate::Client`] with the same wire types: at ten thousand devices an
//! SQLite file each would measure the simulator's disk, not the server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::json;
use sync_core::op::op_id;
use sync_core::{CheckIn, Clock, DocKind, Op, Writes};
use tether_test_support::http;
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::server::{Backend, SpawnedServer, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::client::system_ms;
use crate::wire::{PullResponse, PushRequest, PushResponse, TokenResponse};

const PASSWORD: &str = "load simulator password";

struct LoadDevice {
    access: String,
    patient: Uuid,
    next_seq: u64,
    clock: Clock<fn() -> u64>,
    cursor: Option<String>,
}

#[derive(Default)]
struct Tally {
    latencies_us: Mutex<Vec<u64>>,
    ops: AtomicU64,
    errors: AtomicU64,
}

/// One measured phase.
#[derive(Debug, Clone)]
pub struct Phase {
    /// The rate asked for, syncs/s.
    pub target: f64,
    /// Syncs completed per second.
    pub syncs_per_s: f64,
    /// Ops accepted per second.
    pub ops_per_s: f64,
    /// Latency percentiles, ms.
    pub p50_ms: f64,
    /// See `p50_ms`.
    pub p95_ms: f64,
    /// See `p50_ms`.
    pub p99_ms: f64,
    /// Failed syncs.
    pub errors: u64,
    /// The server's peak resident memory during the phase, MiB.
    pub peak_rss_mib: f64,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a valid value")),
    }
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let url = format!("{}{path}", self.base);
        let r = http::post_json(&self.http, &url, token, &body)
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let v: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{path}: {status} {}", v["error"]["code"]));
        }
        Ok(v)
    }
}

fn tokens(v: serde_json::Value) -> Result<TokenResponse, String> {
    serde_json::from_value(v).map_err(|e| e.to_string())
}

/// Creates `patients` patients with `per_patient` devices each; set-up runs `parallel` sign-ins
/// at a time (each is an argon2 hash on the server).
async fn setup(
    api: &Arc<Api>,
    devices: usize,
    per_patient: usize,
) -> Result<Vec<LoadDevice>, String> {
    let admin = tokens(
        api.post(
            "/v1/auth/login",
            None,
            json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "device_name": "load admin"}),
        )
        .await?,
    )?;
    let patients = devices.div_ceil(per_patient.max(1));
    let counselors = (patients / 500).max(1);
    let mut counselor_tokens = Vec::new();
    for i in 0..counselors {
        let c = api
            .post("/v1/clinicians", Some(&admin.access_token),
                json!({"email": format!("load-c{i}@load.test"), "display_name": format!("Counselor {i}")}))
            .await?;
        let code = c["activation_code"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let t = tokens(
            api.post(
                "/v1/auth/activate",
                None,
                json!({"code": code, "password": PASSWORD, "device_name": "desk"}),
            )
            .await?,
        )?;
        counselor_tokens.push(t.access_token);
    }
    let limit = Arc::new(Semaphore::new(8));
    let mut set = tokio::task::JoinSet::new();
    for j in 0..patients {
        let api = api.clone();
        let counselor = counselor_tokens[j % counselor_tokens.len()].clone();
        let limit = limit.clone();
        let n = per_patient.min(devices - j * per_patient);
        set.spawn(async move {
            let _permit = limit.acquire().await.map_err(|e| e.to_string())?;
            let email = format!("load-p{j}@load.test");
            let e = api
                .post("/v1/patients", Some(&counselor),
                    json!({"email": email, "display_name": format!("Patient {j}")}))
                .await?;
            let code = e["enrollment_code"].as_str().unwrap_or_default().to_string();
            let mut out = Vec::new();
            for k in 0..n {
                let body = if k == 0 {
                    api.post("/v1/auth/activate", None,
                        json!({"code": code, "password": PASSWORD, "device_name": "phone 0"}))
                        .await?
                } else {
                    api.post("/v1/auth/login", None,
                        json!({"email": email, "password": PASSWORD, "device_name": format!("phone {k}")}))
                        .await?
                };
                let t = tokens(body)?;
                let node = crate::store::node_of(t.device_id);
                out.push(LoadDevice {
                    access: t.access_token,
                    patient: t.user.id,
                    next_seq: 1,
                    clock: Clock::new(node, system_ms as fn() -> u64, 300_000),
                    cursor: None,
                });
            }
            Ok::<_, String>(out)
        });
    }
    let mut all = Vec::with_capacity(devices);
    while let Some(r) = set.join_next().await {
        all.extend(r.map_err(|e| e.to_string())??);
    }
    Ok(all)
}

/// One sync: push a check-in's ops (four field writes), then pull until `has_more` is false.
async fn sync_once(api: &Api, d: &mut LoadDevice, tally: &Tally) -> Result<(), String> {
    let doc = Uuid::now_v7();
    let now = i64::try_from(system_ms()).unwrap_or(i64::MAX);
    let (trigger, intensity, randoms) = {
        let mut rng = rand::thread_rng();
        let catalog = sync_core::schema::TRIGGERS.builtin;
        let randoms: [[u8; 10]; 4] = rng.gen();
        let intensity: u8 = rng.gen_range(0..=10);
        (catalog[rng.gen_range(0..catalog.len())], intensity, randoms)
    };
    let fields = Writes::<CheckIn>::new()
        .recorded_at(Some(now))
        .tz_offset_min(Some(-300))
        .intensity(Some(intensity))
        .triggers(&[trigger.to_string()])
        .into_fields();
    let mut ops = Vec::with_capacity(fields.len());
    for ((field, value), random) in fields.into_iter().zip(randoms) {
        let hlc = d.clock.now().map_err(|e| e.to_string())?;
        ops.push(Op {
            id: op_id(&hlc, &random),
            patient: d.patient,
            kind: DocKind::Checkin,
            doc,
            field,
            value,
            hlc,
            device_seq: d.next_seq,
        });
        d.next_seq += 1;
    }
    let r = api
        .http
        .post(format!("{}/v1/sync/push", api.base))
        .bearer_auth(&d.access)
        .json(&PushRequest { ops })
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("push: {}", r.status()));
    }
    let push: PushResponse = r.json().await.map_err(|e| e.to_string())?;
    tally
        .ops
        .fetch_add(push.accepted.len() as u64, Ordering::Relaxed);
    loop {
        let mut url = format!("{}/v1/sync/pull?limit=500", api.base);
        if let Some(c) = &d.cursor {
            url.push_str("&cursor=");
            url.push_str(c);
        }
        let r = api
            .http
            .get(url)
            .bearer_auth(&d.access)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("pull: {}", r.status()));
        }
        let page: PullResponse = r.json().await.map_err(|e| e.to_string())?;
        for s in &page.changes {
            let _ = d.clock.observe(s.hlc);
        }
        d.cursor = Some(page.cursor);
        if !page.has_more {
            return Ok(());
        }
    }
}

/// Runs every device at `rate` syncs/s in total for `secs` seconds.
async fn phase(
    api: &Arc<Api>,
    devices: Vec<LoadDevice>,
    server: &SpawnedServer,
    rate: f64,
    secs: f64,
) -> (Vec<LoadDevice>, Phase) {
    let _ = std::fs::write(format!("/proc/{}/clear_refs", server.pid()), "5");
    let tally = Arc::new(Tally::default());
    let n = devices.len().max(1) as f64;
    let interval = Duration::from_secs_f64(n / rate.max(0.001));
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let mut set = tokio::task::JoinSet::new();
    for mut d in devices {
        let api = api.clone();
        let tally = tally.clone();
        let first = interval.mul_f64(rand::thread_rng().gen::<f64>());
        set.spawn(async move {
            let mut next = start + first;
            loop {
                tokio::time::sleep_until(next.min(end).into()).await;
                if Instant::now() >= end {
                    return d;
                }
                let t0 = Instant::now();
                match sync_once(&api, &mut d, &tally).await {
                    Ok(()) => {
                        let us = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
                        if let Ok(mut l) = tally.latencies_us.lock() {
                            l.push(us);
                        }
                    }
                    Err(_) => {
                        tally.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                // About once per interval, jittered ±10 % so devices do not fall into step.
                next += interval.mul_f64(0.9 + 0.2 * rand::thread_rng().gen::<f64>());
            }
        });
    }
    let mut back = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(d) = r {
            back.push(d);
        }
    }
    // Rates over the measured window: a sync counts when it started inside it.
    let elapsed = secs;
    let mut lat = tally
        .latencies_us
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    lat.sort_unstable();
    let peak = server
        .memory_kib()
        .map_or(0.0, |(_, hwm)| hwm as f64 / 1024.0);
    let p = Phase {
        target: rate,
        syncs_per_s: lat.len() as f64 / elapsed,
        ops_per_s: tally.ops.load(Ordering::Relaxed) as f64 / elapsed,
        p50_ms: percentile(&lat, 0.50),
        p95_ms: percentile(&lat, 0.95),
        p99_ms: percentile(&lat, 0.99),
        errors: tally.errors.load(Ordering::Relaxed),
        peak_rss_mib: peak,
    };
    (back, p)
}

fn line(label: &str, p: &Phase) -> String {
    format!(
        "{label}: target {:.0} syncs/s → {:.1} syncs/s, {:.0} ops/s, p50/p95/p99 {:.1}/{:.1}/{:.1} ms, {} errors, server peak RSS {:.0} MiB",
        p.target, p.syncs_per_s, p.ops_per_s, p.p50_ms, p.p95_ms, p.p99_ms, p.errors, p.peak_rss_mib
    )
}

/// The load benchmark; returns whether the nominal phase met its targets (p99 < 50 ms, server
/// under 200 MiB).
pub async fn main(
    args: &[String],
    server: &mut SpawnedServer,
    backend: &Backend,
) -> Result<bool, String> {
    let devices: usize = arg(args, "--devices", 10_000)?;
    let per_patient: usize = arg(args, "--devices-per-patient", 4)?;
    let minutes: f64 = arg(args, "--minutes", 1.0)?;
    let step_secs: f64 = arg(args, "--step-secs", 20.0)?;
    let steps: Vec<f64> = arg(args, "--steps", "250,400,600,900".to_string())?
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let name = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres(_) => "PostgreSQL",
    };
    let api = Arc::new(Api {
        base: server.url.clone(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?,
    });
    let t0 = Instant::now();
    let fleet = setup(&api, devices, per_patient).await?;
    let setup_peak = server
        .memory_kib()
        .map_or(0.0, |(_, hwm)| hwm as f64 / 1024.0);
    println!(
        "load [{name}]: {} devices of {} patients signed in in {:.0} s (server peak RSS during set-up {setup_peak:.0} MiB)",
        fleet.len(),
        devices.div_ceil(per_patient.max(1)),
        t0.elapsed().as_secs_f64()
    );
    let restart = std::time::Instant::now();
    tokio::task::block_in_place(|| server.restart())?;
    let api = Arc::new(Api {
        base: server.url.clone(),
        http: api.http.clone(),
    });
    println!(
        "load [{name}]: server restarted on the same database for the measurement ({:.1} s)",
        restart.elapsed().as_secs_f64()
    );
    let server: &SpawnedServer = server;
    let nominal_rate = fleet.len() as f64 / 60.0;
    let (fleet, nominal) = phase(&api, fleet, server, nominal_rate, minutes * 60.0).await;
    println!("{}", line("nominal (each device once a minute)", &nominal));
    let met = nominal.p99_ms < 50.0 && nominal.peak_rss_mib < 200.0 && nominal.errors == 0;
    let mut fleet = fleet;
    let mut saturation = None;
    for rate in steps {
        let (back, p) = phase(&api, fleet, server, rate, step_secs).await;
        fleet = back;
        println!("{}", line("step", &p));
        if p.p99_ms > 100.0 || p.syncs_per_s < 0.9 * rate {
            saturation = Some(p);
            break;
        }
    }
    match saturation {
        Some(p) => println!(
            "saturation [{name}]: p99 crosses 100 ms (or throughput falls behind) at a target of {:.0} syncs/s (achieved {:.0}, p99 {:.1} ms)",
            p.target, p.syncs_per_s, p.p99_ms
        ),
        None => println!("saturation [{name}]: not reached within the steps given"),
    }
    println!(
        "targets [{name}]: p99 < 50 ms and server < 200 MiB at the nominal rate: {}",
        if met { "met" } else { "NOT met" }
    );
    Ok(met)
}
