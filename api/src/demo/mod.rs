//! `tether-api demo`: fills a database with a demo clinic — an admin, a counselor, patients with
//! months of synthetic check-ins, exercises, sessions and attendance — so a newcomer sees a
//! living dashboard a minute after cloning. Every record goes through the same repositories and
//! the same sync push path as real traffic (see [`load`]), so trends and flags are real.
//!
//! Deterministic: random choices come only from `--seed`, so the same seed at the same moment
//! tells the same story (account ids and the generated password differ); the days covered end
//! at the run's own today. Run on a database that already holds the demo clinic, it refuses
//! and says so, changing nothing.

pub mod cast;
pub mod load;
pub mod story;

use crate::clock::now_ms;
use crate::secret::Secret;
use crate::settings::DatabaseSettings;
use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::OsRng;
use std::io::Write;
use std::time::{Duration, Instant};

/// Where to read about the options.
const SEE_HELP: &str = "see tether-api --help";

const DEFAULT_DAYS: i64 = 90;
const DAYS: std::ops::RangeInclusive<i64> = 14..=365;
const DEFAULT_PATIENTS: usize = 6;

/// Parsed command line.
#[derive(Debug)]
struct Args {
    database_url: Option<String>,
    days: i64,
    patients: usize,
    seed: u64,
    password_stdin: bool,
    json: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut out = Args {
        database_url: None,
        days: DEFAULT_DAYS,
        patients: DEFAULT_PATIENTS,
        seed: 1,
        password_stdin: false,
        json: false,
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        match name {
            "--password-stdin" => out.password_stdin = true,
            "--json" => out.json = true,
            "--database-url" | "--days" | "--patients" | "--seed" => {
                let value = inline
                    .or_else(|| iter.next().cloned())
                    .ok_or_else(|| format!("{name} needs a value; {SEE_HELP}"))?;
                let number = |what: &str| {
                    value
                        .parse::<i64>()
                        .map_err(|_| format!("{name} must be {what}, not {value:?}"))
                };
                match name {
                    "--database-url" => out.database_url = Some(value.clone()),
                    "--days" => {
                        out.days = number("a whole number of days")?;
                        if !DAYS.contains(&out.days) {
                            return Err(format!(
                                "--days must be between {} and {}",
                                DAYS.start(),
                                DAYS.end()
                            ));
                        }
                    }
                    "--patients" => {
                        let n = number("a whole number")?;
                        out.patients = usize::try_from(n)
                            .ok()
                            .filter(|n| cast::PATIENTS.contains(n))
                            .ok_or_else(|| {
                                format!(
                                    "--patients must be between {} and {} (one patient without consent is always added)",
                                    cast::PATIENTS.start(),
                                    cast::PATIENTS.end()
                                )
                            })?;
                    }
                    _ => {
                        out.seed = value
                            .parse::<u64>()
                            .map_err(|_| format!("--seed must be a whole number, not {value:?}"))?;
                    }
                }
            }
            _ => return Err(format!("unknown option {name} for demo; {SEE_HELP}")),
        }
    }
    Ok(out)
}

/// Runs `tether-api demo`.
pub fn run(args: &[String]) -> Result<(), String> {
    let args = parse(args)?;
    let password = if args.password_stdin {
        crate::secret_input::read_new_password("password for every demo account: ")?
    } else {
        Secret::new(Alphanumeric.sample_string(&mut OsRng, 16))
    };
    crate::auth::password::check_strength(&password).map_err(|e| e.to_string())?;

    let url = args
        .database_url
        .clone()
        .or_else(|| {
            std::env::var("DATABASE_URL")
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .unwrap_or_else(|| "./tether.db".to_string());
    let database = DatabaseSettings::from_url(&url, 2, Duration::from_secs(30));
    let pool = crate::db::build_pool(&database)?;
    let mut conn = pool.get().map_err(|e| format!("cannot connect: {e}"))?;
    crate::db::run_migrations(&mut conn)?;

    let started = Instant::now();
    let options = load::DemoOptions {
        days: args.days,
        patients: args.patients,
        seed: args.seed,
        password,
    };
    // This is the operator's own terminal: an internal failure says what failed (our own
    // messages and database errors; the demo's data is synthetic).
    let summary = load::load(&mut conn, &options, now_ms()).map_err(|e| match e {
        crate::error::ApiError::Internal(cause) => format!(
            "the demo could not be loaded: {}",
            crate::error::CauseChain(cause.as_ref())
        ),
        other => other.to_string(),
    })?;
    let elapsed = started.elapsed().as_secs_f64();
    let shown_password = (!args.password_stdin).then(|| options.password.expose().clone());

    let text = if args.json {
        let mut value = serde_json::to_value(&summary).map_err(|e| e.to_string())?;
        if let Some(object) = value.as_object_mut() {
            object.insert("password".into(), serde_json::json!(shown_password));
            object.insert("database".into(), serde_json::json!(database.redacted()));
        }
        format!("{value}\n")
    } else {
        report(
            &summary,
            &database.redacted(),
            elapsed,
            shown_password.as_deref(),
        )
    };
    // One write, and a closed pipe (`| head`) is an error message, not a panic.
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write the summary: {e}"))
}

/// The summary for people: what was made, how to start the server, and whom to sign in as.
fn report(
    summary: &load::DemoSummary,
    database: &str,
    elapsed_s: f64,
    password: Option<&str>,
) -> String {
    use std::fmt::Write as _;
    let consenting = summary.patients.iter().filter(|p| p.consented).count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Demo clinic \"{}\" created in {database} in {elapsed_s:.1} s: {consenting} patients who \
         consent and {} who does not; {} days of history with {} check-ins, {} exercises and {} \
         sessions ({} ops through the sync push path).\n",
        summary.clinic,
        summary.patients.len() - consenting,
        summary.days,
        summary.checkins,
        summary.exercises,
        summary.sessions,
        summary.ops,
    );
    let _ = writeln!(
        out,
        "Start the server:  tether-api --dev   (from a checkout: cargo run --release -p api -- --dev)"
    );
    let _ = writeln!(out, "Open:              http://127.0.0.1:8080/dashboard");
    let _ = writeln!(out, "Sign in as:        {}", summary.counselor_email);
    let _ = match password {
        Some(p) => writeln!(
            out,
            "Password:          {p}   (generated; every demo account, the admin and the patients too, uses it)"
        ),
        None => writeln!(
            out,
            "Password:          the one given on standard input (every demo account uses it)"
        ),
    };
    let _ = writeln!(out, "Admin:             {}", summary.admin_email);
    let _ = writeln!(out, "Patients:");
    for p in &summary.patients {
        let note = if p.consented {
            ""
        } else {
            "   (has not consented: the dashboard must not show them)"
        };
        let _ = writeln!(out, "  {:<18} {}{note}", p.name, p.email);
    }
    out
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests fail by panicking")]

    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_parse_with_spaces_or_equals_signs() {
        let a = parse(&args(&[
            "--days=30",
            "--patients",
            "7",
            "--seed",
            "42",
            "--json",
        ]))
        .unwrap();
        assert_eq!((a.days, a.patients, a.seed, a.json), (30, 7, 42, true));
        assert!(!a.password_stdin);
    }

    #[test]
    fn out_of_range_or_unknown_options_are_refused_with_a_reason() {
        assert!(parse(&args(&["--days", "3"]))
            .unwrap_err()
            .contains("between 14 and 365"));
        assert!(parse(&args(&["--patients", "20"]))
            .unwrap_err()
            .contains("between 5 and 8"));
        assert!(parse(&args(&["--days", "many"]))
            .unwrap_err()
            .contains("whole number"));
        assert!(parse(&args(&["--colour"]))
            .unwrap_err()
            .contains("unknown option"));
        assert!(parse(&args(&["--seed"]))
            .unwrap_err()
            .contains("needs a value"));
    }
}
