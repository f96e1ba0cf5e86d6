//! Starts the real `tether-api` binary on a random port with a database of its own, and talks to
//! it over HTTP the way a phone or a counselor's browser would.
//!
//! The database is a fresh SQLite file in a temporary directory, or, when `TEST_POSTGRES_URL` is
//! set, a fresh PostgreSQL database created on that server for this one test and dropped after.

use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use uuid::Uuid;

/// The signing key every test server uses, so tests can forge tokens (expired, tampered).
pub const JWT_SECRET: &str = "test-signing-key-that-is-long-enough-0123456789";
/// The first admin's password.
pub const ADMIN_PASSWORD: &str = "admin password for tests";
/// The first admin's email.
pub const ADMIN_EMAIL: &str = "admin@clinic.test";
/// The password every activated test account gets.
pub const USER_PASSWORD: &str = "a long enough password";

const BINARY: &str = env!("CARGO_BIN_EXE_tether-api-under-test");

/// Which database the suite runs against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on the server at this URL.
    Postgres(String),
}

/// The backend chosen by the environment.
pub fn backend() -> Backend {
    match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Backend::Postgres(url),
        _ => Backend::Sqlite,
    }
}

/// A database that exists for one test.
pub struct TestDb {
    /// The URL the server is given.
    pub url: String,
    dir: PathBuf,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// Creates an empty database.
    pub fn create() -> Self {
        let dir = std::env::temp_dir().join(format!("tether-test-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        match backend() {
            Backend::Sqlite => Self {
                url: dir.join("tether.db").display().to_string(),
                dir,
                postgres: None,
            },
            Backend::Postgres(admin_url) => {
                let name = format!("tether_test_{}", Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(&admin_url)
                    .unwrap_or_else(|e| panic!("TEST_POSTGRES_URL is set but unreachable: {e}"));
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .unwrap();
                Self {
                    url: with_database(&admin_url, &name),
                    dir,
                    postgres: Some((admin_url, name)),
                }
            }
        }
    }
}

/// `postgres://host/db?x` with its database replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let server = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres {
            if let Ok(mut conn) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Tokens from a sign-in or activation.
#[derive(Debug, Clone)]
pub struct Session {
    /// Account id.
    pub user_id: Uuid,
    /// Device id.
    pub device_id: Uuid,
    /// Access token.
    pub access: String,
    /// Refresh token.
    pub refresh: String,
    /// Email used to sign in.
    pub email: String,
}

impl Session {
    fn from_body(body: &Value, email: &str) -> Self {
        Self {
            user_id: body["user"]["id"].as_str().unwrap().parse().unwrap(),
            device_id: body["device_id"].as_str().unwrap().parse().unwrap(),
            access: body["access_token"].as_str().unwrap().to_string(),
            refresh: body["refresh_token"].as_str().unwrap().to_string(),
            email: email.to_string(),
        }
    }
}

/// A running server.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// A client with no default headers.
    pub client: Client,
    /// The server's log file (stderr).
    pub log_path: PathBuf,
    child: Child,
    /// Kept so the database outlives the server.
    pub db: TestDb,
}

/// Starts a server with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a server with extra environment variables.
pub async fn spawn_app_with(env: &[(&str, &str)]) -> TestApp {
    let db = TestDb::create();
    create_admin(&db.url);
    let log_path = db.dir.join("server.log");
    let (child, port) = launch(&db, &log_path, env);
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        log_path,
        child,
        db,
    }
}

/// Starts the server binary on `db`, its standard error appended to `log_path`, and waits for
/// the port it listens on.
fn launch(db: &TestDb, log_path: &std::path::Path, env: &[(&str, &str)]) -> (Child, u16) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .unwrap();
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("TETHER_BIND", "127.0.0.1:0")
        .env("TETHER_JWT_SECRET", JWT_SECRET)
        .env("TETHER_LOG", "info")
        .env("TETHER_LOG_FORMAT", "json")
        .env("TETHER_DB_POOL_SIZE", "4")
        .env("TETHER_SHUTDOWN_SECS", "10");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = line.strip_prefix("tether-api listening on port ") {
                let _ = tx.send(port.trim().parse::<u16>().ok());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Some(port)) => (child, port),
        _ => {
            let _ = child.kill();
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            panic!("the server did not start; its log:\n{log}");
        }
    }
}

/// Runs `tether-api admin create` against a database the way an operator would, with the
/// password piped on standard input, and returns how it ended.
pub fn admin_create(
    database_url: &str,
    email: &str,
    clinic: &str,
    password: &str,
) -> std::process::Output {
    let mut child = Command::new(BINARY)
        .args([
            "admin",
            "create",
            "--email",
            email,
            "--name",
            "Ada Admin",
            "--clinic",
            clinic,
        ])
        .env("DATABASE_URL", database_url)
        .env("TETHER_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

/// Creates the first admin of a test database.
fn create_admin(database_url: &str) {
    let out = admin_create(database_url, ADMIN_EMAIL, "Test Clinic", ADMIN_PASSWORD);
    assert!(
        out.status.success(),
        "admin create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            eprintln!("--- last server log lines (newest first) ---");
            for line in tail {
                eprintln!("{line}");
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestApp {
    /// Stops the server (as kill -9 would), runs `between` on its database while no server has
    /// it open, and starts the same binary on the same database again (its log appended to the
    /// same file): an upgrade, a restore, an operator's repair.
    pub fn restart_after(&mut self, between: impl FnOnce(&TestDb)) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        between(&self.db);
        let (child, port) = launch(&self.db, &self.log_path, &[]);
        self.child = child;
        self.address = format!("http://127.0.0.1:{port}");
    }

    /// An absolute URL for a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// POSTs JSON, with a bearer token when given.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// GETs a path, with a bearer token when given.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// Signs in; panics unless it succeeds.
    pub async fn login(&self, email: &str, password: &str) -> Session {
        let response = self
            .post(
                "/v1/auth/login",
                None,
                &json!({ "email": email, "password": password, "device_name": "test device" }),
            )
            .await;
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, StatusCode::OK, "sign-in failed: {body}");
        Session::from_body(&body, email)
    }

    /// Signs in as the first admin.
    pub async fn admin(&self) -> Session {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Activates an account with a code; panics unless it succeeds.
    pub async fn activate(&self, code: &str, email: &str) -> Session {
        let response = self
            .post(
                "/v1/auth/activate",
                None,
                &json!({ "code": code, "password": USER_PASSWORD, "device_name": "Pixel 8" }),
            )
            .await;
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, StatusCode::CREATED, "activation failed: {body}");
        Session::from_body(&body, email)
    }

    /// An admin creates a counselor, who activates their account.
    pub async fn counselor(&self, admin: &Session) -> Session {
        let email = format!("counselor-{}@clinic.test", Uuid::new_v4().simple());
        let response = self
            .post(
                "/v1/clinicians",
                Some(&admin.access),
                &json!({ "email": email, "display_name": "Cora Counselor" }),
            )
            .await;
        let (status, body) = status_and_json(response).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "creating a counselor failed: {body}"
        );
        self.activate(body["activation_code"].as_str().unwrap(), &email)
            .await
    }

    /// A counselor enrolls a patient; returns the enrollment response body.
    pub async fn enroll(&self, counselor: &Session) -> Value {
        let email = format!("patient-{}@example.test", Uuid::new_v4().simple());
        let response = self
            .post(
                "/v1/patients",
                Some(&counselor.access),
                &json!({ "email": email, "display_name": "Pat Patient" }),
            )
            .await;
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, StatusCode::CREATED, "enrollment failed: {body}");
        body
    }

    /// A counselor enrolls a patient who activates on their phone and consents to share their
    /// records with their care team: the usual state of a patient in the program.
    pub async fn patient(&self, counselor: &Session) -> Session {
        let patient = self.patient_without_consent(counselor).await;
        self.consent(
            &patient,
            &json!({ "grantee": "care_team", "purpose": "treatment in the IOP" }),
        )
        .await;
        patient
    }

    /// A counselor enrolls a patient who activates on their phone but has not consented to share.
    pub async fn patient_without_consent(&self, counselor: &Session) -> Session {
        let enrolled = self.enroll(counselor).await;
        self.activate(
            enrolled["enrollment_code"].as_str().unwrap(),
            enrolled["email"].as_str().unwrap(),
        )
        .await
    }

    /// The patient gives a consent; returns it.
    pub async fn consent(&self, patient: &Session, body: &Value) -> Value {
        let response = self
            .post(
                &format!("/v1/patients/{}/consents", patient.user_id),
                Some(&patient.access),
                body,
            )
            .await;
        let (status, consent) = status_and_json(response).await;
        assert_eq!(status, StatusCode::CREATED, "consent failed: {consent}");
        consent
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Sends SIGTERM, as an orchestrator does before it replaces a server.
    pub fn send_sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; returns whether it exited cleanly.
    pub fn wait_for_exit(&mut self) -> bool {
        self.child.wait().unwrap().success()
    }
}

/// The status and JSON body of a response (panics when the body is not JSON).
pub async fn status_and_json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text:?}"));
    (status, body)
}

/// Asserts an error response: status, the JSON error shape, and its code.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    let (actual, body) = status_and_json(response).await;
    assert_eq!(actual, status, "unexpected status; body: {body}");
    assert_eq!(
        body["error"]["code"], code,
        "unexpected error code; body: {body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "error without a message: {body}"
    );
    body
}

#[test]
fn a_postgres_url_gets_its_database_replaced() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/test?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}
