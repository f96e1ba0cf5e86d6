//! The `tether` command-line phone (the binary is a thin `main` over [`main`], so the test
//! suite can build the very same program). Everything a patient does on the app, from a shell;
//! every record works offline and syncs when the server is back.
//!
//! State lives in `--home DIR`, else `TETHER_HOME`, else `~/.tether` (created 0700: it holds the
//! session). Passwords and activation codes are read from standard input, never from the command
//! line, so they stay out of the process list and the shell history. On a terminal they are
//! asked for on stderr, and passwords are typed without echo; piped, each is one line.
//!
//! Exit codes: 0 done; 1 failed (the message says why); 2 bad usage; 3 the server is
//! unreachable (local records are kept and sync later); 4 sign in again.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::retry::RetryPolicy;
use crate::{CheckinInput, Client, ClientError, ExerciseInput, Secret, Store, SyncConfig};
use serde_json::{json, Value};
use sync_core::view::PatientText;

const USAGE: &str = "\
tether — the Tether phone, on the command line

usage: tether [--home DIR] [--json] <command> [options]
       tether --help | --version

commands:
  activate --server URL [--device-name NAME]   redeem an enrollment code (code, then password, on stdin)
  login --server URL --email EMAIL [--device-name NAME]   sign in (password on stdin)
  logout [--all-devices]                       end the session (local records stay)
  consent --purpose TEXT                       share your records with your care team
  checkin --intensity 0-10 [--trigger T]... [--mood 1-5] [--lapse] [--substance S]
          [--crisis] [--context TEXT] [--note TEXT|-] [--minutes-ago N]
  exercise --skill S [--minutes N] [--before 0-10] [--after 0-10] [--helpfulness 1-5] [--note TEXT|-]
  sessions [--all]                             today's sessions (or every one on this device)
  rsvp SESSION_ID yes|no|maybe [--note TEXT|-]
  checkins                                     your recent check-ins
  trend [--days N]                             your own trend (default 14 days), offline
  sync                                         push what is waiting, pull what changed
  status                                       outbox size, last sync, who is signed in
  get PATH                                     an authenticated GET of any API path (JSON)
  post PATH JSON                               an authenticated POST (a counselor enrolling a patient, …)

options: --home DIR (or TETHER_HOME), --json (machine-readable output),
         --tz-offset-min N (or TETHER_TZ_OFFSET_MIN; default: the system time zone)
exit codes: 0 ok, 1 failed, 2 bad usage, 3 server unreachable (records kept), 4 sign in again";

/// A failure with its exit code.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: format!("{}\n(see `tether --help`)", message.into()),
        }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        let code = match &e {
            ClientError::Unavailable { .. } | ClientError::Interrupted => 3,
            ClientError::SignInAgain { .. } => 4,
            ClientError::Store(crate::store::StoreError::NotSignedIn) => 4,
            _ => 1,
        };
        Self {
            code,
            message: e.to_string(),
        }
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        ClientError::from(e).into()
    }
}

/// Parsed command line: global options, the command, its options and positionals.
struct Args {
    home: Option<PathBuf>,
    json: bool,
    tz_offset_min: Option<i16>,
    command: String,
    options: Vec<(String, Option<String>)>,
    positionals: Vec<String>,
}

/// Options that take no value.
const FLAGS: &[&str] = &[
    "--json",
    "--lapse",
    "--crisis",
    "--all",
    "--all-devices",
    "--help",
];

fn parse(argv: &[String]) -> Result<Args, Failure> {
    let mut args = Args {
        home: None,
        json: false,
        tz_offset_min: None,
        command: String::new(),
        options: Vec::new(),
        positionals: Vec::new(),
    };
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        if a == "-h" || a == "--help" {
            args.command = "help".into();
            return Ok(args);
        }
        if a == "-V" || a == "--version" {
            args.command = "version".into();
            return Ok(args);
        }
        if let Some(name) = a.strip_prefix("--") {
            let (name, inline) = match name.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (name.to_string(), None),
            };
            let flag = format!("--{name}");
            let value = if FLAGS.contains(&flag.as_str()) {
                None
            } else {
                match inline {
                    Some(v) => Some(v),
                    None => Some(
                        it.next()
                            .ok_or_else(|| Failure::usage(format!("{flag} needs a value")))?
                            .clone(),
                    ),
                }
            };
            match (flag.as_str(), value) {
                ("--home", Some(v)) => args.home = Some(PathBuf::from(v)),
                ("--json", _) => args.json = true,
                ("--tz-offset-min", Some(v)) => args.tz_offset_min = Some(tz_offset(&v)?),
                (_, v) => args.options.push((flag, v)),
            }
        } else if args.command.is_empty() {
            args.command = a.clone();
        } else {
            args.positionals.push(a.clone());
        }
    }
    Ok(args)
}

fn tz_offset(v: &str) -> Result<i16, Failure> {
    v.trim()
        .parse::<i16>()
        .ok()
        .filter(|m| (-14 * 60..=14 * 60).contains(m))
        .ok_or_else(|| Failure::usage("--tz-offset-min must be minutes from UTC, -840 to 840"))
}

impl Args {
    fn check_known(&self, known: &[&str]) -> Result<(), Failure> {
        for (name, _) in &self.options {
            if !known.contains(&name.as_str()) {
                return Err(Failure::usage(format!(
                    "`tether {}` does not take {name}",
                    self.command
                )));
            }
        }
        Ok(())
    }
    fn has(&self, name: &str) -> bool {
        self.options.iter().any(|(n, _)| n == name)
    }
    fn one(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }
    fn all(&self, name: &str) -> Vec<String> {
        self.options
            .iter()
            .filter(|(n, _)| n == name)
            .filter_map(|(_, v)| v.clone())
            .collect()
    }
    fn required(&self, name: &str) -> Result<&str, Failure> {
        self.one(name)
            .ok_or_else(|| Failure::usage(format!("`tether {}` needs {name}", self.command)))
    }
    fn number<N: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
        &self,
        name: &str,
        min: N,
        max: N,
    ) -> Result<Option<N>, Failure> {
        let Some(v) = self.one(name) else {
            return Ok(None);
        };
        match v.trim().parse::<N>() {
            Ok(n) if n >= min && n <= max => Ok(Some(n)),
            _ => Err(Failure::usage(format!(
                "{name} must be a number from {min} to {max}"
            ))),
        }
    }
    /// Free text from an option; `-` reads it from standard input.
    fn text(&self, name: &str) -> Result<Option<PatientText>, Failure> {
        match self.one(name) {
            None => Ok(None),
            Some("-") => {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                    .map_err(|e| Failure::usage(format!("cannot read {name} from stdin: {e}")))?;
                Ok(Some(PatientText::new(s.trim_end().to_string())))
            }
            Some(v) => Ok(Some(PatientText::new(v))),
        }
    }
}

fn home(args: &Args) -> Result<PathBuf, Failure> {
    if let Some(h) = &args.home {
        return Ok(h.clone());
    }
    if let Some(h) = std::env::var_os("TETHER_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".tether")),
        None => Err(Failure::usage(
            "no home directory: pass --home DIR or set TETHER_HOME",
        )),
    }
}

fn open_store(args: &Args) -> Result<Store, Failure> {
    let dir = home(args)?;
    std::fs::create_dir_all(&dir).map_err(|e| Failure {
        code: 1,
        message: format!("cannot create {}: {e}", dir.display()),
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The store holds the session: only its owner may read it.
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(Store::open(&dir.join("phone.db"))?)
}

fn config() -> SyncConfig {
    SyncConfig {
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(200),
            max: Duration::from_secs(5),
        },
        ..SyncConfig::default()
    }
}

/// A client of the server this store belongs to (or `--server` for sign-in).
fn client(args: &Args, store: Store, server: Option<&str>) -> Result<Client, Failure> {
    let mut store = store;
    let url = match server {
        Some(s) => s.trim_end_matches('/').to_string(),
        None => match store.device()? {
            Some(d) => d.server_url,
            None => return Err(ClientError::from(crate::store::StoreError::NotSignedIn).into()),
        },
    };
    let _ = args;
    Ok(Client::open(
        store,
        &url,
        Duration::from_secs(20),
        config(),
    )?)
}

/// Whether what is typed on a terminal is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Echo {
    /// An enrollment code, copied from paper: seeing it avoids typos.
    Shown,
    /// A password.
    Hidden,
}

/// Reads one line from stdin, prompting on stderr when stdin is a terminal (where a hidden one
/// is typed without echo).
fn read_secret(prompt: &str, echo: Echo) -> Result<Secret, Failure> {
    let stdin = std::io::stdin();
    let unreadable = |e: std::io::Error| Failure {
        code: 1,
        message: format!("cannot read from stdin: {e}"),
    };
    let terminal = stdin.is_terminal();
    if terminal {
        eprint!("{prompt}: ");
        let _ = std::io::stderr().flush();
    }
    let line = if terminal && echo == Echo::Hidden {
        rpassword::read_password().map_err(unreadable)?
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line).map_err(unreadable)?;
        line
    };
    let value = line.trim_end_matches(['\r', '\n']).to_string();
    if value.is_empty() {
        return Err(Failure::usage(format!(
            "{prompt}: nothing was given on stdin"
        )));
    }
    Ok(Secret::new(value))
}

/// The local UTC offset: the flag, `TETHER_TZ_OFFSET_MIN`, else the system zone (`TZ`, then
/// `/etc/timezone`, then `/etc/localtime`'s link) from the IANA database compiled in, else UTC.
fn offset_min(args: &Args) -> Result<i16, Failure> {
    if let Some(m) = args.tz_offset_min {
        return Ok(m);
    }
    if let Ok(v) = std::env::var("TETHER_TZ_OFFSET_MIN") {
        return tz_offset(&v);
    }
    let name = std::env::var("TZ")
        .ok()
        .map(|t| t.trim_start_matches(':').to_string())
        .filter(|t| !t.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/timezone")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .or_else(|| {
            std::fs::read_link("/etc/localtime").ok().and_then(|p| {
                let s = p.to_string_lossy().to_string();
                s.split_once("zoneinfo/").map(|(_, n)| n.to_string())
            })
        });
    let Some(tz) = name.and_then(|n| jiff::tz::TimeZone::get(&n).ok()) else {
        return Ok(0);
    };
    let seconds = tz.to_offset(jiff::Timestamp::now()).seconds();
    Ok(i16::try_from(seconds / 60).unwrap_or(0))
}

fn fmt_time(ms: Option<i64>, offset_min: i16) -> String {
    let Some(ms) = ms else {
        return "—".into();
    };
    match jiff::Timestamp::from_millisecond(ms + i64::from(offset_min) * 60_000) {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M").to_string(),
        Err(_) => "—".into(),
    }
}

fn print(args: &Args, value: &Value, human: impl FnOnce() -> String) {
    if args.json {
        println!("{value}");
    } else {
        println!("{}", human());
    }
}

async fn run(args: Args) -> Result<(), Failure> {
    match args.command.as_str() {
        "" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        "version" => {
            println!("tether {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        "activate" => {
            args.check_known(&["--server", "--device-name"])?;
            let server = args.required("--server")?.to_string();
            let code = read_secret("enrollment code", Echo::Shown)?;
            let password = read_secret("choose a password (at least 10 characters)", Echo::Hidden)?;
            let name = args
                .one("--device-name")
                .unwrap_or("tether CLI")
                .to_string();
            let mut c = client(&args, open_store(&args)?, Some(&server))?;
            let d = c.activate(&server, &code, &password, &name).await?;
            print(
                &args,
                &json!({"user_id": d.user_id, "device_id": d.device_id, "role": d.role}),
                || {
                    format!(
                        "activated: {} ({}) on device {}",
                        d.email, d.role, d.device_id
                    )
                },
            );
            Ok(())
        }
        "login" => {
            args.check_known(&["--server", "--email", "--device-name"])?;
            let server = args.required("--server")?.to_string();
            let email = args.required("--email")?.to_string();
            let password = read_secret("password", Echo::Hidden)?;
            let name = args
                .one("--device-name")
                .unwrap_or("tether CLI")
                .to_string();
            let mut c = client(&args, open_store(&args)?, Some(&server))?;
            let d = c.login(&server, &email, &password, &name).await?;
            print(
                &args,
                &json!({"user_id": d.user_id, "device_id": d.device_id, "role": d.role}),
                || {
                    format!(
                        "signed in: {} ({}) on device {}",
                        d.email, d.role, d.device_id
                    )
                },
            );
            Ok(())
        }
        "logout" => {
            args.check_known(&["--all-devices"])?;
            let mut c = client(&args, open_store(&args)?, None)?;
            c.logout(args.has("--all-devices")).await?;
            print(&args, &json!({"signed_out": true}), || {
                "signed out; local records are kept".into()
            });
            Ok(())
        }
        "consent" => {
            args.check_known(&["--purpose"])?;
            let purpose = args.required("--purpose")?.to_string();
            let mut c = client(&args, open_store(&args)?, None)?;
            let consent = c.consent_to_care_team(&purpose).await?;
            print(&args, &consent, || {
                "your care team can now see your records".into()
            });
            Ok(())
        }
        "checkin" => {
            args.check_known(&[
                "--intensity",
                "--trigger",
                "--mood",
                "--lapse",
                "--substance",
                "--crisis",
                "--context",
                "--note",
                "--minutes-ago",
            ])?;
            let intensity = args
                .number::<u8>("--intensity", 0, 10)?
                .ok_or_else(|| Failure::usage("`tether checkin` needs --intensity 0-10"))?;
            let minutes_ago = args.number::<i64>("--minutes-ago", 0, 60 * 24 * 30)?;
            let mut c = client(&args, open_store(&args)?, None)?;
            let now = c.now_ms()?;
            let input = CheckinInput {
                intensity,
                triggers: args.all("--trigger"),
                mood: args.number("--mood", 1, 5)?,
                lapse: args.has("--lapse").then_some(true),
                substance: args.one("--substance").map(str::to_string),
                context: args.text("--context")?,
                crisis: args.has("--crisis"),
                note: args.text("--note")?,
                recorded_at_ms: Some(now - minutes_ago.unwrap_or(0) * 60_000),
                tz_offset_min: offset_min(&args)?,
            };
            let id = c.record_checkin(&input)?;
            let waiting = c.store().outbox_len()?;
            print(&args, &json!({"id": id, "outbox": waiting}), || {
                format!("check-in {id} saved on this phone ({waiting} ops waiting to sync)")
            });
            if input.crisis && !args.json {
                // Shown before any sync, offline too, and true whatever the server does later.
                eprintln!("If you are in danger now, call or text 988 (Suicide & Crisis Lifeline) or call 911.");
                eprintln!("SAMHSA's National Helpline, free and 24/7: 1-800-662-4357.");
                eprintln!("This check-in is saved on this phone; your care team is not alerted right away.");
            }
            Ok(())
        }
        "exercise" => {
            args.check_known(&[
                "--skill",
                "--minutes",
                "--before",
                "--after",
                "--helpfulness",
                "--note",
            ])?;
            let skill = args.required("--skill")?.to_string();
            let mut c = client(&args, open_store(&args)?, None)?;
            let input = ExerciseInput {
                skill,
                started_at_ms: None,
                tz_offset_min: offset_min(&args)?,
                duration_min: args.number("--minutes", 0, 600)?,
                craving_before: args.number("--before", 0, 10)?,
                craving_after: args.number("--after", 0, 10)?,
                helpfulness: args.number("--helpfulness", 1, 5)?,
                note: args.text("--note")?,
            };
            let id = c.log_exercise(&input)?;
            let waiting = c.store().outbox_len()?;
            print(&args, &json!({"id": id, "outbox": waiting}), || {
                format!("exercise {id} saved on this phone ({waiting} ops waiting to sync)")
            });
            Ok(())
        }
        "sessions" => {
            args.check_known(&["--all"])?;
            let offset = offset_min(&args)?;
            let mut c = client(&args, open_store(&args)?, None)?;
            let sessions = if args.has("--all") {
                c.sessions_between(i64::MIN, i64::MAX)?
            } else {
                c.sessions_today(offset)?
            };
            let value = serde_json::to_value(&sessions).unwrap_or(Value::Null);
            print(&args, &value, || {
                if sessions.is_empty() {
                    return "no sessions (run `tether sync` to fetch your schedule)".into();
                }
                sessions
                    .iter()
                    .map(|s| {
                        format!(
                            "{}  {}  {} min  {}  rsvp: {}  [{}]",
                            fmt_time(s.starts_at, offset),
                            s.title.as_deref().unwrap_or("(untitled)"),
                            s.duration_min.unwrap_or(0),
                            s.status.as_deref().unwrap_or("scheduled"),
                            s.rsvp.as_deref().unwrap_or("—"),
                            s.id
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        "rsvp" => {
            args.check_known(&["--note"])?;
            let [id, answer] = args.positionals.as_slice() else {
                return Err(Failure::usage("usage: tether rsvp SESSION_ID yes|no|maybe"));
            };
            let id: uuid::Uuid = id.parse().map_err(|_| {
                Failure::usage("SESSION_ID must be a session id from `tether sessions`")
            })?;
            if !["yes", "no", "maybe"].contains(&answer.as_str()) {
                return Err(Failure::usage("the answer must be yes, no or maybe"));
            }
            let mut c = client(&args, open_store(&args)?, None)?;
            c.rsvp(id, answer, args.text("--note")?)?;
            print(&args, &json!({"session": id, "rsvp": answer}), || {
                format!("answered {answer} to session {id} (syncs with the next `tether sync`)")
            });
            Ok(())
        }
        "checkins" => {
            args.check_known(&[])?;
            let offset = offset_min(&args)?;
            let mut c = client(&args, open_store(&args)?, None)?;
            let list = c.checkins()?;
            let value = serde_json::to_value(&list).unwrap_or(Value::Null);
            print(&args, &value, || {
                if list.is_empty() {
                    return "no check-ins yet".into();
                }
                list.iter()
                    .take(20)
                    .map(|x| {
                        format!(
                            "{}  intensity {}  {}",
                            fmt_time(x.recorded_at, x.tz_offset_min.unwrap_or(offset)),
                            x.intensity.map_or("—".into(), |i| i.to_string()),
                            x.triggers.join(", ")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        "trend" => {
            args.check_known(&["--days"])?;
            let days = args.number::<u32>("--days", 1, 365)?.unwrap_or(14);
            let mut c = client(&args, open_store(&args)?, None)?;
            let t = c.trend(days)?;
            let value = serde_json::to_value(&t).unwrap_or(Value::Null);
            print(&args, &value, || {
                let mut out = vec![format!("last {days} days:")];
                for d in &t.days {
                    out.push(format!(
                        "  {}  {} check-in(s)  mean craving {:.1}  max {}",
                        d.date, d.checkins, d.mean_intensity, d.max_intensity
                    ));
                }
                if t.days.is_empty() {
                    out.push("  no check-ins".into());
                }
                let top: Vec<String> = t
                    .top_triggers
                    .iter()
                    .take(5)
                    .map(|(t, n)| format!("{t} ×{n}"))
                    .collect();
                if !top.is_empty() {
                    out.push(format!("  top triggers: {}", top.join(", ")));
                }
                out.push(format!("  exercises: {}", t.exercises));
                if let Some(d) = t.mean_craving_drop {
                    out.push(format!("  craving drop after exercises: {d:.1} on average"));
                }
                out.join("\n")
            });
            Ok(())
        }
        "sync" => {
            args.check_known(&[])?;
            let mut c = client(&args, open_store(&args)?, None)?;
            let result = c.sync().await;
            let waiting = c.store().outbox_len()?;
            match result {
                Ok(r) => {
                    let value = serde_json::to_value(&r).unwrap_or(Value::Null);
                    print(&args, &json!({"report": value, "outbox": waiting}), || {
                        let mut s = format!(
                            "synced: {} op(s) pushed, {} change(s) pulled; {waiting} waiting",
                            r.pushed, r.pulled
                        );
                        for (id, code, message) in &r.rejected {
                            s.push_str(&format!("\n  refused {id}: {code}: {message}"));
                        }
                        if r.restamped > 0 {
                            s.push_str(&format!(
                                "\n  this phone's clock runs ahead: {} op(s) were re-stamped",
                                r.restamped
                            ));
                        }
                        s
                    });
                    if let Some(help) = r.crisis_resources.filter(|_| !args.json) {
                        eprintln!("{}", help.message);
                        for place in &help.resources {
                            eprintln!("  {}: call {}", place.name, place.phone);
                        }
                    }
                    Ok(())
                }
                Err(e) => {
                    let mut f = Failure::from(e);
                    f.message = format!(
                        "{}\n{waiting} op(s) are kept on this phone and will sync later",
                        f.message
                    );
                    Err(f)
                }
            }
        }
        "status" => {
            args.check_known(&[])?;
            let mut store = open_store(&args)?;
            let server = store.device()?.map(|d| d.server_url);
            let mut c = match server {
                Some(s) => client(&args, store, Some(&s))?,
                None => Client::open(
                    store,
                    "http://127.0.0.1:0",
                    Duration::from_secs(1),
                    config(),
                )?,
            };
            let s = c.status()?;
            let value = serde_json::to_value(&s).unwrap_or(Value::Null);
            print(&args, &value, || {
                let who = match (&s.email, &s.role) {
                    (Some(e), Some(r)) => format!("{e} ({r})"),
                    _ => "nobody".into(),
                };
                let last = s
                    .last_sync_ms
                    .map_or("never".to_string(), |ms| fmt_time(Some(ms), 0) + " UTC");
                let mut out = format!(
                    "signed in: {} — {}\nserver: {}\noutbox: {} op(s) waiting\nlast sync: {last}\nrecords: {} field(s) on this phone",
                    if s.signed_in { "yes" } else { "no" },
                    who,
                    s.server_url.as_deref().unwrap_or("—"),
                    s.outbox,
                    s.fields
                );
                if s.rejected > 0 {
                    out.push_str(&format!("\nrefused by the server: {} op(s)", s.rejected));
                }
                if let Some(e) = &s.last_error {
                    out.push_str(&format!("\nlast sync failed: {e}"));
                }
                out
            });
            Ok(())
        }
        "get" => {
            args.check_known(&[])?;
            let [path] = args.positionals.as_slice() else {
                return Err(Failure::usage("usage: tether get /v1/PATH"));
            };
            if !path.starts_with('/') {
                return Err(Failure::usage("the path starts with /, e.g. /v1/me"));
            }
            let mut c = client(&args, open_store(&args)?, None)?;
            let v = c.get_json(path).await?;
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            Ok(())
        }
        "post" => {
            args.check_known(&[])?;
            let [path, body] = args.positionals.as_slice() else {
                return Err(Failure::usage(
                    "usage: tether post /v1/PATH '{\"json\": \"body\"}'",
                ));
            };
            if !path.starts_with('/') {
                return Err(Failure::usage("the path starts with /, e.g. /v1/patients"));
            }
            let body: Value = serde_json::from_str(body)
                .map_err(|e| Failure::usage(format!("the body is not JSON: {e}")))?;
            let mut c = client(&args, open_store(&args)?, None)?;
            let v = c.post_json(path, body).await?;
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            Ok(())
        }
        other => Err(Failure::usage(format!("unknown command `{other}`"))),
    }
}

/// Runs `tether` with the process arguments.
pub fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&argv) {
        Ok(a) => a,
        Err(f) => {
            eprintln!("tether: {}", f.message);
            return ExitCode::from(f.code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tether: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("tether: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
