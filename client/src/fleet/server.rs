//! The server under simulation: the real `tether-api` binary started as its own process on a
//! fresh database, so the simulator talks to it over HTTP and reads its memory from `/proc`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use uuid::Uuid;

/// The first admin's email on a simulator's server.
pub const ADMIN_EMAIL: &str = "admin@fleet.test";
/// Their password (a throwaway database, never a real deployment).
pub const ADMIN_PASSWORD: &str = "fleet admin password";
const JWT_SECRET: &str = "fleet-simulator-signing-key-long-enough-0123456789";

/// Which database the server runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on the PostgreSQL server at this URL, dropped afterwards.
    Postgres(String),
}

/// A running server and its database; both go away when this is dropped.
pub struct SpawnedServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Option<Child>,
    dir: PathBuf,
    postgres: Option<(String, String)>,
    binary: PathBuf,
    database_url: String,
    env: Vec<(String, String)>,
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

/// The `tether-api` binary beside this one (both are built into the same target directory).
pub fn sibling_server_binary() -> Option<PathBuf> {
    let me = std::env::current_exe().ok()?;
    let candidate = me.parent()?.join("tether-api");
    candidate.exists().then_some(candidate)
}

impl SpawnedServer {
    /// Creates the database, the first admin, and starts `binary` on port 0 with `env` added.
    pub fn start(binary: &Path, backend: &Backend, env: &[(&str, &str)]) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("tether-fleet-server-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let (url, postgres) = match backend {
            Backend::Sqlite => (dir.join("tether.db").display().to_string(), None),
            Backend::Postgres(admin_url) => {
                let name = format!("tether_fleet_{}", Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(admin_url)
                    .map_err(|e| format!("cannot reach PostgreSQL: {e}"))?;
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .map_err(|e| e.to_string())?;
                (
                    with_database(admin_url, &name),
                    Some((admin_url.clone(), name)),
                )
            }
        };
        let mut admin = Command::new(binary)
            .args([
                "admin",
                "create",
                "--email",
                ADMIN_EMAIL,
                "--name",
                "Fleet Admin",
            ])
            .args(["--clinic", "Fleet Clinic"])
            .env("DATABASE_URL", &url)
            .env("TETHER_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        if let Some(mut stdin) = admin.stdin.take() {
            writeln!(stdin, "{ADMIN_PASSWORD}").map_err(|e| e.to_string())?;
        }
        let out = admin.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "admin create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let mut server = Self {
            url: String::new(),
            child: None,
            dir,
            postgres,
            binary: binary.to_path_buf(),
            database_url: url,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        server.launch()?;
        Ok(server)
    }

    /// Starts the process and waits until it listens.
    fn launch(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .map_err(|e| e.to_string())?;
        let mut command = Command::new(&self.binary);
        command
            .env("DATABASE_URL", &self.database_url)
            .env("TETHER_BIND", "127.0.0.1:0")
            .env("TETHER_JWT_SECRET", JWT_SECRET)
            .env("TETHER_LOG", "warn")
            .env("TETHER_ADDR_MAX_ATTEMPTS", "10000000")
            .env("TETHER_LOGIN_MAX_FAILURES", "10000000");
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        self.child = Some(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line.strip_prefix("tether-api listening on port ") {
                    let _ = tx.send(port.trim().parse::<u16>().ok());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(port)) => {
                self.url = format!("http://127.0.0.1:{port}");
                Ok(())
            }
            _ => {
                let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                Err(format!("the server did not start; its log:\n{log}"))
            }
        }
    }

    /// Stops the process and starts a new one on the same database (tokens stay valid: the
    /// signing key is the same). The load benchmark measures a server that has only served
    /// syncs, not one still holding the memory of ten thousand password hashes.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.launch()
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Resident memory now and at its peak, in KiB (`VmRSS`, `VmHWM` from `/proc`).
    pub fn memory_kib(&self) -> Option<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        self.stop();
        if let Some((admin_url, name)) = &self.postgres {
            if let Ok(mut conn) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
