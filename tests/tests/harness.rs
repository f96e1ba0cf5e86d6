//! Starts the real `tether-api` binary on a random port with a database of its own, and talks to
//! it over HTTP the way a phone or a counselor's browser would.
//!
//! The database is a fresh SQLite file in a temporary directory, or, when `TEST_POSTGRES_URL` is
//! set, a fresh PostgreSQL database created on that server for this one test and dropped after.
//! Both, and the server process, come from `tether-test-support`; this module adds what only
//! tests want: fixed secrets, panics instead of errors, and the accounts a test starts from.

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tether_test_support::{http, AdminAccount, RunningServer, ServerCommand};
pub use tether_test_support::{Backend, TestDatabase};
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

/// The backend chosen by the environment (`TEST_POSTGRES_URL`).
pub fn backend() -> Backend {
    Backend::from_env()
}

/// An empty database on the suite's backend, for this test only.
pub fn fresh_database() -> TestDatabase {
    TestDatabase::create(&backend(), "test")
        .unwrap_or_else(|e| panic!("cannot create the test's database: {e}"))
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
    /// Declared before `db`: the process is gone before its database is dropped.
    server: RunningServer,
    /// Kept so the database outlives the server.
    pub db: TestDatabase,
}

/// Starts a server with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a server with extra environment variables.
pub async fn spawn_app_with(env: &[(&str, &str)]) -> TestApp {
    let db = fresh_database();
    create_admin(&db.url);
    let command = ServerCommand::new(BINARY, &db)
        .clean_environment()
        .envs([
            ("TETHER_JWT_SECRET", JWT_SECRET),
            ("TETHER_LOG", "info"),
            ("TETHER_LOG_FORMAT", "json"),
            ("TETHER_DB_POOL_SIZE", "4"),
            ("TETHER_SHUTDOWN_SECS", "10"),
        ])
        .envs(env.iter().copied());
    let server = RunningServer::start(command).unwrap_or_else(|e| panic!("{e}"));
    TestApp {
        address: server.address(),
        client: Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        server,
        db,
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
    let admin = AdminAccount {
        email,
        name: "Ada Admin",
        clinic,
        password,
    };
    tether_test_support::run_admin_create(BINARY.as_ref(), database_url, &admin)
        .unwrap_or_else(|e| panic!("{e}"))
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
            eprintln!("--- last server log lines (newest first) ---");
            for line in self.server.log_tail(20) {
                eprintln!("{line}");
            }
        }
    }
}

impl TestApp {
    /// Stops the server (as kill -9 would), runs `between` on its database while no server has
    /// it open, and starts the same binary on the same database again (its log appended to the
    /// same file): an upgrade, a restore, an operator's repair.
    pub fn restart_after(&mut self, between: impl FnOnce(&TestDatabase)) {
        let db = &self.db;
        self.server
            .restart_after(|| between(db))
            .unwrap_or_else(|e| panic!("{e}"));
        self.address = self.server.address();
    }

    /// An absolute URL for a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// POSTs JSON, with a bearer token when given.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        http::post_json(&self.client, &self.url(path), token, body)
            .await
            .unwrap()
    }

    /// GETs a path, with a bearer token when given.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        http::get(&self.client, &self.url(path), token)
            .await
            .unwrap()
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
        self.server.log()
    }

    /// Sends SIGTERM, as an orchestrator does before it replaces a server.
    pub fn send_sigterm(&self) {
        assert!(self.server.terminate().unwrap().success());
    }

    /// Waits for the process to exit; returns whether it exited cleanly.
    pub fn wait_for_exit(&mut self) -> bool {
        self.server.wait().unwrap().success()
    }
}

/// The status and JSON body of a response (panics when the body is not JSON).
pub async fn status_and_json(response: Response) -> (StatusCode, Value) {
    http::status_and_json(response)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
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
