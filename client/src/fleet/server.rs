//! The server under simulation: the real `tether-api` binary started as its own process on a
//! fresh database, so the simulator talks to it over HTTP and reads its memory from `/proc`.

use std::path::{Path, PathBuf};

pub use tether_test_support::Backend;
use tether_test_support::{create_admin, AdminAccount, RunningServer, ServerCommand, TestDatabase};

/// The first admin's email on a simulator's server.
pub const ADMIN_EMAIL: &str = "admin@fleet.test";
/// Their password (a throwaway database, never a real deployment).
pub const ADMIN_PASSWORD: &str = "fleet admin password";
const JWT_SECRET: &str = "fleet-simulator-signing-key-long-enough-0123456789";

/// A running server and its database; both go away when this is dropped.
pub struct SpawnedServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Declared before `_db`: the process is gone before its database is dropped.
    server: RunningServer,
    _db: TestDatabase,
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
        let db = TestDatabase::create(backend, "fleet").map_err(|e| e.to_string())?;
        let admin = AdminAccount {
            email: ADMIN_EMAIL,
            name: "Fleet Admin",
            clinic: "Fleet Clinic",
            password: ADMIN_PASSWORD,
        };
        create_admin(binary, &db.url, &admin).map_err(|e| e.to_string())?;
        // The simulator signs every device in from 127.0.0.1: no sign-in limit may stop it.
        let command = ServerCommand::new(binary, &db)
            .envs([
                ("TETHER_JWT_SECRET", JWT_SECRET),
                ("TETHER_LOG", "warn"),
                ("TETHER_ADDR_MAX_ATTEMPTS", "10000000"),
                ("TETHER_LOGIN_MAX_FAILURES", "10000000"),
            ])
            .envs(env.iter().copied());
        let server = RunningServer::start(command).map_err(|e| e.to_string())?;
        Ok(Self {
            url: server.address(),
            server,
            _db: db,
        })
    }

    /// Stops the process and starts a new one on the same database (tokens stay valid: the
    /// signing key is the same). The load benchmark measures a server that has only served
    /// syncs, not one still holding the memory of ten thousand password hashes.
    pub fn restart(&mut self) -> Result<(), String> {
        self.server.restart().map_err(|e| e.to_string())?;
        self.url = self.server.address();
        Ok(())
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.server.pid()
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
