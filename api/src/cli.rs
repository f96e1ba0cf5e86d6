//! The `tether-api` command line: `serve` (the default), `migrate`, `admin create` and `demo`.
//! `--help` (anywhere) prints the usage and `--version` the version, both exiting 0. Passwords are
//! never taken from the command line: typed on a terminal they are read without echo after a
//! prompt on stderr; piped, they are the first line of standard input.

use crate::auth::password;
use crate::clock::now_ms;
use crate::domain::{display_name, Email, Role};
use crate::repo::accounts;
use crate::secret_input::read_new_password;
use crate::settings::{DatabaseSettings, Settings};
use crate::startup::{open_database, Application};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
tether-api: the Tether server

USAGE:
  tether-api --help | --version
  tether-api [serve] [--dev] [--bind ADDR] [--database-url URL]
      Run the server (migrations are applied at start-up).
  tether-api migrate [--database-url URL]
      Apply pending database migrations and exit.
  tether-api admin create --email EMAIL --name NAME --clinic CLINIC
      Create a clinic admin (and the clinic if it is new). On a terminal the password is asked
      for twice without echo; otherwise it is the first line of standard input. It never
      appears in the process list or shell history.
  tether-api demo [--database-url URL] [--days 90] [--patients 6] [--seed 1] [--password-stdin] [--json]
      Create a demo clinic: a counselor and 5-8 consenting patients (plus one who has not
      consented) with DAYS of synthetic check-ins, exercises, sessions and attendance, written
      through the sync push path. Prints the counselor's sign-in email and a password it
      generates, shared by every demo account; with --password-stdin the password is read from
      the first line of standard input instead and not printed. --json prints a JSON summary.
      Refuses a database that already holds the demo clinic.

Configuration comes from the environment; see the README's table. DATABASE_URL defaults to
./tether.db (SQLite). Outside --dev, TETHER_JWT_SECRET (at least 32 bytes) is required.";

/// What `--version` prints.
pub fn version() -> String {
    format!("tether-api {}", env!("CARGO_PKG_VERSION"))
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let asks = |names: &[&str]| args.iter().any(|a| names.contains(&a.as_str()));
    let result = match args.first().map(String::as_str) {
        _ if asks(&["-h", "--help"]) => {
            println!("{USAGE}");
            Ok(())
        }
        _ if asks(&["-V", "--version"]) => {
            println!("{}", version());
            Ok(())
        }
        Some("help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("migrate") => migrate(&args[1..]),
        Some("admin") => match args.get(1).map(String::as_str) {
            Some("create") => create_admin(&args[2..]),
            _ => Err(format!("unknown admin command\n\n{USAGE}")),
        },
        Some("demo") => crate::demo::run(&args[1..]),
        Some("serve") => serve(&args[1..]),
        Some(flag) if flag.starts_with("--") => serve(&args),
        None => serve(&[]),
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tether-api: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: &[String]) -> Result<(), String> {
    let settings = Settings::from_env_and_args(args).map_err(|e| e.to_string())?;
    crate::telemetry::init(&settings.log);
    if settings.dev_mode {
        tracing::warn!(
            ephemeral_key = settings.auth.ephemeral_key,
            "DEVELOPMENT MODE: not for patient data. {}",
            if settings.auth.ephemeral_key {
                "Access tokens are signed with a key generated for this process; they die with it."
            } else {
                "A signing key was configured."
            }
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let database = settings.database.redacted();
        let app = Application::build(settings).map_err(|e| e.to_string())?;
        tracing::info!(port = app.port(), database = %database, "tether-api listening");
        // The one line on stdout: how scripts and the test harness learn the port.
        println!("tether-api listening on port {}", app.port());
        app.run_until_stopped()
            .await
            .map_err(|e| format!("server error: {e}"))?;
        tracing::info!("tether-api stopped");
        Ok(())
    })
}

/// Parses `--name value` / `--name=value` options into pairs.
fn options<'a>(args: &'a [String], known: &[&str]) -> Result<Vec<(&'a str, String)>, String> {
    let mut out = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        if !known.contains(&name) {
            return Err(format!("unknown option {name}\n\n{USAGE}"));
        }
        let value = inline
            .or_else(|| iter.next().cloned())
            .ok_or_else(|| format!("{name} needs a value"))?;
        out.push((name, value));
    }
    Ok(out)
}

fn database_settings(opts: &[(&str, String)]) -> DatabaseSettings {
    let url = opts
        .iter()
        .find(|(n, _)| *n == "--database-url")
        .map(|(_, v)| v.clone())
        .or_else(|| {
            std::env::var("DATABASE_URL")
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .unwrap_or_else(|| "./tether.db".to_string());
    DatabaseSettings::from_url(&url, 2, Duration::from_secs(10))
}

fn migrate(args: &[String]) -> Result<(), String> {
    let opts = options(args, &["--database-url"])?;
    let database = database_settings(&opts);
    let pool = crate::db::build_pool(&database)?;
    let mut conn = pool.get().map_err(|e| format!("cannot connect: {e}"))?;
    let applied = crate::db::run_migrations(&mut conn)?;
    println!("{applied} migration(s) applied to {}", database.redacted());
    Ok(())
}

fn create_admin(args: &[String]) -> Result<(), String> {
    let opts = options(args, &["--email", "--name", "--clinic", "--database-url"])?;
    let get = |name: &str| {
        opts.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("{name} is required\n\n{USAGE}"))
    };
    let email = Email::parse(&get("--email")?).map_err(|e| e.to_string())?;
    let name = display_name(&get("--name")?, "--name").map_err(|e| e.to_string())?;
    let clinic = display_name(&get("--clinic")?, "--clinic").map_err(|e| e.to_string())?;

    let password = read_new_password(&format!(
        "password for the new admin (at least {} characters): ",
        password::MIN_PASSWORD_CHARS
    ))?;
    password::check_strength(&password).map_err(|e| e.to_string())?;

    let database = database_settings(&opts);
    let settings_for_open = Settings {
        database,
        ..Settings::from_env_and_args(&["--dev".into()]).map_err(|e| e.to_string())?
    };
    let pool = open_database(&settings_for_open).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    let hash = runtime
        .block_on(async { password::hash_now_for(email.as_str(), &password) })
        .map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| format!("cannot connect: {e}"))?;
    let now = now_ms();
    let (clinic_id, user_id) = crate::db::write_tx(&mut conn, |conn| {
        let clinic_id = accounts::ensure_clinic(conn, &clinic, now)?;
        let new = accounts::NewUser {
            clinic_id,
            role: Role::Admin,
            email: &email,
            display_name: &name,
            password_hash: Some(&hash),
        };
        let user_id = accounts::insert_user(conn, &new, now)?;
        Ok::<_, crate::error::ApiError>((clinic_id, user_id))
    })
    .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::json!({ "id": user_id, "clinic_id": clinic_id, "email": email.as_str(), "role": "admin" })
    );
    Ok(())
}
