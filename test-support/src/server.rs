//! The real `tether-api` binary started as a process of its own on a throwaway database: bound
//! to port 0 on the loopback, its standard error appended to a log file that failure messages
//! quote, killed (and waited for) when its value is dropped.

use crate::database::TestDatabase;
use crate::error::Error;
use crate::readiness::{announced_port, wait_until_ready};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to announce its port and answer `/readyz`.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How to start a server: which binary, on which database, with which environment.
#[derive(Debug, Clone)]
pub struct ServerCommand {
    binary: PathBuf,
    database_url: String,
    log_path: PathBuf,
    env: Vec<(String, String)>,
    clean_environment: bool,
}

impl ServerCommand {
    /// `binary` on `database`, listening on `127.0.0.1:0`, its log in the database's scratch
    /// directory. Every other setting comes from [`env`](Self::env) or the inherited environment.
    pub fn new(binary: impl Into<PathBuf>, database: &TestDatabase) -> Self {
        Self {
            binary: binary.into(),
            database_url: database.url.clone(),
            log_path: database.dir().join("server.log"),
            env: Vec::new(),
            clean_environment: false,
        }
    }

    /// Sets one variable (later calls win over earlier ones).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Sets several variables, in order.
    pub fn envs<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Starts the server with nothing inherited but `PATH`: a test sees only what it set, never
    /// a `TETHER_*` variable of the shell that ran it.
    pub fn clean_environment(mut self) -> Self {
        self.clean_environment = true;
        self
    }

    fn spawn(&self) -> Result<Child, Error> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(Error::Scratch)?;
        let mut command = Command::new(&self.binary);
        if self.clean_environment {
            command
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default());
        }
        command
            .env("DATABASE_URL", &self.database_url)
            .env("TETHER_BIND", "127.0.0.1:0");
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|source| Error::Spawn {
                binary: self.binary.clone(),
                source,
            })
    }
}

/// A server process that has announced its port and answered `/readyz`.
pub struct RunningServer {
    command: ServerCommand,
    child: Child,
    port: u16,
}

impl RunningServer {
    /// Starts the server and waits until it is ready; on failure the process is killed and the
    /// error carries its log.
    pub fn start(command: ServerCommand) -> Result<Self, Error> {
        let (child, port) = launch(&command)?;
        Ok(Self {
            command,
            child,
            port,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The file its standard error goes to (kept across restarts).
    pub fn log_path(&self) -> &Path {
        &self.command.log_path
    }

    /// Everything it has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.command.log_path).unwrap_or_default()
    }

    /// The newest `lines` lines of its log, newest first: what a failed test prints.
    pub fn log_tail(&self, lines: usize) -> Vec<String> {
        self.log()
            .lines()
            .rev()
            .take(lines)
            .map(str::to_string)
            .collect()
    }

    /// Stops it as `kill -9` would and waits for it to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills it and starts the same command again on the same database (its log appended to the
    /// same file); the port may change.
    pub fn restart(&mut self) -> Result<(), Error> {
        self.restart_after(|| {})
    }

    /// Kills it, runs `between` while no server has the database open (an upgrade, a restore,
    /// an operator's repair), then starts it again.
    pub fn restart_after(&mut self, between: impl FnOnce()) -> Result<(), Error> {
        self.kill();
        between();
        let (child, port) = launch(&self.command)?;
        self.child = child;
        self.port = port;
        Ok(())
    }

    /// Sends SIGTERM, as an orchestrator does before it replaces a server.
    pub fn terminate(&self) -> std::io::Result<ExitStatus> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
    }

    /// Waits for the process to exit on its own.
    pub fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait()
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Spawns the process and waits for its port and its readiness; kills it if either never comes.
fn launch(command: &ServerCommand) -> Result<(Child, u16), Error> {
    let deadline = Instant::now() + START_TIMEOUT;
    let mut child = command.spawn()?;
    let port = child
        .stdout
        .take()
        .and_then(|stdout| announced_port(stdout, deadline))
        .filter(|&port| wait_until_ready(port, deadline));
    match port {
        Some(port) => Ok((child, port)),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(Error::NotStarted {
                log: std::fs::read_to_string(&command.log_path).unwrap_or_default(),
            })
        }
    }
}
