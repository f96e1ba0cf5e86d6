//! `tether-fleet`: starts the real server binary on a fresh database and runs the simulator
//! against it — the correctness check (default) or the load benchmark (`--load`).

use std::path::PathBuf;
use std::process::ExitCode;

use super::server::{sibling_server_binary, Backend, SpawnedServer, ADMIN_EMAIL, ADMIN_PASSWORD};
use super::{run, FleetConfig};
use crate::secret::Secret;

const USAGE: &str = "\
tether-fleet — simulated patients' phones and counselors against the real server

usage: tether-fleet [--backend sqlite|postgres] [--postgres-url URL] [--server-bin PATH] [options]

correctness (default): every device alternates offline writing and random syncs with injected
faults, then all must agree exactly with each other and with the server.
  --patients N (6)  --counselors N (2)  --max-devices N (3)  --rounds N (4)
  --writes N (3, per device per round)  --seed N (7)
  --drop P (0.1)  --duplicate P (0.1)  --kill P (0.1)   chances per sync request

load (--load): many devices each syncing about once a minute; reports syncs/s, ops/s, sync
latency percentiles and the server's peak memory, then steps the rate up to saturation.
  --devices N (10000)  --devices-per-patient N (4)  --minutes M (1, at the nominal rate)
  --steps R1,R2,... (syncs/s of the saturation steps)  --step-secs S (20)

The server is `tether-api` from the same target directory unless --server-bin says otherwise;
PostgreSQL needs --postgres-url (a database is created there and dropped afterwards).";

fn value<T: std::str::FromStr>(args: &[String], name: &str) -> Result<Option<T>, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .map(Some)
            .ok_or_else(|| format!("{name} needs a valid value")),
    }
}

fn check_known(args: &[String]) -> Result<(), String> {
    const WITH_VALUE: &[&str] = &[
        "--backend",
        "--postgres-url",
        "--server-bin",
        "--patients",
        "--counselors",
        "--max-devices",
        "--rounds",
        "--writes",
        "--seed",
        "--drop",
        "--duplicate",
        "--kill",
        "--devices",
        "--devices-per-patient",
        "--minutes",
        "--steps",
        "--step-secs",
    ];
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if WITH_VALUE.contains(&a) {
            i += 2;
        } else if a == "--load" {
            i += 1;
        } else {
            return Err(format!("unknown argument `{a}`"));
        }
    }
    Ok(())
}

async fn start(args: &[String]) -> Result<(SpawnedServer, Backend), String> {
    let backend = match value::<String>(args, "--backend")?.as_deref() {
        None | Some("sqlite") => Backend::Sqlite,
        Some("postgres") => Backend::Postgres(
            value(args, "--postgres-url")?
                .ok_or("--backend postgres needs --postgres-url postgres://user@host:port/db")?,
        ),
        Some(other) => return Err(format!("unknown backend `{other}`: sqlite or postgres")),
    };
    let binary: PathBuf = match value::<PathBuf>(args, "--server-bin")? {
        Some(p) => p,
        None => sibling_server_binary().ok_or(
            "no tether-api beside this binary: build it (cargo build --release -p api) or pass --server-bin",
        )?,
    };
    let b = backend.clone();
    let server = tokio::task::spawn_blocking(move || SpawnedServer::start(&binary, &b, &[]))
        .await
        .map_err(|e| e.to_string())??;
    Ok((server, backend))
}

async fn correctness(args: &[String]) -> Result<bool, String> {
    let d = FleetConfig::default();
    let cfg = FleetConfig {
        patients: value(args, "--patients")?.unwrap_or(d.patients),
        counselors: value(args, "--counselors")?.unwrap_or(d.counselors),
        max_devices: value(args, "--max-devices")?.unwrap_or(d.max_devices),
        rounds: value(args, "--rounds")?.unwrap_or(d.rounds),
        writes_per_round: value(args, "--writes")?.unwrap_or(d.writes_per_round),
        seed: value(args, "--seed")?.unwrap_or(d.seed),
        drop_chance: value(args, "--drop")?.unwrap_or(d.drop_chance),
        duplicate_chance: value(args, "--duplicate")?.unwrap_or(d.duplicate_chance),
        kill_chance: value(args, "--kill")?.unwrap_or(d.kill_chance),
        ..d
    };
    let (server, backend) = start(args).await?;
    let report = run(&server.url, ADMIN_EMAIL, &Secret::new(ADMIN_PASSWORD), cfg)
        .await
        .map_err(|e| e.to_string())?;
    let name = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres(_) => "PostgreSQL",
    };
    println!("{report} [{name}]");
    for m in &report.mismatches {
        println!("  mismatch: {m}");
    }
    Ok(report.ok())
}

async fn main_async(args: Vec<String>) -> Result<bool, String> {
    check_known(&args)?;
    if args.iter().any(|a| a == "--load") {
        let (mut server, backend) = start(&args).await?;
        super::load::main(&args, &mut server, &backend).await
    } else {
        correctness(&args).await
    }
}

/// Runs `tether-fleet` with the process arguments.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tether-fleet: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(main_async(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("tether-fleet: {e}");
            ExitCode::from(2)
        }
    }
}
