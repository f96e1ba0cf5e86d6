//! `tether-api demo`: run the real binary against a fresh database, then read what it made
//! through the API as the demo counselor would.

use crate::harness::{fresh_database, spawn_app, status_and_json, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Output, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_tether-api-under-test");
const PASSWORD: &str = "demo password for tests";

/// Runs `tether-api demo ARGS` on a database with the password on standard input.
fn demo(database_url: &str, args: &[&str]) -> Output {
    let mut child = Command::new(BINARY)
        .arg("demo")
        .args(["--database-url", database_url, "--password-stdin"])
        .args(args)
        .env("TETHER_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses its options exits without reading: the pipe may be closed.
    let _ = writeln!(child.stdin.take().unwrap(), "{PASSWORD}");
    child.wait_with_output().unwrap()
}

/// Runs the demo with `--json` and returns its summary.
fn demo_summary(database_url: &str, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = demo(database_url, &all);
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn caseload(app: &TestApp, email: &str) -> Vec<Value> {
    let counselor = app.login(email, PASSWORD).await;
    let (status, body) =
        status_and_json(app.get("/v1/caseload", Some(&counselor.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["patients"].as_array().unwrap().clone()
}

fn flag_kinds(row: &Value) -> Vec<&str> {
    row["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_demo_fills_a_fresh_database_with_a_caseload_ordered_by_urgency_with_real_flags() {
    let app = spawn_app().await;
    let summary = demo_summary(&app.db.url, &["--days", "30", "--patients", "6"]);
    assert_eq!(
        summary["password"],
        Value::Null,
        "a password from stdin is not echoed"
    );
    let patients = summary["patients"].as_array().unwrap();
    assert_eq!(patients.len(), 7);
    assert!(summary["checkins"].as_u64().unwrap() > 6 * 30);
    assert!(summary["exercises"].as_u64().unwrap() > 0);
    assert!(summary["sessions"].as_u64().unwrap() > 0);

    let rows = caseload(&app, summary["counselor_email"].as_str().unwrap()).await;
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        rows.len(),
        6,
        "every consenting patient and nobody else: {names:?}"
    );
    assert!(
        !names.contains(&"Alex Kim"),
        "the patient without consent is not on the caseload"
    );

    // Most urgent first: the patient whose story ends in a lapse at craving 9 is a crisis.
    assert_eq!(names[0], "Marcus Reyes");
    assert_eq!(rows[0]["priority"], json!("urgent"));
    assert!(flag_kinds(&rows[0]).contains(&"crisis"));
    let rank = |p: &Value| match p["priority"].as_str() {
        Some("urgent") => 3,
        Some("high") => 2,
        Some("medium") => 1,
        _ => 0,
    };
    assert!(
        rows.windows(2).all(|w| rank(&w[0]) >= rank(&w[1])),
        "ordered by urgency: {names:?}"
    );
    let dana = rows
        .iter()
        .find(|r| r["display_name"] == "Dana Whitfield")
        .unwrap();
    assert!(flag_kinds(dana).contains(&"missed_sessions"));
    assert!(flag_kinds(dana).contains(&"no_recent_checkin"));
    assert_eq!(dana["days_since_last_checkin"], json!(4));
    let lena = rows
        .iter()
        .find(|r| r["display_name"] == "Lena Okafor")
        .unwrap();
    assert!(flag_kinds(lena).contains(&"lapse"));
    // A lapse at craving 7 is a lapse to raise, not a crisis (that takes 9 or "I need help now").
    assert!(!flag_kinds(lena).contains(&"crisis"));
    assert!(rows.iter().all(|r| r["next_session"].is_object()));
    assert!(
        rows.iter().any(|r| r["priority"].is_null()),
        "some patients are doing fine"
    );

    // The counselor cannot read the patient who did not consent.
    let counselor = app
        .login(summary["counselor_email"].as_str().unwrap(), PASSWORD)
        .await;
    let alex = patients.iter().find(|p| p["consented"] == false).unwrap();
    let response = app
        .get(
            &format!("/v1/patients/{}/trends", alex["id"].as_str().unwrap()),
            Some(&counselor.access),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // A patient's phone signs in with the shared demo password and pulls its history.
    let marcus = &patients[0];
    let phone = app.login(marcus["email"].as_str().unwrap(), PASSWORD).await;
    let (status, pulled) = status_and_json(
        app.get("/v1/sync/pull?limit=1000", Some(&phone.access))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pulled}");
    let changes = pulled["changes"].as_array().unwrap();
    assert!(changes.iter().any(|c| c["kind"] == "session"));
    assert!(changes.iter().any(|c| c["kind"] == "checkin"));
    assert!(
        changes.iter().any(|c| c["kind"] == "plan"),
        "the counselor's treatment plan"
    );
}

#[tokio::test]
async fn running_the_demo_twice_refuses_clearly_and_changes_nothing() {
    let app = spawn_app().await;
    let first = demo_summary(
        &app.db.url,
        &["--days", "14", "--patients", "5", "--seed", "9"],
    );
    let again = demo(&app.db.url, &["--days", "14"]);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already holds the demo clinic"), "{stderr}");
    let rows = caseload(&app, first["counselor_email"].as_str().unwrap()).await;
    assert_eq!(rows.len(), 5);
}

#[test]
fn the_demo_refuses_bad_options_with_a_clear_message() {
    let db = fresh_database();
    let out = demo(&db.url, &["--days", "3"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--days must be between 14 and 365"));
    let out = demo(&db.url, &["--patients", "12"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--patients must be between 5 and 8"));
}
